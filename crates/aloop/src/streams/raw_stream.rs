//! The byte stream under a reader/writer pair: a TCP or Unix socket, shared by one `Rc`
//! between the `StreamReader` (which pulls from it) and the `StreamWriter` (which
//! pushes to it), or one end of a child process's pipe (`subprocess/`), which only one
//! of the two uses. Both sides take `&self` on a socket, so no `RefCell` is needed
//! around it; only a child's stdin has one, because closing a pipe means dropping it.
//!
//! With the `tls` feature, a socket may carry a TLS session (`tls/session.rs`), set
//! once, at connect or accept or later by `start_tls`: every read and write then goes
//! through it. It sits in a slot of its own rather than in a variant, because
//! `start_tls` upgrades a connection whose reader and writer already share this value.

#[cfg(feature = "process")]
use std::cell::RefCell;
use std::io::{self, IoSliceMut};
use std::net::{Shutdown, SocketAddr};
use std::task::{Context, Poll};

use aloop_reactor::{TcpStream, UnixStream};

/// A connected stream socket or a child's pipe, and the TLS session over it, if any.
#[derive(Debug)]
pub(crate) struct RawStream {
    socket: Socket,
    #[cfg(feature = "tls")]
    tls: std::cell::OnceCell<Box<crate::tls::session::TlsSession>>,
}

/// A connected stream socket, or a child's pipe.
#[derive(Debug)]
pub(crate) enum Socket {
    /// With the peer's address as `connect` or `accept` gave it: asked later, the OS
    /// has forgotten it once the connection is reset.
    Tcp(TcpStream, SocketAddr),
    Unix(UnixStream),
    /// One arm for the three pipes, so the sockets' matches stay two-way plus one.
    #[cfg(feature = "process")]
    Child(ChildPipe),
}

/// One end of a child process's standard stream.
#[cfg(feature = "process")]
#[derive(Debug)]
pub(crate) enum ChildPipe {
    /// The child's stdin; `None` once closed.
    Stdin(RefCell<Option<aloop_process::ChildStdin>>),
    Stdout(aloop_process::ChildStdout),
    Stderr(aloop_process::ChildStderr),
}

impl From<Socket> for RawStream {
    fn from(socket: Socket) -> RawStream {
        RawStream {
            socket,
            #[cfg(feature = "tls")]
            tls: std::cell::OnceCell::new(),
        }
    }
}

impl RawStream {
    pub(crate) fn tcp(stream: TcpStream, peer: SocketAddr) -> RawStream {
        Socket::Tcp(stream, peer).into()
    }

    pub(crate) fn unix(stream: UnixStream) -> RawStream {
        Socket::Unix(stream).into()
    }

    #[cfg(feature = "process")]
    pub(crate) fn child(pipe: ChildPipe) -> RawStream {
        Socket::Child(pipe).into()
    }

    /// The socket under the TLS session (the handshake reads and writes it).
    #[cfg(feature = "tls")]
    pub(crate) fn socket(&self) -> &Socket {
        &self.socket
    }

    /// The TLS session, once set.
    #[cfg(feature = "tls")]
    #[inline]
    pub(crate) fn tls(&self) -> Option<&crate::tls::session::TlsSession> {
        self.tls.get().map(|t| &**t)
    }

    /// Puts a session whose handshake is done over this socket; from now on every
    /// read and write goes through it. `AlreadyExists` if one is set (TLS over TLS is
    /// not supported).
    #[cfg(feature = "tls")]
    pub(crate) fn set_tls(&self, session: crate::tls::session::TlsSession) -> io::Result<()> {
        self.tls.set(Box::new(session)).map_err(|_| {
            io::Error::new(
                io::ErrorKind::AlreadyExists,
                "this connection already uses TLS",
            )
        })
    }

