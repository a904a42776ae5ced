//! Async TCP: `TcpListener` (SO_REUSEADDR, optional SO_REUSEPORT, backlog),
//! `TcpStream` with non-blocking connect, and the `incoming()` stream.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSliceMut, Read, Write};
use std::net::{self, Shutdown, SocketAddr, ToSocketAddrs};
use std::os::unix::io::{AsRawFd, RawFd};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_core::Stream;
use futures_io::{AsyncRead, AsyncWrite};
use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, Type};

use crate::async_io::Async;
use crate::reactor::Reactor;
use crate::source::Dir;
use crate::sys;

/// Listen backlog used by [`TcpListener::bind`].
pub const DEFAULT_BACKLOG: i32 = 1024;

/// Resolves `addr` and tries `f` on each address, returning the first success or
/// the last error. Name resolution blocks: pass literal addresses on a loop thread.
fn each_addr<A: ToSocketAddrs, R>(
    addr: A,
    mut f: impl FnMut(SocketAddr) -> io::Result<R>,
) -> io::Result<R> {
    let mut last = None;
    for a in addr.to_socket_addrs()? {
        match f(a) {
            Ok(r) => return Ok(r),
            Err(e) => last = Some(e),
        }
    }
    Err(last
        .unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no socket address to use")))
}

/// A TCP listening socket.
///
/// ```
/// use aloop_reactor::{Reactor, TcpListener, TcpStream};
///
/// Reactor::new()?.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let client = TcpStream::connect(listener.local_addr()?).await?;
///     let (server, _peer) = listener.accept().await?;
///     server.write_all(b"hi").await?;
///     let mut buf = [0u8; 2];
///     client.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hi");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct TcpListener {
    inner: Async<net::TcpListener>,
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.get_ref().fmt(f)
    }
}

impl TcpListener {
    /// Binds with `SO_REUSEADDR` and a backlog of [`DEFAULT_BACKLOG`], registering
    /// with the current reactor.
    pub fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        TcpListener::bind_with(addr, false, DEFAULT_BACKLOG)
    }

    /// Binds with `SO_REUSEADDR`, optionally `SO_REUSEPORT` (several listeners,
    /// e.g. one per loop thread, sharing a port; the kernel spreads connections),
    /// and the given backlog. An IPv6 listener is `IPV6_V6ONLY`, as asyncio's
    /// `create_server` makes it, so that one on `[::]` and one on `0.0.0.0` can share
    /// a port (IPv4 clients go to the IPv4 listener).
    ///
    /// ```
    /// use aloop_reactor::{Reactor, TcpListener};
    /// let reactor = Reactor::new()?;
    /// let _g = reactor.enter();
    /// let a = TcpListener::bind_with("127.0.0.1:0", true, 128)?;
    /// let b = TcpListener::bind_with(a.local_addr()?, true, 128)?;
    /// assert_eq!(a.local_addr()?, b.local_addr()?);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn bind_with<A: ToSocketAddrs>(
        addr: A,
        reuse_port: bool,
        backlog: i32,
    ) -> io::Result<TcpListener> {
        let reactor = Reactor::current_or_err()?;
        let std = each_addr(addr, |a| {
            let socket = Socket::new(Domain::for_address(a), Type::STREAM, Some(Protocol::TCP))?;
            socket.set_nonblocking(true)?;
            socket.set_reuse_address(true)?;
            if reuse_port {
                set_reuse_port(&socket)?;
            }
            if a.is_ipv6() {
                socket.set_only_v6(true)?;
            }
            socket.bind(&a.into())?;
            socket.listen(backlog)?;
            Ok(net::TcpListener::from(socket))
        })?;
        Ok(TcpListener {
            inner: Async::from_parts(std, &reactor, false, (true, true))?,
        })
    }

    /// Wraps a std listener (made non-blocking) with the current reactor.
    pub fn from_std(listener: net::TcpListener) -> io::Result<TcpListener> {
        listener.set_nonblocking(true)?;
        let reactor = Reactor::current_or_err()?;
        Ok(TcpListener {
            inner: Async::from_parts(listener, &reactor, false, (true, true))?,
        })
    }

    /// Deregisters and returns the std listener (still non-blocking).
    pub fn into_std(self) -> net::TcpListener {
        self.inner.into_inner()
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The std listener.
    pub fn get_ref(&self) -> &net::TcpListener {
        self.inner.get_ref()
    }

    /// Polls for one incoming connection, registered with this listener's reactor.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let (stream, addr) = ready!(self.inner.poll_read_with(cx, sys::accept_nonblocking))?;
        let inner = Async::from_parts(stream, self.inner.reactor(), true, (true, true))?;
        Poll::Ready(Ok((TcpStream { inner }, addr)))
    }

    /// Accepts one connection.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// A `Stream` of accepted connections (never ends by itself).
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }
}

