//! [`TlsInfo`]: what a finished handshake agreed on, for asyncio's
//! `get_extra_info("peercert" / "cipher" / "ssl_object")` (made by `session.rs`).

use rustls::{CipherSuite, ProtocolVersion};
use rustls_pki_types::CertificateDer;

/// A TLS connection's negotiated parameters
/// ([`StreamWriter::tls_info`](crate::StreamWriter::tls_info),
/// [`Transport::tls_info`](crate::Transport::tls_info)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsInfo {
    /// The peer's certificate chain, leaf first, DER-encoded (`"peercert"`, in binary
    /// form); empty when the peer sent none (a client, unless asked).
    pub peer_certificates: Vec<CertificateDer<'static>>,
    /// The application protocol agreed on (ALPN), e.g. `b"h2"`.
    pub alpn_protocol: Option<Vec<u8>>,
    /// The protocol version, e.g. `ProtocolVersion::TLSv1_3`.
    pub protocol_version: Option<ProtocolVersion>,
    /// The cipher suite (`"cipher"`).
    pub cipher_suite: Option<CipherSuite>,
    /// The server name asked for with SNI: the one this client sent, or, on a
    /// server, the one the client sent (`None` if it sent none).
    pub server_name: Option<String>,
}
