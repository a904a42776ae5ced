//! Async UDP: `UdpSocket` with `send_to`/`recv_from` and the connected `send`/`recv`.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{self, SocketAddr, ToSocketAddrs};
use std::os::unix::io::{AsRawFd, RawFd};
use std::task::{Context, Poll};

use crate::async_io::Async;
use crate::reactor::Reactor;

/// A UDP socket.
///
/// Datagram sockets get no short-read shortcut (a small datagram says nothing about
/// what else is queued): readiness is cleared only by `WouldBlock`.
///
/// ```
/// use aloop_reactor::{Reactor, UdpSocket};
///
/// Reactor::new()?.block_on(async {
///     let a = UdpSocket::bind("127.0.0.1:0")?;
///     let b = UdpSocket::bind("127.0.0.1:0")?;
///     a.connect(b.local_addr()?)?;
///     a.send(b"ping").await?;
///     let mut buf = [0u8; 16];
///     let (n, from) = b.recv_from(&mut buf).await?;
///     assert_eq!((&buf[..n], from), (&b"ping"[..], a.local_addr()?));
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct UdpSocket {
    inner: Async<net::UdpSocket>,
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.get_ref().fmt(f)
    }
}

impl UdpSocket {
    /// Binds to `addr`, registering with the current reactor.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        let reactor = Reactor::current_or_err()?;
        let socket = net::UdpSocket::bind(addr)?;
        UdpSocket::with_reactor(socket, &reactor)
    }

    /// Wraps a std socket (made non-blocking) with the current reactor.
    pub fn from_std(socket: net::UdpSocket) -> io::Result<UdpSocket> {
        UdpSocket::with_reactor(socket, &Reactor::current_or_err()?)
    }

    fn with_reactor(socket: net::UdpSocket, reactor: &Reactor) -> io::Result<UdpSocket> {
        socket.set_nonblocking(true)?;
        Ok(UdpSocket {
            inner: Async::from_parts(socket, reactor, false, (true, true))?,
        })
    }

    /// Deregisters and returns the std socket (still non-blocking).
    pub fn into_std(self) -> net::UdpSocket {
        self.inner.into_inner()
    }

    /// The std socket, for options not wrapped here.
    pub fn get_ref(&self) -> &net::UdpSocket {
        self.inner.get_ref()
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The connected peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// Sets the default peer for `send`/`recv` and filters incoming datagrams to it.
    /// UDP connect never blocks, so this is synchronous.
    pub fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        self.inner.get_ref().connect(addr)
    }

    /// Polls sending one datagram to `addr`.
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        addr: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write_with(cx, |s| s.send_to(buf, addr))
    }

    /// Polls receiving one datagram and its source address.
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.inner.poll_read_with(cx, |s| s.recv_from(buf))
    }

    /// Sends one datagram to `addr`.
    pub async fn send_to(&self, buf: &[u8], addr: SocketAddr) -> io::Result<usize> {
        poll_fn(|cx| self.poll_send_to(cx, buf, addr)).await
    }

    /// Receives one datagram (truncated to `buf`) and its source address.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_recv_from(cx, buf)).await
    }

    /// Receives one datagram without removing it from the queue.
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.inner.read_with(|s| s.peek_from(buf)).await
    }

    /// Sends one datagram to the connected peer.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write_with(|s| s.send(buf)).await
    }

    /// Receives one datagram from the connected peer.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read_with(|s| s.recv(buf)).await
    }
}

impl AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}
