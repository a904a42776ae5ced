//! What a TLS connection is made with, as asyncio's `ssl=` argument and the keyword
//! arguments beside it: [`ClientConfig`] (trust roots, `server_hostname`, ALPN,
//! timeouts) and [`ServerConfig`] (certificate chain and key, ALPN, timeouts), over
//! rustls's configs, which either can be built from directly. `handshake.rs` reads
//! them; `session.rs` never sees them.

use std::io;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// asyncio's default `ssl_handshake_timeout`.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(60);
/// asyncio's default `ssl_shutdown_timeout`.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// The client side of TLS: which certificates to trust, the name to ask for and
/// verify (`server_hostname`), the application protocols to offer (ALPN), and the
/// handshake and shutdown timeouts. Cloning is cheap (the rustls config is shared).
///
/// [`ClientConfig::new`] trusts the operating system's roots, as Python's
/// `ssl.create_default_context()` does; [`ClientConfig::with_root_pem`] trusts only
/// the certificates given (`cafile=` / `cadata=`).
///
/// ```no_run
/// # aloop::run(async {
/// let tls = aloop::tls::ClientConfig::new()?.alpn_protocols(&[b"http/1.1"]);
/// let options = aloop::ConnectOptions { ssl: Some(tls), ..Default::default() };
/// let (reader, writer) = aloop::open_connection_with("example.com", 443, options).await?;
/// writer.write(b"HEAD / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n")?;
/// println!("{}", String::from_utf8_lossy(&reader.readline().await?));
/// # std::io::Result::Ok(())
/// # }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct ClientConfig {
    pub(crate) config: Arc<rustls::ClientConfig>,
    pub(crate) server_hostname: Option<String>,
    pub(crate) handshake_timeout: Duration,
    pub(crate) shutdown_timeout: Duration,
}

/// The server side of TLS: the certificate chain and its private key, the
/// application protocols accepted (ALPN), and the handshake and shutdown timeouts.
/// Cloning is cheap.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// # let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
/// # let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
/// // as Python's ctx.load_cert_chain(certfile, keyfile), from PEM text:
/// let tls = aloop::tls::ServerConfig::from_pem(cert_pem.as_bytes(), key_pem.as_bytes())?
///     .alpn_protocols(&[b"h2", b"http/1.1"]);
/// let options = aloop::ServerOptions { ssl: Some(tls), ..Default::default() };
/// # let _ = options;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub(crate) config: Arc<rustls::ServerConfig>,
    pub(crate) handshake_timeout: Duration,
    pub(crate) shutdown_timeout: Duration,
}

/// Either side's config, for [`StreamWriter::start_tls`](crate::StreamWriter::start_tls)
/// and [`LoopRef::start_tls`](crate::LoopRef::start_tls): a `ServerConfig` makes this
/// end the TLS server (asyncio's `server_side=True`).
#[derive(Clone, Debug)]
pub enum TlsConfig {
    /// This end is the TLS client.
    Client(ClientConfig),
    /// This end is the TLS server.
    Server(ServerConfig),
}

impl From<ClientConfig> for TlsConfig {
    fn from(c: ClientConfig) -> TlsConfig {
        TlsConfig::Client(c)
    }
}

impl From<ServerConfig> for TlsConfig {
    fn from(c: ServerConfig) -> TlsConfig {
        TlsConfig::Server(c)
    }
}

impl TlsConfig {
    pub(crate) fn timeouts(&self) -> (Duration, Duration) {
        match self {
            TlsConfig::Client(c) => (c.handshake_timeout, c.shutdown_timeout),
            TlsConfig::Server(s) => (s.handshake_timeout, s.shutdown_timeout),
        }
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn invalid(what: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what.to_string())
}

/// A PEM error as an `io::Error`, keeping the OS error when reading a file failed.
fn pem_error(e: rustls_pki_types::pem::Error, what: &str) -> io::Error {
    match e {
        rustls_pki_types::pem::Error::Io(e) => e,
        other => invalid(format!("{what}: {other}")),
    }
}

/// The system's trust roots, loaded once per process (reading the store takes
/// milliseconds; Python's default context caches it the same way).
fn native_roots() -> io::Result<Arc<RootCertStore>> {
    static ROOTS: OnceLock<Result<Arc<RootCertStore>, String>> = OnceLock::new();
    let roots = ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        let mut store = RootCertStore::empty();
        let (added, _ignored) = store.add_parsable_certificates(found.certs);
        if added == 0 {
            let why = found
                .errors
                .first()
                .map(|e| e.to_string())
                .unwrap_or_else(|| "the store is empty".to_owned());
            return Err(format!(
                "no trusted root certificate in the system store: {why}"
            ));
        }
        Ok(Arc::new(store))
    });
    roots
        .clone()
        .map_err(|why| io::Error::new(io::ErrorKind::NotFound, why))
}

fn certs_from_pem(pem: &[u8]) -> io::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_error(e, "bad certificate PEM"))?;
    if certs.is_empty() {
        return Err(invalid("no CERTIFICATE block in the PEM data"));
    }
    Ok(certs)
}

impl ClientConfig {
    /// Trusts the operating system's root certificates (Python's
    /// `ssl.create_default_context()`); TLS 1.2 and 1.3; no ALPN. `NotFound` if the
    /// system has no usable root store.
    pub fn new() -> io::Result<ClientConfig> {
        Self::with_roots(native_roots()?)
    }

