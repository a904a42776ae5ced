//! `Async<T>`: wraps any owned fd-backed I/O object, registers it with a reactor once
//! (edge-triggered) and turns its non-blocking operations into futures; implements
//! `futures-io`'s `AsyncRead`/`AsyncWrite` for readers and writers.

use std::fmt;
use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::os::unix::io::{AsFd, AsRawFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

use crate::reactor::Reactor;
use crate::registration::Registration;
use crate::source::Dir;
use crate::sys;

/// An I/O object made asynchronous: registered with a [`Reactor`] and put in
/// non-blocking mode.
///
/// `Async::new` uses the thread's current reactor ([`Reactor::enter`], or the one an
/// aloop event loop or [`Reactor::block_on`] entered); [`Async::with_reactor`] names
/// one explicitly. The fd is registered once, edge-triggered, and deregistered when
/// the `Async` is dropped (before the inner object closes the fd).
///
/// Readiness is a flag per direction, set by the reactor and cleared only when an
/// operation returns `WouldBlock` (or, on stream fds, when a short write proves the
/// send buffer full). So do I/O through [`read_with`] / [`write_with`] (or the
/// `AsyncRead`/`AsyncWrite` impls), not by calling `get_ref()` after [`readable`]:
/// `readable()` resolves at once while the flag is set, and only those methods
/// clear it.
///
/// [`read_with`]: Async::read_with
/// [`write_with`]: Async::write_with
/// [`readable`]: Async::readable
///
/// ```
/// use std::io::{Read, Write};
/// use std::os::unix::net::UnixStream;
/// use aloop_reactor::{Async, Reactor};
///
/// let reactor = Reactor::new()?;
/// reactor.block_on(async {
///     let (a, b) = UnixStream::pair()?;
///     let a = Async::new(a)?;
///     let b = Async::new(b)?;
///     a.write_with(|mut s| s.write(b"hello")).await?;
///     let mut buf = [0u8; 16];
///     let n = b.read_with(|mut s| s.read(&mut buf)).await?;
///     assert_eq!(&buf[..n], b"hello");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct Async<T> {
    // Declared first so it drops first: deregister before the fd is closed.
    reg: Registration,
    io: T,
}

impl<T: fmt::Debug> fmt::Debug for Async<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Async").field("io", &self.io).finish()
    }
}

impl<T: AsRawFd> Async<T> {
    /// Registers `io` with the current reactor and makes it non-blocking.
    ///
    /// Fails with an error saying what to do if no reactor is current on this
    /// thread, and with the OS error (e.g. `EBADF`) if registration fails.
    pub fn new(io: T) -> io::Result<Async<T>> {
        Async::with_reactor(io, &Reactor::current_or_err()?)
    }

    /// Registers `io` with `reactor` and makes it non-blocking.
    pub fn with_reactor(io: T, reactor: &Reactor) -> io::Result<Async<T>> {
        let fd = io.as_raw_fd();
        if fd < 0 {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        sys::set_nonblocking(fd)?;
        let stream = sys::is_stream(fd);
        Async::from_parts(io, reactor, stream, (true, true))
    }

    /// Registers an fd already known to be non-blocking, with known stream-ness and
    /// initial readiness (a connecting socket starts not writable).
    pub(crate) fn from_parts(
        io: T,
        reactor: &Reactor,
        stream: bool,
        ready: (bool, bool),
    ) -> io::Result<Async<T>> {
        let reg = Registration::new_edge(reactor, io.as_raw_fd(), stream, ready)?;
        Ok(Async { reg, io })
    }
}

impl<T> Async<T> {
    /// The inner I/O object.
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// The inner I/O object, mutably. Do not replace or close its fd: it stays
    /// registered under the old number.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.io
    }

    /// Deregisters and returns the inner object (still in non-blocking mode).
    pub fn into_inner(self) -> T {
        let Async { reg, io } = self;
        drop(reg);
        io
    }

    /// The reactor this object is registered with.
    pub fn reactor(&self) -> &Reactor {
        self.reg.reactor()
    }

    pub(crate) fn registration(&self) -> &Registration {
        &self.reg
    }