impl AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

/// Whether a read that leaves part of its buffer unfilled proves the socket's receive
/// queue empty, so read readiness may be cleared without a `WouldBlock` read. True for
/// TCP under epoll (epoll(7) says so for stream sockets, and Linux's `tcp_recvmsg`
/// returns short only when it found nothing more queued), given the reactor stops
/// trusting short reads once an event has reported the peer's end of writing, an
/// error or urgent data (`Source::closed`). Other pollers: only `WouldBlock` clears.
const SHORT_READ_DRAINS: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// The `drained` test of a read of `len` bytes' room (see `SHORT_READ_DRAINS`).
#[inline]
fn short_read(len: usize) -> impl Fn(&usize) -> bool {
    move |&n| SHORT_READ_DRAINS && n > 0 && n < len
}

#[cfg(not(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin")))]
fn set_reuse_port(socket: &Socket) -> io::Result<()> {
    socket.set_reuse_port(true)
}

#[cfg(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin"))]
fn set_reuse_port(_: &Socket) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "SO_REUSEPORT is not supported on this platform",
    ))
}

/// The stream returned by [`TcpListener::incoming`].
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.listener
            .poll_accept(cx)
            .map(|r| Some(r.map(|(s, _)| s)))
    }
}

/// A TCP connection.
///
/// Reads and writes take `&self`, so one task can read while another writes; the
/// `futures-io` traits are implemented for both `TcpStream` and `&TcpStream`.
pub struct TcpStream {
    inner: Async<net::TcpStream>,
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.get_ref().fmt(f)
    }
}

