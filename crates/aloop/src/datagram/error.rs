//! `SendtoError`: what [`DatagramTransport::sendto`](crate::DatagramTransport::sendto)
//! refuses, asyncio's `ValueError`/`TypeError` for a bad address, plus the closed case.
//!
//! Only misuse is an error here: OS errors of a send go to the protocol's
//! `error_received`, as in asyncio (see `transport.rs` and `pump.rs`). Uses `addr.rs`.

use std::fmt;
use std::io;

use super::addr::DatagramAddr;

/// Why [`DatagramTransport::sendto`](crate::DatagramTransport::sendto) sent nothing.
///
/// Converts into an `io::Error` (kind `InvalidInput`, or `NotConnected` for
/// [`SendtoError::Closing`]) so `?` works in functions returning `io::Result`; the
/// typed error stays reachable with `get_ref()` and `downcast_ref`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendtoError {
    /// On an endpoint made with a remote address, an address other than that one
    /// (asyncio: `ValueError: Invalid address: must be None or ...`).
    WrongPeer {
        /// The address given to `sendto`.
        given: DatagramAddr,
        /// The endpoint's remote address, the only one allowed.
        peer: DatagramAddr,
    },
    /// No address, on an endpoint made without a remote address.
    NoAddress,
    /// An address `sendto` cannot send to: of the other family (a path on a UDP
    /// endpoint, an IP address on a Unix one) or an unnamed Unix address.
    Unreachable(DatagramAddr),
    /// `close()` or `abort()` was called (asyncio drops such datagrams silently or
    /// reports a closed socket to `error_received`; here the caller is told).
    Closing,
}

impl fmt::Display for SendtoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendtoError::WrongPeer { given, peer } => {
                write!(f, "Invalid address {given}: must be None or {peer}")
            }
            SendtoError::NoAddress => {
                f.write_str("no address: this endpoint has no remote address, so sendto needs one")
            }
            SendtoError::Unreachable(addr) => {
                write!(f, "cannot send to {addr} from this endpoint (wrong address family or unnamed socket)")
            }
            SendtoError::Closing => f.write_str("the datagram transport is closing or closed"),
        }
    }
}

impl std::error::Error for SendtoError {}

impl From<SendtoError> for io::Error {
    fn from(e: SendtoError) -> io::Error {
        let kind = match e {
            SendtoError::Closing => io::ErrorKind::NotConnected,
            _ => io::ErrorKind::InvalidInput,
        };
        io::Error::new(kind, e)
    }
}
