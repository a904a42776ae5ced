//! The socket under a reader/writer pair: TCP or Unix, shared by one `Rc` between the
//! `StreamReader` (which pulls from it) and the `StreamWriter` (which pushes to it).
//! Both sides take `&self` on the socket, so no `RefCell` is needed around it.

use std::io::{self, IoSliceMut};
use std::net::{Shutdown, SocketAddr};
use std::task::{Context, Poll};

use aloop_reactor::{TcpStream, UnixStream};

/// A connected stream socket.
#[derive(Debug)]
pub(crate) enum Transport {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Transport {
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self {
            Transport::Tcp(s) => s.poll_read(cx, buf),
            Transport::Unix(s) => s.poll_read(cx, buf),
        }
    }

    /// One scattering read into `bufs` in turn (see `pull.rs` for why).
    pub(crate) fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        match self {
            Transport::Tcp(s) => s.poll_read_vectored(cx, bufs),
            Transport::Unix(s) => s.poll_read_vectored(cx, bufs),
        }
    }

    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self {
            Transport::Tcp(s) => s.poll_write(cx, buf),
            Transport::Unix(s) => s.poll_write(cx, buf),
        }
    }

    /// Shuts a direction down; "not connected" (the peer already went away) is not an
    /// error here, the socket is as closed as it will get.
    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let r = match self {
            Transport::Tcp(s) => s.shutdown(how),
            Transport::Unix(s) => s.shutdown(how),
        };
        match r {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            r => r,
        }
    }

    pub(crate) fn peer_addr(&self) -> Option<SocketAddr> {
        match self {
            Transport::Tcp(s) => s.peer_addr().ok(),
            Transport::Unix(_) => None,
        }
    }

    pub(crate) fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Transport::Tcp(s) => s.local_addr().ok(),
            Transport::Unix(_) => None,
        }
    }

    pub(crate) fn unix_peer_addr(&self) -> Option<std::os::unix::net::SocketAddr> {
        match self {
            Transport::Tcp(_) => None,
            Transport::Unix(s) => s.peer_addr().ok(),
        }
    }

    pub(crate) fn unix_local_addr(&self) -> Option<std::os::unix::net::SocketAddr> {
        match self {
            Transport::Tcp(_) => None,
            Transport::Unix(s) => s.local_addr().ok(),
        }
    }
}