    #[inline]
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        #[cfg(feature = "tls")]
        if let Some(tls) = self.tls() {
            return tls.poll_read(&self.socket, cx, buf);
        }
        self.socket.poll_read(cx, buf)
    }

    /// One scattering read into `bufs` in turn (see `pull.rs` for why).
    #[inline]
    pub(crate) fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        #[cfg(feature = "tls")]
        if let Some(tls) = self.tls() {
            return tls.poll_read_vectored(&self.socket, cx, bufs);
        }
        self.socket.poll_read_vectored(cx, bufs)
    }

    #[inline]
    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        #[cfg(feature = "tls")]
        if let Some(tls) = self.tls() {
            return tls.poll_write(&self.socket, cx, buf);
        }
        self.socket.poll_write(cx, buf)
    }

    /// Whether bytes already accepted by `poll_write` (or an ending asked by
    /// `shutdown`) still wait to reach the socket: TLS records a full socket did not
    /// take. Always `false` without TLS.
    #[inline]
    pub(crate) fn has_pending_output(&self) -> bool {
        #[cfg(feature = "tls")]
        if let Some(tls) = self.tls() {
            return tls.has_pending_output();
        }
        false
    }

    /// Sends what `has_pending_output` reports, then carries out an ending `shutdown`
    /// asked for; `Ready(Ok)` at once without TLS.
    #[inline]
    pub(crate) fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        #[cfg(feature = "tls")]
        if let Some(tls) = self.tls() {
            return tls.poll_flush(&self.socket, cx);
        }
        let _ = cx;
        Poll::Ready(Ok(()))
    }

    /// How long an ending TLS session may wait for its close_notify to leave
    /// (asyncio's `ssl_shutdown_timeout`) before the connection is aborted; `None`
    /// without TLS.
    pub(crate) fn shutdown_timeout(&self) -> Option<std::time::Duration> {
        #[cfg(feature = "tls")]
        if let Some(tls) = self.tls() {
            return Some(tls.shutdown_timeout());
        }
        None
    }

    /// Shuts a direction down; "not connected" (the peer already went away) is not an
    /// error here, the socket is as closed as it will get. Over TLS, ending our
    /// direction sends close_notify first: the socket's own shutdown follows once that
    /// record is out (`has_pending_output` until then).
    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        #[cfg(feature = "tls")]
        if let Some(tls) = self.tls() {
            return tls.shutdown(&self.socket, how);
        }
        self.socket.shutdown(how)
    }

    /// Makes the connection end with a reset instead of a FIN when its descriptor
    /// closes (SO_LINGER 0), and ends our reading now: a pending read sees
    /// end-of-stream. A child's stdin closes at once. (`StreamWriter::abort`.) A TLS
    /// session sends no close_notify: an abort is not an orderly end.
    pub(crate) fn abort(&self) {
        #[cfg(feature = "tls")]
        if let Some(tls) = self.tls() {
            tls.abort();
        }
        self.socket.abort()
    }

    /// One `sendfile(2)` of up to `count` bytes of `file` from `offset`, when the
    /// socket is writable; `Unsupported` for a pipe, over TLS (the bytes must be
    /// encrypted in user space) or where the OS has no `sendfile` (the caller then
    /// reads and writes instead).
    pub(crate) fn poll_sendfile(
        &self,
        cx: &mut Context<'_>,
        file: &std::fs::File,
        offset: u64,
        count: usize,
    ) -> Poll<io::Result<usize>> {
        #[cfg(feature = "tls")]
        if self.tls().is_some() {
            return Poll::Ready(Err(io::ErrorKind::Unsupported.into()));
        }
        self.socket.poll_sendfile(cx, file, offset, count)
    }

    pub(crate) fn peer_addr(&self) -> Option<SocketAddr> {
        self.socket.peer_addr()
    }

    pub(crate) fn local_addr(&self) -> Option<SocketAddr> {
        self.socket.local_addr()
    }

    pub(crate) fn unix_peer_addr(&self) -> Option<std::os::unix::net::SocketAddr> {
        self.socket.unix_peer_addr()
    }

    pub(crate) fn unix_local_addr(&self) -> Option<std::os::unix::net::SocketAddr> {
        self.socket.unix_local_addr()
    }
}

