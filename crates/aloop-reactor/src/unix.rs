//! Async Unix-domain stream sockets: `UnixListener`, `UnixStream` (non-blocking
//! connect, `pair`), and the listener's `incoming()` stream.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSliceMut, Read, Write};
use std::net::Shutdown;
use std::os::unix::io::{AsRawFd, RawFd};
use std::os::unix::net::{self, SocketAddr};
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_io::{AsyncRead, AsyncWrite};
use socket2::{Domain, SockAddr, Socket, Type};

use crate::async_io::Async;
use crate::reactor::Reactor;
use crate::source::Dir;
use crate::sys;

/// A Unix-domain listening socket.
///
/// ```
/// use aloop_reactor::{Reactor, UnixListener, UnixStream};
///
/// let dir = std::env::temp_dir().join(format!("aloop-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("sock");
/// let _ = std::fs::remove_file(&path);
/// Reactor::new()?.block_on(async {
///     let listener = UnixListener::bind(&path)?;
///     let client = UnixStream::connect(&path).await?;
///     let (server, _addr) = listener.accept().await?;
///     client.write_all(b"hey").await?;
///     let mut buf = [0u8; 3];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hey");
///     std::io::Result::Ok(())
/// })?;
/// std::fs::remove_dir_all(&dir)?;
/// # std::io::Result::Ok(())
/// ```
pub struct UnixListener {
    inner: Async<net::UnixListener>,
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.get_ref().fmt(f)
    }
}

impl UnixListener {
    /// Binds to a filesystem path, registering with the current reactor.
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        let reactor = Reactor::current_or_err()?;
        let listener = net::UnixListener::bind(path)?;
        UnixListener::with_reactor(listener, &reactor)
    }

    /// Wraps a std listener (made non-blocking) with the current reactor.
    pub fn from_std(listener: net::UnixListener) -> io::Result<UnixListener> {
        UnixListener::with_reactor(listener, &Reactor::current_or_err()?)
    }

    fn with_reactor(listener: net::UnixListener, reactor: &Reactor) -> io::Result<UnixListener> {
        listener.set_nonblocking(true)?;
        Ok(UnixListener {
            inner: Async::from_parts(listener, reactor, false, (true, true))?,
        })
    }

    /// Deregisters and returns the std listener (still non-blocking).
    pub fn into_std(self) -> net::UnixListener {
        self.inner.into_inner()
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// Polls for one incoming connection, registered with this listener's reactor.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        let (stream, addr) = match self.inner.poll_read_with(cx, |l| l.accept()) {
            Poll::Ready(Ok(pair)) => pair,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        Poll::Ready(UnixStream::with_reactor(stream, self.inner.reactor()).map(|s| (s, addr)))
    }

    /// Accepts one connection.
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// A `Stream` of accepted connections (never ends by itself).
    pub fn incoming(&self) -> UnixIncoming<'_> {
        UnixIncoming { listener: self }
    }
}

impl AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

/// The stream returned by [`UnixListener::incoming`].
#[derive(Debug)]
pub struct UnixIncoming<'a> {
    listener: &'a UnixListener,
}

impl Stream for UnixIncoming<'_> {
    type Item = io::Result<UnixStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.listener
            .poll_accept(cx)
            .map(|r| Some(r.map(|(s, _)| s)))
    }
}

/// A Unix-domain stream connection.
///
/// ```
/// use aloop_reactor::{Reactor, UnixStream};
///
/// Reactor::new()?.block_on(async {
///     let (a, b) = UnixStream::pair()?;
///     a.write_all(b"ping").await?;
///     let mut buf = [0u8; 4];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct UnixStream {
    inner: Async<net::UnixStream>,
}

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.get_ref().fmt(f)
    }
}