    /// Trusts only the certificates in `pem` (one or more `CERTIFICATE` blocks):
    /// Python's `cadata=`, or a private CA.
    pub fn with_root_pem(pem: &[u8]) -> io::Result<ClientConfig> {
        let mut store = RootCertStore::empty();
        for cert in certs_from_pem(pem)? {
            store
                .add(cert)
                .map_err(|e| invalid(format!("unusable root certificate: {e}")))?;
        }
        Self::with_roots(Arc::new(store))
    }

    /// Trusts only the certificates in the PEM file at `path` (Python's `cafile=`).
    pub fn with_root_file(path: impl AsRef<Path>) -> io::Result<ClientConfig> {
        Self::with_root_pem(&std::fs::read(path)?)
    }

    fn with_roots(roots: Arc<RootCertStore>) -> io::Result<ClientConfig> {
        let config = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(invalid)?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Self::from_rustls(Arc::new(config)))
    }

    /// A rustls config built by hand (client certificates, custom verification,
    /// session resumption settings, ...).
    pub fn from_rustls(config: Arc<rustls::ClientConfig>) -> ClientConfig {
        ClientConfig {
            config,
            server_hostname: None,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }

    /// The name sent in SNI and checked against the server's certificate (asyncio's
    /// `server_hostname`); by default the host given to `open_connection`. A DNS
    /// name or an IP address.
    pub fn server_hostname(mut self, name: impl Into<String>) -> ClientConfig {
        self.server_hostname = Some(name.into());
        self
    }

    /// The application protocols to offer, most preferred first (ALPN; Python's
    /// `ctx.set_alpn_protocols`).
    pub fn alpn_protocols(mut self, protocols: &[&[u8]]) -> ClientConfig {
        Arc::make_mut(&mut self.config).alpn_protocols =
            protocols.iter().map(|p| p.to_vec()).collect();
        self
    }

    /// asyncio's `ssl_handshake_timeout` (default 60 s).
    ///
    /// # Panics
    ///
    /// If `limit` is zero, as asyncio raises `ValueError` for a timeout that is not
    /// positive: every handshake would fail at once.
    pub fn handshake_timeout(mut self, limit: Duration) -> ClientConfig {
        self.handshake_timeout = positive(limit, "handshake_timeout");
        self
    }

    /// asyncio's `ssl_shutdown_timeout` (default 30 s): how long `close()` waits for
    /// the close_notify to leave before aborting the connection.
    ///
    /// # Panics
    ///
    /// If `limit` is zero, as asyncio's `ValueError`.
    pub fn shutdown_timeout(mut self, limit: Duration) -> ClientConfig {
        self.shutdown_timeout = positive(limit, "shutdown_timeout");
        self
    }

    /// The rustls config underneath.
    pub fn rustls_config(&self) -> &Arc<rustls::ClientConfig> {
        &self.config
    }
}

impl ServerConfig {
    /// A server presenting the certificate chain in `cert_chain_pem` (leaf first)
    /// with the private key in `key_pem` (PKCS#8, PKCS#1 or SEC1): Python's
    /// `ctx.load_cert_chain`. `InvalidInput` if the PEM is unreadable or the key does
    /// not match the certificate.
    pub fn from_pem(cert_chain_pem: &[u8], key_pem: &[u8]) -> io::Result<ServerConfig> {
        let chain = certs_from_pem(cert_chain_pem)?;
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|e| pem_error(e, "bad private key PEM"))?;
        let config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(invalid)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| invalid(format!("unusable certificate or key: {e}")))?;
        Ok(Self::from_rustls(Arc::new(config)))
    }

    /// [`from_pem`](Self::from_pem) from two files (Python's
    /// `ctx.load_cert_chain(certfile, keyfile)`); a failed read keeps the OS error.
    pub fn from_pem_files(
        cert_chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> io::Result<ServerConfig> {
        Self::from_pem(&std::fs::read(cert_chain)?, &std::fs::read(key)?)
    }

    /// A rustls config built by hand (client authentication, SNI-based certificate
    /// choice, session tickets, ...).
    pub fn from_rustls(config: Arc<rustls::ServerConfig>) -> ServerConfig {
        ServerConfig {
            config,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
        }
    }

    /// The application protocols accepted, most preferred first (ALPN). A client
    /// offering none of them fails the handshake.
    pub fn alpn_protocols(mut self, protocols: &[&[u8]]) -> ServerConfig {
        Arc::make_mut(&mut self.config).alpn_protocols =
            protocols.iter().map(|p| p.to_vec()).collect();
        self
    }

    /// asyncio's `ssl_handshake_timeout` (default 60 s): a client that does not
    /// finish its handshake in time is disconnected.
    ///
    /// # Panics
    ///
    /// If `limit` is zero, as asyncio raises `ValueError` for a timeout that is not
    /// positive: every handshake would fail at once.
    pub fn handshake_timeout(mut self, limit: Duration) -> ServerConfig {
        self.handshake_timeout = positive(limit, "handshake_timeout");
        self
    }

    /// asyncio's `ssl_shutdown_timeout` (default 30 s).
    ///
    /// # Panics
    ///
    /// If `limit` is zero, as asyncio's `ValueError`.
    pub fn shutdown_timeout(mut self, limit: Duration) -> ServerConfig {
        self.shutdown_timeout = positive(limit, "shutdown_timeout");
        self
    }

    /// The rustls config underneath.
    pub fn rustls_config(&self) -> &Arc<rustls::ServerConfig> {
        &self.config
    }
}

/// A TLS time limit, refused when zero (asyncio: "must be a positive number").
fn positive(limit: Duration, what: &str) -> Duration {
    assert!(
        !limit.is_zero(),
        "the TLS {what} must be positive, not zero"
    );
    limit
}
