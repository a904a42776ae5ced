//! TLS on rustls (feature `tls`): asyncio's `ssl=` for [`open_connection_with`],
//! [`start_server_with`], [`LoopRef::create_connection_with`] and
//! [`LoopRef::create_server`], and `start_tls` to upgrade a connection that began in
//! plain text ([`StreamWriter::start_tls`], [`LoopRef::start_tls`]).
//!
//! - [`ClientConfig`]: whom to trust (the system's roots by default, as Python's
//!   `ssl.create_default_context()`), `server_hostname`, ALPN, timeouts.
//! - [`ServerConfig`]: certificate chain and key (Python's `load_cert_chain`), ALPN,
//!   timeouts.
//! - [`TlsInfo`]: what the handshake agreed on (`get_extra_info("peercert")`, ...).
//! - [`TlsError`]: a failed handshake or session, typed, inside the `io::Error`.
//!
//! Endings are TLS's: `close()` sends close_notify before the socket's FIN (and gives
//! up after the shutdown timeout, 30 s by default, if the peer stops reading);
//! `write_eof()` sends close_notify and keeps reading (TLS 1.3's half-close); a peer
//! that ends without close_notify makes the next read fail with
//! [`TlsErrorKind::Truncated`].
//!
//! ```
//! # fn certs() -> (String, String) {
//! #     let c = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
//! #     (c.cert.pem(), c.signing_key.serialize_pem())
//! # }
//! let (cert_pem, key_pem) = certs(); // a self-signed certificate for "localhost"
//! aloop::run(async move {
//!     let server_tls = aloop::tls::ServerConfig::from_pem(cert_pem.as_bytes(), key_pem.as_bytes())?;
//!     let server = aloop::start_server_with(
//!         |r: aloop::StreamReader, w: aloop::StreamWriter| async move {
//!             let line = r.readline().await?;
//!             w.write(&line)?;
//!             w.close();
//!             w.wait_closed().await
//!         },
//!         "127.0.0.1",
//!         0,
//!         aloop::ServerOptions { ssl: Some(server_tls), ..Default::default() },
//!     )
//!     .await?;
//!     let port = server.sockets()[0].port();
//!
//!     let client_tls = aloop::tls::ClientConfig::with_root_pem(cert_pem.as_bytes())?
//!         .server_hostname("localhost");
//!     let options = aloop::ConnectOptions { ssl: Some(client_tls), ..Default::default() };
//!     let (r, w) = aloop::open_connection_with("127.0.0.1", port, options).await?;
//!     w.write(b"hello over TLS\n")?;
//!     assert_eq!(r.readline().await?, b"hello over TLS\n");
//!     assert_eq!(w.tls_info().unwrap().server_name.as_deref(), Some("localhost"));
//!     assert!(r.read(100).await?.is_empty()); // the server's close_notify: a clean end
//!     server.close();
//!     std::io::Result::Ok(())
//! })
//! .unwrap();
//! ```
//!
//! [`open_connection_with`]: crate::open_connection_with
//! [`start_server_with`]: crate::start_server_with
//! [`LoopRef::create_connection_with`]: crate::LoopRef::create_connection_with
//! [`LoopRef::create_server`]: crate::LoopRef::create_server
//! [`LoopRef::start_tls`]: crate::LoopRef::start_tls
//! [`StreamWriter::start_tls`]: crate::StreamWriter::start_tls

pub(crate) mod accept;
mod config;
mod error;
pub(crate) mod handshake;
mod info;
pub(crate) mod session;
mod upgrade;

pub use config::{
    ClientConfig, ServerConfig, TlsConfig, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT,
};
pub use error::{TlsError, TlsErrorKind};
pub use info::TlsInfo;
/// The rustls crate aloop's TLS stands on, for building configs by hand.
pub use rustls;