    /// Polls until the object is (probably) readable. Resolves at once while the
    /// read readiness flag is set; see the type docs.
    pub fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.reg.poll_ready(Dir::Read, cx)
    }

    /// Polls until the object is (probably) writable.
    pub fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.reg.poll_ready(Dir::Write, cx)
    }

    /// Waits until the object is (probably) readable.
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_readable(cx)).await
    }

    /// Waits until the object is (probably) writable.
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_writable(cx)).await
    }

    /// Polls a non-blocking read-side operation: runs `op` when readable, and on
    /// `WouldBlock` clears readiness and waits for the next event.
    pub fn poll_read_with<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let mut op = op;
        self.reg.poll_io(Dir::Read, cx, || op(&self.io), |_| false)
    }

    /// Polls a non-blocking write-side operation; see [`Async::poll_read_with`].
    pub fn poll_write_with<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let mut op = op;
        self.reg.poll_io(Dir::Write, cx, || op(&self.io), |_| false)
    }

    /// Runs a non-blocking read-side operation until it stops returning
    /// `WouldBlock`. If it succeeds at once, it costs no reactor work at all.
    pub async fn read_with<R>(&self, op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        let mut op = op;
        poll_fn(|cx| self.poll_read_with(cx, &mut op)).await
    }

    /// Like [`Async::read_with`] with mutable access to the inner object.
    pub async fn read_with_mut<R>(
        &mut self,
        op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        let mut op = op;
        let Async { reg, io } = self;
        poll_fn(|cx| reg.poll_io(Dir::Read, cx, || op(io), |_| false)).await
    }

    /// Runs a non-blocking write-side operation until it stops returning
    /// `WouldBlock`.
    pub async fn write_with<R>(&self, op: impl FnMut(&T) -> io::Result<R>) -> io::Result<R> {
        let mut op = op;
        poll_fn(|cx| self.poll_write_with(cx, &mut op)).await
    }

    /// Like [`Async::write_with`] with mutable access to the inner object.
    pub async fn write_with_mut<R>(
        &mut self,
        op: impl FnMut(&mut T) -> io::Result<R>,
    ) -> io::Result<R> {
        let mut op = op;
        let Async { reg, io } = self;
        poll_fn(|cx| reg.poll_io(Dir::Write, cx, || op(io), |_| false)).await
    }

    /// Runs `op` with readiness handling; `drained` may prove from the result that
    /// the kernel buffer is empty/full so readiness can be cleared at once.
    pub(crate) fn poll_io<R>(
        &self,
        dir: Dir,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        self.reg.poll_io(dir, cx, || op(&self.io), drained)
    }

    /// Writes `buf` through `write`; a short write on a stream fd clears write
    /// readiness (the send buffer is full; freed space produces a new edge).
    pub(crate) fn poll_write_buf(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        mut write: impl FnMut(&T, &[u8]) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let len = buf.len();
        self.poll_io(Dir::Write, cx, |io| write(io, buf), |&n| n > 0 && n < len)
    }
}

impl<T: AsRawFd> Async<T> {
    /// Closes the connection under this object now, keeping the fd number reserved:
    /// the registration ends (waiting tasks are woken), then an unconnected socket is
    /// put in the fd's place (`dup2`), which releases the connection's socket as a
    /// `close` would (a reset if `SO_LINGER` is 0). Later reads and writes fail with
    /// the unconnected socket's errors (`ENOTCONN`, `EPIPE`); the placeholder closes
    /// when this object drops. The number is not freed early, so nothing can reuse it
    /// while this object still refers to it.
    ///
    /// If the placeholder cannot be made (no fd left), nothing has changed yet.
    pub(crate) fn close_in_place(&self) -> io::Result<()> {
        let placeholder = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None)?;
        self.registration().end_now();
        let fd = self.get_ref().as_raw_fd();
        // SAFETY: `dup2` only manipulates the fd table: `fd` is open (owned by
        // `self.io` until drop) and so is the placeholder's; afterwards `fd` refers
        // to the placeholder's socket and is still owned, and closed, by `self.io`.
        // The placeholder's own fd is closed when `placeholder` drops.
        if unsafe { libc::dup2(placeholder.as_raw_fd(), fd) } < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl<T: AsFd> Async<T> {
    /// Waits for an in-progress connect (`sys::start_connect`) to finish:
    /// writability, then `SO_ERROR` (the connect's real outcome, e.g.
    /// `ConnectionRefused`), then `getpeername` to tell a finished connect from a
    /// spurious wake-up.
    pub(crate) async fn finish_connect(&self) -> io::Result<()> {
        self.write_with(|io| {
            let sock = socket2::SockRef::from(io);
            if let Some(e) = sock.take_error()? {
                return Err(e);
            }
            match sock.peer_addr() {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                    Err(io::ErrorKind::WouldBlock.into())
                }
                Err(e) => Err(e),
            }
        })
        .await
    }
}

impl<T> AsRawFd for Async<T> {
    fn as_raw_fd(&self) -> RawFd {
        self.reg.fd()
    }
}

impl<T: Read + Unpin> AsyncRead for Async<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        // No read shortcut here: a short read does not prove the next one would
        // block (an end-of-stream may be queued behind the data, with no edge to
        // follow), and a generic reader has no way to tell.
        let Async { reg, io } = self.get_mut();
        reg.poll_io(Dir::Read, cx, || io.read(buf), |_| false)
    }
}

impl<T> AsyncRead for &Async<T>
where
    for<'a> &'a T: Read,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_with(cx, |mut io| io.read(buf))
    }
}

impl<T: Write + Unpin> AsyncWrite for Async<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let Async { reg, io } = self.get_mut();
        let len = buf.len();
        reg.poll_io(Dir::Write, cx, || io.write(buf), |&n| n > 0 && n < len)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Async { reg, io } = self.get_mut();
        reg.poll_io(Dir::Write, cx, || io.flush(), |_| false)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

impl<T> AsyncWrite for &Async<T>
where
    for<'a> &'a T: Write,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_buf(cx, buf, |mut io, b| io.write(b))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_write_with(cx, |mut io| io.flush())
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}
