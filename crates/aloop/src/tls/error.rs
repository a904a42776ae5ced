//! [`TlsError`]: what went wrong in a TLS handshake or session, typed, inside the
//! `io::Error` every stream call returns (as Python's `ssl.SSLError` is an `OSError`).
//! `session.rs` and `handshake.rs` make them; users find them with
//! [`TlsError::from_io`].

use std::fmt;
use std::io;
use std::time::Duration;

use rustls::{AlertDescription, CertificateError};

/// What kind of TLS failure a [`TlsError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlsErrorKind {
    /// The peer's certificate does not name the host we asked for (Python's
    /// "certificate verify failed: Hostname mismatch").
    HostnameMismatch,
    /// The peer's certificate does not chain to a trusted root ("unable to get local
    /// issuer certificate").
    UntrustedCertificate,
    /// The peer's certificate has expired ("certificate has expired").
    ExpiredCertificate,
    /// The peer's certificate is invalid for another reason (not yet valid, revoked,
    /// a bad signature, not meant for this use, malformed).
    InvalidCertificate,
    /// The peer refused our certificate (it sent a certificate alert).
    CertificateRejected,
    /// No application protocol (ALPN) both sides offer.
    NoApplicationProtocol,
    /// The handshake did not finish within the handshake timeout (asyncio's
    /// `ssl_handshake_timeout`, 60 s by default).
    HandshakeTimeout,
    /// The peer closed the connection without a close_notify: what was received may
    /// have been cut short by an attacker (Python's `SSLEOFError`, "EOF occurred in
    /// violation of protocol").
    Truncated,
    /// The peer ended the session with an alert.
    AlertReceived,
    /// Any other protocol failure (a malformed or unexpected message, a peer we
    /// cannot agree with on a version or cipher suite).
    Protocol,
}

/// A TLS failure, kept inside the `io::Error` that the stream call returned.
///
/// ```
/// use aloop::tls::{TlsError, TlsErrorKind};
/// let e: std::io::Error = TlsError::handshake_timeout(std::time::Duration::from_secs(60)).into();
/// assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
/// let tls = TlsError::from_io(&e).unwrap();
/// assert_eq!(tls.kind(), TlsErrorKind::HandshakeTimeout);
/// ```
#[derive(Debug)]
pub struct TlsError {
    kind: TlsErrorKind,
    rustls: Option<rustls::Error>,
    detail: String,
}

impl TlsError {
    /// Classifies a rustls error.
    pub(crate) fn from_rustls(e: rustls::Error) -> TlsError {
        use CertificateError as C;
        let kind = match &e {
            rustls::Error::InvalidCertificate(c) => match c {
                C::NotValidForName | C::NotValidForNameContext { .. } => {
                    TlsErrorKind::HostnameMismatch
                }
                C::UnknownIssuer => TlsErrorKind::UntrustedCertificate,
                C::Expired | C::ExpiredContext { .. } => TlsErrorKind::ExpiredCertificate,
                _ => TlsErrorKind::InvalidCertificate,
            },
            rustls::Error::AlertReceived(alert) => match alert {
                AlertDescription::BadCertificate
                | AlertDescription::UnsupportedCertificate
                | AlertDescription::CertificateRevoked
                | AlertDescription::CertificateExpired
                | AlertDescription::CertificateUnknown
                | AlertDescription::UnknownCA
                | AlertDescription::CertificateRequired => TlsErrorKind::CertificateRejected,
                AlertDescription::NoApplicationProtocol => TlsErrorKind::NoApplicationProtocol,
                _ => TlsErrorKind::AlertReceived,
            },
            rustls::Error::NoApplicationProtocol => TlsErrorKind::NoApplicationProtocol,
            _ => TlsErrorKind::Protocol,
        };
        TlsError {
            kind,
            detail: e.to_string(),
            rustls: Some(e),
        }
    }

    /// The handshake did not finish within `limit`.
    pub fn handshake_timeout(limit: Duration) -> TlsError {
        TlsError {
            kind: TlsErrorKind::HandshakeTimeout,
            rustls: None,
            detail: format!(
                "the TLS handshake took longer than {:.1} seconds: connection aborted",
                limit.as_secs_f64()
            ),
        }
    }

    /// The peer closed its end without a close_notify.
    pub(crate) fn truncated() -> TlsError {
        TlsError {
            kind: TlsErrorKind::Truncated,
            rustls: None,
            detail: "the peer closed the connection without a TLS close_notify: \
                     the data may be truncated"
                .to_owned(),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> TlsErrorKind {
        self.kind
    }

    /// The rustls error underneath, when rustls reported it.
    pub fn rustls_error(&self) -> Option<&rustls::Error> {
        self.rustls.as_ref()
    }

    /// The TLS failure inside an `io::Error` returned by a stream call, if it is one.
    pub fn from_io(e: &io::Error) -> Option<&TlsError> {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<TlsError>())
    }
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            TlsErrorKind::HostnameMismatch => "certificate verify failed: hostname mismatch",
            TlsErrorKind::UntrustedCertificate => {
                "certificate verify failed: unable to get local issuer certificate"
            }
            TlsErrorKind::ExpiredCertificate => {
                "certificate verify failed: certificate has expired"
            }
            TlsErrorKind::InvalidCertificate => "certificate verify failed",
            TlsErrorKind::CertificateRejected => "the peer rejected our certificate",
            TlsErrorKind::NoApplicationProtocol => "no application protocol in common (ALPN)",
            TlsErrorKind::HandshakeTimeout => "TLS handshake timed out",
            TlsErrorKind::Truncated => "TLS session truncated",
            TlsErrorKind::AlertReceived => "the peer sent a TLS alert",
            TlsErrorKind::Protocol => "TLS protocol error",
        };
        write!(f, "{what} ({})", self.detail)
    }
}

impl std::error::Error for TlsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.rustls
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<TlsError> for io::Error {
    /// `TimedOut` for a handshake timeout, `UnexpectedEof` for truncation,
    /// `InvalidData` for the rest.
    fn from(e: TlsError) -> io::Error {
        let kind = match e.kind {
            TlsErrorKind::HandshakeTimeout => io::ErrorKind::TimedOut,
            TlsErrorKind::Truncated => io::ErrorKind::UnexpectedEof,
            _ => io::ErrorKind::InvalidData,
        };
        io::Error::new(kind, e)
    }
}
