//! What the TLS test binaries share (`core.rs`, `starttls.rs`, `endings_and_flow.rs`):
//! configurations from `aloop_tests::tls_certs`, a TLS server and client on 127.0.0.1,
//! an echo server, and the kind of a TLS error. Each binary uses part of it.

use std::io;
use std::time::Duration;

use aloop::tls::{ClientConfig, ServerConfig, TlsError, TlsErrorKind};
use aloop::{ConnectOptions, ServerOptions, StreamReader, StreamWriter};
use aloop_tests::tls_certs::{Leaf, TestCa};

pub fn server_config(leaf: &Leaf) -> ServerConfig {
    ServerConfig::from_pem(leaf.cert_pem.as_bytes(), leaf.key_pem.as_bytes()).unwrap()
}

pub fn client_config(ca: &TestCa) -> ClientConfig {
    ClientConfig::with_root_pem(ca.cert_pem().as_bytes()).unwrap()
}

pub fn tls_server_options(config: ServerConfig) -> ServerOptions {
    ServerOptions {
        ssl: Some(config),
        ..Default::default()
    }
}

pub fn tls_connect_options(config: ClientConfig) -> ConnectOptions {
    ConnectOptions {
        ssl: Some(config),
        ..Default::default()
    }
}

/// A TLS server on 127.0.0.1 presenting `leaf`, running `callback` per connection.
pub async fn tls_server<F, Fut>(leaf: &Leaf, callback: F) -> aloop::Server
where
    F: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: std::future::Future + 'static,
    Fut::Output: aloop::ClientOutcome,
{
    aloop::start_server_with(
        callback,
        "127.0.0.1",
        0,
        tls_server_options(server_config(leaf)),
    )
    .await
    .unwrap()
}

/// A TLS connection to 127.0.0.1:`port`, trusting `ca`, checked against "localhost".
pub async fn connect_localhost(ca: &TestCa, port: u16) -> (StreamReader, StreamWriter) {
    let config = client_config(ca).server_hostname("localhost");
    aloop::open_connection_with("127.0.0.1", port, tls_connect_options(config))
        .await
        .unwrap()
}

/// An echo server over TLS: lines back until end-of-stream, then close.
pub async fn echo_server(config: ServerConfig) -> aloop::Server {
    aloop::start_server_with(
        |r: StreamReader, w: StreamWriter| async move {
            loop {
                let line = r.readline().await?;
                if line.is_empty() {
                    break;
                }
                w.write(&line)?;
                w.drain().await?;
            }
            w.close();
            w.wait_closed().await
        },
        "127.0.0.1",
        0,
        tls_server_options(config),
    )
    .await
    .unwrap()
}

pub fn tls_kind(e: &io::Error) -> TlsErrorKind {
    TlsError::from_io(e)
        .unwrap_or_else(|| panic!("not a TLS error: {e:?}"))
        .kind()
}

/// Sleeps in 5 ms steps until `done()`.
pub async fn until(mut done: impl FnMut() -> bool) {
    while !done() {
        aloop::sleep(Duration::from_millis(5)).await;
    }
}
