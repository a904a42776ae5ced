//! The TLS handshake on a connected socket, bounded by the handshake timeout: for
//! `open_connection`/`create_connection` (client), for each connection a TLS server
//! accepts (`accept.rs`), and for `start_tls` on a connection that began in plain text. On success
//! the session goes into the `RawStream`, and every read and write uses it from then on.

use std::future::poll_fn;
use std::io;

use rustls::pki_types::ServerName;
use rustls::{ClientConnection, Connection, ServerConnection};

use super::config::TlsConfig;
use super::error::TlsError;
use super::session::TlsSession;
use crate::streams::raw_stream::RawStream;

/// Runs the handshake over `raw`'s socket as `config`'s side; `host` is the name
/// connected to, the client's default `server_hostname`.
pub(crate) async fn handshake(
    raw: &RawStream,
    config: &TlsConfig,
    host: Option<&str>,
) -> io::Result<()> {
    if raw.tls().is_some() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "this connection already uses TLS",
        ));
    }
    let (handshake_limit, shutdown_limit) = config.timeouts();
    let (conn, name): (Connection, _) = match config {
        TlsConfig::Client(c) => {
            let name = c.server_hostname.as_deref().or(host).ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a TLS client needs a server_hostname (ClientConfig::server_hostname) \
                     when there is no host name to check the certificate against",
                )
            })?;
            let server_name = ServerName::try_from(name.to_owned()).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("invalid server_hostname {name:?}: {e}"),
                )
            })?;
            let conn = ClientConnection::new(c.config.clone(), server_name)
                .map_err(|e| io::Error::from(TlsError::from_rustls(e)))?;
            (conn.into(), Some(name.to_owned()))
        }
        TlsConfig::Server(s) => {
            let conn = ServerConnection::new(s.config.clone())
                .map_err(|e| io::Error::from(TlsError::from_rustls(e)))?;
            (conn.into(), None)
        }
    };
    let session = TlsSession::new(conn, shutdown_limit, name);
    let socket = raw.socket();
    let steps = poll_fn(|cx| session.poll_handshake(socket, cx));
    match crate::timeout(handshake_limit, steps).await {
        Ok(done) => done?,
        Err(crate::TimeoutError) => return Err(TlsError::handshake_timeout(handshake_limit).into()),
    }
    raw.set_tls(session)
}