impl TcpStream {
    /// Connects without blocking the thread: starts a non-blocking connect, waits
    /// for writability and checks `SO_ERROR`, so a refused connection is an error
    /// (`ConnectionRefused`), not a hang. Tries each resolved address in turn
    /// (resolution itself blocks; pass literal addresses).
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        let reactor = Reactor::current_or_err()?;
        let mut last = None;
        for a in addr.to_socket_addrs()? {
            match TcpStream::connect_one(a, &reactor).await {
                Ok(s) => return Ok(s),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "no socket address to connect to",
            )
        }))
    }

    async fn connect_one(addr: SocketAddr, reactor: &Reactor) -> io::Result<TcpStream> {
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_nonblocking(true)?;
        let connected = sys::start_connect(&socket, &SockAddr::from(addr))?;
        let inner = Async::from_parts(
            net::TcpStream::from(socket),
            reactor,
            true,
            (true, connected),
        )?;
        if !connected {
            inner.finish_connect().await?;
        }
        Ok(TcpStream { inner })
    }

    /// Wraps a connected std stream (made non-blocking) with the current reactor.
    pub fn from_std(stream: net::TcpStream) -> io::Result<TcpStream> {
        let reactor = Reactor::current_or_err()?;
        stream.set_nonblocking(true)?;
        Ok(TcpStream {
            inner: Async::from_parts(stream, &reactor, true, (true, true))?,
        })
    }

    /// Deregisters and returns the std stream (still non-blocking).
    pub fn into_std(self) -> net::TcpStream {
        self.inner.into_inner()
    }

    /// The std stream, for socket options not wrapped here.
    pub fn get_ref(&self) -> &net::TcpStream {
        self.inner.get_ref()
    }

    /// The remote address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// Sets `TCP_NODELAY` (disables Nagle's algorithm).
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.inner.get_ref().set_nodelay(nodelay)
    }

    /// Reads `TCP_NODELAY`.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.get_ref().nodelay()
    }

    /// Shuts down the read half, the write half (sends FIN) or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// Ends the connection with a reset (RST), now, as asyncio's `transport.abort()`
    /// does: `SO_LINGER` 0, then the socket is released although this object (and
    /// any handle sharing it) lives on; the fd number stays reserved until drop, and
    /// later reads and writes fail (`ENOTCONN`, `EPIPE`). Tasks waiting on the
    /// stream are woken and meet those errors.
    ///
    /// ```
    /// use std::io::Read;
    /// use aloop_reactor::{Reactor, TcpListener, TcpStream};
    /// let reactor = Reactor::new()?;
    /// let _g = reactor.enter();
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    /// let ours = reactor.block_on(TcpStream::connect(listener.local_addr()?))?;
    /// let (mut peer, _) = listener.accept()?;
    /// ours.reset()?;
    /// let err = peer.read(&mut [0u8; 8]).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::ConnectionReset);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn reset(&self) -> io::Result<()> {
        SockRef::from(self.inner.get_ref()).set_linger(Some(std::time::Duration::ZERO))?;
        self.inner.close_in_place()
    }

    /// Polls a read into `buf`. A read that can complete costs exactly one syscall
    /// (`recv`) and no reactor work. On Linux, a read that leaves part of `buf`
    /// unfilled proves the socket's queue empty, so readiness is cleared at once and
    /// the next read waits for new data instead of paying for a `WouldBlock` — until
    /// an event reports the peer's end of writing (or an error), after which only a
    /// `WouldBlock` clears it, so the end-of-stream queued behind the data is always
    /// read. A read that fills `buf` exactly leaves readiness set.
    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let len = buf.len();
        self.inner
            .poll_io(Dir::Read, cx, |mut s| s.read(buf), short_read(len))
    }

    /// Polls a write-side operation of your own on the socket (say `sendfile(2)`):
    /// runs `op` when the socket is writable, and on `WouldBlock` waits for the next
    /// write readiness.
    pub fn poll_write_with<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&net::TcpStream) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.inner.poll_write_with(cx, op)
    }

    /// Polls a scattering read into `bufs` in turn: one `readv` fills the first
    /// buffer, then the next, and readiness is cleared as by
    /// [`poll_read`](Self::poll_read) when they are not all filled. A caller can read
    /// straight into its own buffer and catch whatever else is queued in a second
    /// one, with no extra syscall. (`readv` costs the kernel a little more than
    /// `recv`: where a copy of a few KiB is cheap, one big `recv` and a copy wins.)
    ///
    /// ```
    /// use std::io::IoSliceMut;
    /// use std::future::poll_fn;
    /// use aloop_reactor::{Reactor, TcpListener, TcpStream};
    ///
    /// Reactor::new()?.block_on(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = TcpStream::connect(listener.local_addr()?).await?;
    ///     let (server, _) = listener.accept().await?;
    ///     client.write_all(b"head+rest").await?;
    ///     let (mut head, mut rest) = ([0u8; 4], [0u8; 64]);
    ///     let bufs = &mut [IoSliceMut::new(&mut head), IoSliceMut::new(&mut rest)];
    ///     // One small write arrives whole on loopback: one read gets all of it.
    ///     let n = poll_fn(|cx| server.poll_read_vectored(cx, &mut bufs[..])).await?;
    ///     assert_eq!(n, 9);
    ///     assert_eq!(&head, b"head");
    ///     assert_eq!(&rest[..5], b"+rest");
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let len = bufs.iter().map(|b| b.len()).sum();
        self.inner.poll_io(
            Dir::Read,
            cx,
            |mut s| s.read_vectored(bufs),
            short_read(len),
        )
    }

    /// Waits until the stream is (probably) readable.
    pub async fn readable(&self) -> io::Result<()> {
        self.inner.readable().await
    }

    /// Waits until the stream is (probably) writable.
    pub async fn writable(&self) -> io::Result<()> {
        self.inner.writable().await
    }

    /// Whether read readiness is currently set (tests of the read shortcut).
    #[cfg(all(test, any(target_os = "linux", target_os = "android")))]
    pub(crate) fn read_ready(&self) -> bool {
        self.inner.registration().read_ready()
    }
}

impl AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

crate::util::impl_stream_io!(TcpStream);
crate::util::impl_async_rw!(TcpStream);
