//! The socket under a datagram transport: a UDP or Unix datagram socket registered
//! with the loop's reactor (`Sock`), and [`TransportSocket`], the handle a user gets
//! for socket options (asyncio's `get_extra_info("socket")`).
//!
//! Sends come in two forms: `send_now`, a plain non-blocking send for `sendto`'s fast
//! path (it has no task context, and must not replace the endpoint task's waker), and
//! `poll_send`, for the endpoint task's flush of the queue (`pump.rs`). Made by
//! `open.rs`; used by `transport.rs` and `pump.rs`; uses `addr.rs`.

use std::fmt;
use std::io;
use std::net::UdpSocket;
use std::os::unix::io::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::rc::Rc;
use std::task::{Context, Poll};

use aloop_reactor::Async;

use super::addr::DatagramAddr;

/// Receive buffer for UDP: 64 KiB holds the largest UDP datagram (65,507 bytes of
/// payload over IPv4, 65,527 over IPv6 without jumbograms), so none is truncated.
pub(super) const UDP_RECV_SIZE: usize = 64 * 1024;
/// Receive buffer for Unix datagrams, asyncio's `max_size` (a Unix datagram may be as
/// large as the sender's `SO_SNDBUF`, about 208 KiB by default on Linux).
pub(super) const UNIX_RECV_SIZE: usize = 256 * 1024;

/// Where a queued datagram goes: the connected peer, or an address of the socket's
/// own family (checked by `sendto` before it is queued).
#[derive(Debug, Clone)]
pub(super) enum Dest {
    Peer,
    Inet(std::net::SocketAddr),
    Path(std::path::PathBuf),
}

/// A datagram socket on the loop's reactor.
pub(super) enum Sock {
    Udp(Async<UdpSocket>),
    Unix(Async<UnixDatagram>),
}

impl Sock {
    /// The receive buffer this socket's endpoint needs.
    pub(super) fn recv_size(&self) -> usize {
        match self {
            Sock::Udp(_) => UDP_RECV_SIZE,
            Sock::Unix(_) => UNIX_RECV_SIZE,
        }
    }

    /// Turns a `sendto` address into a destination this socket can send to.
    pub(super) fn dest_for(&self, addr: &DatagramAddr) -> Option<Dest> {
        match (self, addr) {
            (Sock::Udp(_), DatagramAddr::Inet(a)) => Some(Dest::Inet(*a)),
            (Sock::Unix(_), DatagramAddr::Unix(Some(p))) => Some(Dest::Path(p.clone())),
            _ => None,
        }
    }

    /// One non-blocking send, outside any task (`WouldBlock` when the socket is full).
    pub(super) fn send_now(&self, data: &[u8], dest: &Dest) -> io::Result<usize> {
        match (self, dest) {
            (Sock::Udp(s), Dest::Peer) => s.get_ref().send(data),
            (Sock::Udp(s), Dest::Inet(a)) => s.get_ref().send_to(data, a),
            (Sock::Unix(s), Dest::Peer) => s.get_ref().send(data),
            (Sock::Unix(s), Dest::Path(p)) => s.get_ref().send_to(data, p),
            _ => Err(io::Error::from(io::ErrorKind::InvalidInput)),
        }
    }

    /// Polls one send, registering the task for writability on `WouldBlock`.
    pub(super) fn poll_send(
        &self,
        cx: &mut Context<'_>,
        data: &[u8],
        dest: &Dest,
    ) -> Poll<io::Result<usize>> {
        match (self, dest) {
            (Sock::Udp(s), Dest::Peer) => s.poll_write_with(cx, |s| s.send(data)),
            (Sock::Udp(s), Dest::Inet(a)) => s.poll_write_with(cx, |s| s.send_to(data, a)),
            (Sock::Unix(s), Dest::Peer) => s.poll_write_with(cx, |s| s.send(data)),
            (Sock::Unix(s), Dest::Path(p)) => s.poll_write_with(cx, |s| s.send_to(data, p)),
            _ => Poll::Ready(Err(io::Error::from(io::ErrorKind::InvalidInput))),
        }
    }

    /// Polls one receive into `buf`: the datagram's length and sender.
    pub(super) fn poll_recv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, DatagramAddr)>> {
        match self {
            Sock::Udp(s) => s
                .poll_read_with(cx, |s| s.recv_from(buf))
                .map_ok(|(n, a)| (n, DatagramAddr::Inet(a))),
            Sock::Unix(s) => s
                .poll_read_with(cx, |s| s.recv_from(buf))
                .map_ok(|(n, a)| (n, DatagramAddr::Unix(a.as_pathname().map(Into::into)))),
        }
    }

    /// The local address (asyncio's `get_extra_info("sockname")`).
    pub(super) fn sockname(&self) -> Option<DatagramAddr> {
        match self {
            Sock::Udp(s) => s.get_ref().local_addr().ok().map(DatagramAddr::Inet),
            Sock::Unix(s) => {
                let a = s.get_ref().local_addr().ok()?;
                Some(DatagramAddr::Unix(a.as_pathname().map(Into::into)))
            }
        }
    }

    /// The connected peer's address (`get_extra_info("peername")`), if connected.
    pub(super) fn peername(&self) -> Option<DatagramAddr> {
        match self {
            Sock::Udp(s) => s.get_ref().peer_addr().ok().map(DatagramAddr::Inet),
            Sock::Unix(s) => {
                let a = s.get_ref().peer_addr().ok()?;
                Some(DatagramAddr::Unix(a.as_pathname().map(Into::into)))
            }
        }
    }
}

impl AsFd for Sock {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Sock::Udp(s) => s.get_ref().as_fd(),
            Sock::Unix(s) => s.get_ref().as_fd(),
        }
    }
}

impl fmt::Debug for Sock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Sock::Udp(s) => s.get_ref().fmt(f),
            Sock::Unix(s) => s.get_ref().fmt(f),
        }
    }
}

/// The socket of a [`DatagramTransport`](crate::DatagramTransport), for socket
/// options aloop does not wrap (asyncio's `get_extra_info("socket")`, a
/// `TransportSocket`): multicast membership, TTL, buffer sizes. It implements
/// [`AsFd`] and [`AsRawFd`], so `socket2::SockRef::from(&sock)` reaches every option.
///
/// Do not read from, write to, close or `connect` the socket through it: the endpoint
/// owns it. Holding a `TransportSocket` keeps the descriptor open after the endpoint
/// closed.
///
/// ```
/// use std::os::unix::io::AsRawFd;
/// aloop::run(async {
///     let (t, _p) = aloop::create_datagram_endpoint(
///         || (), Some(("127.0.0.1", 0)), None, Default::default()).await.unwrap();
///     assert!(t.socket().unwrap().as_raw_fd() >= 0);
///     t.close();
/// });
/// ```
#[derive(Clone)]
pub struct TransportSocket {
    pub(super) sock: Rc<Sock>,
}

impl AsFd for TransportSocket {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

impl AsRawFd for TransportSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.sock.as_fd().as_raw_fd()
    }
}

impl fmt::Debug for TransportSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TransportSocket").field(&self.sock).finish()
    }
}