impl UnixStream {
    /// Connects to the socket at `path` without blocking the thread. A full listen
    /// backlog is reported as a `WouldBlock` error rather than waited out (Linux
    /// gives no readiness event for it).
    pub async fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        let reactor = Reactor::current_or_err()?;
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
        socket.set_nonblocking(true)?;
        let connected = sys::start_connect(&socket, &SockAddr::unix(path)?)?;
        let inner = Async::from_parts(
            net::UnixStream::from(socket),
            &reactor,
            true,
            (true, connected),
        )?;
        if !connected {
            inner.finish_connect().await?;
        }
        Ok(UnixStream { inner })
    }

    /// A connected pair of sockets, registered with the current reactor.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let reactor = Reactor::current_or_err()?;
        let (a, b) = net::UnixStream::pair()?;
        Ok((
            UnixStream::with_reactor(a, &reactor)?,
            UnixStream::with_reactor(b, &reactor)?,
        ))
    }

    /// Wraps a connected std stream (made non-blocking) with the current reactor.
    pub fn from_std(stream: net::UnixStream) -> io::Result<UnixStream> {
        UnixStream::with_reactor(stream, &Reactor::current_or_err()?)
    }

    fn with_reactor(stream: net::UnixStream, reactor: &Reactor) -> io::Result<UnixStream> {
        stream.set_nonblocking(true)?;
        Ok(UnixStream {
            inner: Async::from_parts(stream, reactor, true, (true, true))?,
        })
    }

    /// Deregisters and returns the std stream (still non-blocking).
    pub fn into_std(self) -> net::UnixStream {
        self.inner.into_inner()
    }

    /// The std stream, for options not wrapped here.
    pub fn get_ref(&self) -> &net::UnixStream {
        self.inner.get_ref()
    }

    /// The local address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().local_addr()
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.get_ref().peer_addr()
    }

    /// Shuts down the read half, the write half or both.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.inner.get_ref().shutdown(how)
    }

    /// Closes the connection now although this object lives on (a Unix socket has
    /// no reset: the peer sees end-of-stream, or `EPIPE` on write); the fd number
    /// stays reserved until drop, and later reads and writes fail. Tasks waiting on
    /// the stream are woken and meet those errors. As [`TcpStream::reset`](crate::TcpStream::reset).
    pub fn reset(&self) -> io::Result<()> {
        self.inner.close_in_place()
    }

    /// Polls a read into `buf`. A read that can complete costs one syscall; after
    /// the queue is drained the next read pays one `WouldBlock` before waiting: a
    /// Unix stream read also stops short at a message carrying descriptors, so a
    /// short read does not prove the queue empty as a TCP one does.
    pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.inner.poll_read_with(cx, |mut s| s.read(buf))
    }

    /// Polls a write-side operation of your own on the socket (say `sendfile(2)`):
    /// runs `op` when the socket is writable, and on `WouldBlock` waits for the next
    /// write readiness.
    pub fn poll_write_with<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&net::UnixStream) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.inner.poll_write_with(cx, op)
    }

    /// Polls a scattering read into `bufs` in turn (one `readv`); see
    /// [`TcpStream::poll_read_vectored`](crate::TcpStream::poll_read_vectored).
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::io::IoSliceMut;
    /// use aloop_reactor::{Reactor, UnixStream};
    ///
    /// Reactor::new()?.block_on(async {
    ///     let (a, b) = UnixStream::pair()?;
    ///     a.write_all(b"len:payload").await?;
    ///     let (mut head, mut rest) = ([0u8; 4], [0u8; 32]);
    ///     let bufs = &mut [IoSliceMut::new(&mut head), IoSliceMut::new(&mut rest)];
    ///     let n = poll_fn(|cx| b.poll_read_vectored(cx, &mut bufs[..])).await?;
    ///     assert_eq!(n, 11); // one write on a Unix stream is queued whole
    ///     assert_eq!((&head, &rest[..7]), (b"len:", &b"payload"[..]));
    ///     std::io::Result::Ok(())
    /// })?;
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_read_with(cx, |mut s| s.read_vectored(bufs))
    }
}

impl AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> RawFd {
        self.inner.as_raw_fd()
    }
}

crate::util::impl_stream_io!(UnixStream);
crate::util::impl_async_rw!(UnixStream);
