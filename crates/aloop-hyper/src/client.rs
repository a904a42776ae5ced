//! The client side: [`connect`] opens a TCP connection with aloop's streams, does
//! hyper's HTTP/1.1 handshake on it and drives the connection in a task of its own.
//! The server side is `server.rs`.

use std::error::Error as StdError;
use std::fmt;
use std::io;

use hyper::body::Body;
use hyper::client::conn::http1::{self, SendRequest};

use crate::io::AloopIo;

/// Why [`connect`] failed.
#[derive(Debug)]
pub enum ConnectError {
    /// The TCP connection could not be made (resolution, refusal, ...): the OS's error.
    Connect(io::Error),
    /// hyper's handshake on the connection failed.
    Handshake(hyper::Error),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Connect(e) => write!(f, "could not connect: {e}"),
            ConnectError::Handshake(e) => write!(f, "HTTP/1 handshake failed: {e}"),
        }
    }
}

impl StdError for ConnectError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            ConnectError::Connect(e) => Some(e),
            ConnectError::Handshake(e) => Some(e),
        }
    }
}

/// Connects to `host:port` ([`aloop::open_connection`]), does hyper's HTTP/1.1
/// handshake and returns the request sender; the connection itself runs in a task on
/// the running loop until the sender is dropped and the last response is read (or the
/// server closes). One connection carries one request at a time; `ready().await`
/// waits until it can take the next (keep-alive).
///
/// Must be awaited inside a running aloop loop (see [`serve_connection`]'s example,
/// which uses it against an aloop server).
///
/// [`serve_connection`]: crate::serve_connection
pub async fn connect<B>(host: &str, port: u16) -> Result<SendRequest<B>, ConnectError>
where
    B: Body + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    let (reader, writer) = aloop::open_connection(host, port)
        .await
        .map_err(ConnectError::Connect)?;
    let (sender, connection) = http1::handshake(AloopIo::new(reader, writer))
        .await
        .map_err(ConnectError::Handshake)?;
    // Its failures reach the caller through `send_request`; the task only drives it.
    drop(aloop::create_task(connection));
    Ok(sender)
}