impl Socket {
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self {
            Socket::Tcp(s, _) => s.poll_read(cx, buf),
            Socket::Unix(s) => s.poll_read(cx, buf),
            #[cfg(feature = "process")]
            Socket::Child(p) => p.poll_read(cx, buf),
        }
    }

    /// One scattering read into `bufs` in turn (see `pull.rs` for why).
    pub(crate) fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        match self {
            Socket::Tcp(s, _) => s.poll_read_vectored(cx, bufs),
            Socket::Unix(s) => s.poll_read_vectored(cx, bufs),
            #[cfg(feature = "process")]
            Socket::Child(p) => p.poll_read_vectored(cx, bufs),
        }
    }

    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self {
            Socket::Tcp(s, _) => s.poll_write(cx, buf),
            Socket::Unix(s) => s.poll_write(cx, buf),
            #[cfg(feature = "process")]
            Socket::Child(p) => p.poll_write(cx, buf),
        }
    }

    /// One gathering write of `bufs` (TLS sends its records so); a child's stdin
    /// takes the first non-empty buffer.
    #[cfg(feature = "tls")]
    pub(crate) fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self {
            Socket::Tcp(s, _) => s.poll_write_vectored(cx, bufs),
            Socket::Unix(s) => s.poll_write_vectored(cx, bufs),
            #[cfg(feature = "process")]
            Socket::Child(p) => {
                let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| b);
                p.poll_write(cx, first)
            }
        }
    }

    /// Shuts a direction down; "not connected" (the peer already went away) is not an
    /// error here, the socket is as closed as it will get.
    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let r = match self {
            Socket::Tcp(s, _) => s.shutdown(how),
            Socket::Unix(s) => s.shutdown(how),
            #[cfg(feature = "process")]
            Socket::Child(p) => {
                p.close();
                Ok(())
            }
        };
        match r {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            r => r,
        }
    }

    /// Makes the connection end with a reset instead of a FIN when its descriptor
    /// closes (SO_LINGER 0), and ends our reading now: a pending read sees
    /// end-of-stream. A child's stdin closes at once. (`StreamWriter::abort`.)
    pub(crate) fn abort(&self) {
        let linger = Some(std::time::Duration::ZERO);
        match self {
            Socket::Tcp(s, _) => {
                let _ = socket2::SockRef::from(s.get_ref()).set_linger(linger);
                let _ = s.shutdown(Shutdown::Read);
            }
            Socket::Unix(s) => {
                let _ = s.shutdown(Shutdown::Read);
            }
            #[cfg(feature = "process")]
            Socket::Child(p) => p.close(),
        }
    }

    /// One `sendfile(2)` of up to `count` bytes of `file` from `offset`, when the
    /// socket is writable; `Unsupported` for a pipe or where the OS has no
    /// `sendfile` (the caller then reads and writes instead).
    pub(crate) fn poll_sendfile(
        &self,
        cx: &mut Context<'_>,
        file: &std::fs::File,
        offset: u64,
        count: usize,
    ) -> Poll<io::Result<usize>> {
        use std::os::unix::io::AsRawFd;
        let send = |out: std::os::unix::io::RawFd| sendfile_once(out, file, offset, count);
        match self {
            Socket::Tcp(s, _) => s.poll_write_with(cx, |s| send(s.as_raw_fd())),
            Socket::Unix(s) => s.poll_write_with(cx, |s| send(s.as_raw_fd())),
            #[cfg(feature = "process")]
            Socket::Child(_) => Poll::Ready(Err(io::ErrorKind::Unsupported.into())),
        }
    }

    pub(crate) fn peer_addr(&self) -> Option<SocketAddr> {
        match self {
            Socket::Tcp(_, peer) => Some(*peer),
            _ => None,
        }
    }

    pub(crate) fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Socket::Tcp(s, _) => s.local_addr().ok(),
            _ => None,
        }
    }

    pub(crate) fn unix_peer_addr(&self) -> Option<std::os::unix::net::SocketAddr> {
        match self {
            Socket::Unix(s) => s.peer_addr().ok(),
            _ => None,
        }
    }

    pub(crate) fn unix_local_addr(&self) -> Option<std::os::unix::net::SocketAddr> {
        match self {
            Socket::Unix(s) => s.local_addr().ok(),
            _ => None,
        }
    }
}

/// Kept out of line: the sockets' paths above are the hot ones.
#[cfg(feature = "process")]
impl ChildPipe {
    #[inline(never)]
    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        match self {
            ChildPipe::Stdout(p) => p.poll_read(cx, buf),
            ChildPipe::Stderr(p) => p.poll_read(cx, buf),
            ChildPipe::Stdin(_) => Poll::Ready(Err(wrong_way())),
        }
    }

    #[inline(never)]
    fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        match self {
            ChildPipe::Stdout(p) => p.poll_read_vectored(cx, bufs),
            ChildPipe::Stderr(p) => p.poll_read_vectored(cx, bufs),
            ChildPipe::Stdin(_) => Poll::Ready(Err(wrong_way())),
        }
    }

    #[inline(never)]
    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self {
            ChildPipe::Stdin(p) => match &*p.borrow() {
                Some(p) => p.poll_write(cx, buf),
                None => Poll::Ready(Err(closed_stdin())),
            },
            ChildPipe::Stdout(_) | ChildPipe::Stderr(_) => Poll::Ready(Err(wrong_way())),
        }
    }

    /// A pipe has no half-close: closing our stdin end is the end of the child's input.
    /// A reading end closes when its reader drops it.
    fn close(&self) {
        if let ChildPipe::Stdin(p) = self {
            drop(p.borrow_mut().take());
        }
    }
}

/// The error for reading a write-only pipe or writing a read-only one: the facade
/// never does either (each pipe gets only the reader or only the writer).
#[cfg(feature = "process")]
fn wrong_way() -> io::Error {
    io::Error::new(io::ErrorKind::Unsupported, "this pipe goes the other way")
}

#[cfg(feature = "process")]
fn closed_stdin() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the child's stdin was closed")
}

/// One `sendfile(2)` of up to `count` bytes of `file` from `offset` to `out`.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn sendfile_once(
    out: std::os::unix::io::RawFd,
    file: &std::fs::File,
    offset: u64,
    count: usize,
) -> io::Result<usize> {
    let mut off = libc::off_t::try_from(offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "offset too large"))?;
    // SAFETY: both descriptors are open for the duration of the call (`out` is
    // borrowed from a live socket, `file` is borrowed), and `off` is a valid, writable
    // off_t that the kernel advances.
    let n = unsafe {
        libc::sendfile(
            out,
            std::os::unix::io::AsRawFd::as_raw_fd(file),
            &mut off,
            count,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// Where the OS has no Linux-style `sendfile`, the callers fall back to read + send.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn sendfile_once(
    _out: std::os::unix::io::RawFd,
    _file: &std::fs::File,
    _offset: u64,
    _count: usize,
) -> io::Result<usize> {
    Err(io::ErrorKind::Unsupported.into())
}
