//! `DatagramAddr`: where a datagram came from or goes to, for UDP and Unix datagram
//! endpoints alike (asyncio passes a `(host, port)` tuple or a path string).
//!
//! A leaf of `datagram/`: `socket.rs`, `transport.rs`, `pump.rs` and `error.rs` use it.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The address of a datagram's sender or destination.
///
/// UDP endpoints see [`DatagramAddr::Inet`]; Unix datagram endpoints see
/// [`DatagramAddr::Unix`], whose path is `None` for a sender that bound no path (an
/// unnamed socket, which cannot be answered) or an abstract-namespace address.
///
/// ```
/// use std::net::SocketAddr;
/// use aloop::DatagramAddr;
///
/// let sa: SocketAddr = "127.0.0.1:9000".parse().unwrap();
/// let addr = DatagramAddr::from(sa);
/// assert_eq!(addr.as_inet(), Some(sa));
/// assert_eq!(addr.to_string(), "127.0.0.1:9000");
/// assert_eq!(DatagramAddr::from("/tmp/x.sock").as_path().unwrap().to_str(), Some("/tmp/x.sock"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DatagramAddr {
    /// An IPv4 or IPv6 address and port (UDP).
    Inet(SocketAddr),
    /// A Unix-domain socket path; `None` for an unnamed (or abstract) socket.
    Unix(Option<PathBuf>),
}

impl DatagramAddr {
    /// The IP address and port, for a UDP address.
    pub fn as_inet(&self) -> Option<SocketAddr> {
        match self {
            DatagramAddr::Inet(a) => Some(*a),
            DatagramAddr::Unix(_) => None,
        }
    }

    /// The path, for a named Unix address.
    pub fn as_path(&self) -> Option<&Path> {
        match self {
            DatagramAddr::Unix(Some(p)) => Some(p),
            _ => None,
        }
    }
}

impl From<SocketAddr> for DatagramAddr {
    fn from(addr: SocketAddr) -> Self {
        DatagramAddr::Inet(addr)
    }
}

impl From<PathBuf> for DatagramAddr {
    fn from(path: PathBuf) -> Self {
        DatagramAddr::Unix(Some(path))
    }
}

impl From<&Path> for DatagramAddr {
    fn from(path: &Path) -> Self {
        DatagramAddr::Unix(Some(path.to_owned()))
    }
}

impl From<&str> for DatagramAddr {
    /// A Unix path (parse a `SocketAddr` for a UDP address).
    fn from(path: &str) -> Self {
        DatagramAddr::Unix(Some(PathBuf::from(path)))
    }
}

impl fmt::Display for DatagramAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatagramAddr::Inet(a) => write!(f, "{a}"),
            DatagramAddr::Unix(Some(p)) => write!(f, "{}", p.display()),
            DatagramAddr::Unix(None) => f.write_str("(unnamed)"),
        }
    }
}
