//! The byte streams a `RawStream` (`raw_stream.rs`) carries: a connected TCP or Unix
//! socket, or one end of a child process's pipe (`subprocess/`), each read and written
//! through `&self` polls; and `sendfile_once`, one `sendfile(2)` for `loop.sendfile`.
//! The TLS session (`tls/session.rs`) reads and writes these too.

#[cfg(feature = "process")]
use std::cell::RefCell;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::task::{Context, Poll};

use aloop_reactor::{TcpStream, UnixStream};

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

    /// `Pending` (the task registered for the wake-up) while a socket is not readable;
    /// a child's pipe always answers `Ready` (its read finds out).
    #[inline]
    pub(crate) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self {
            Socket::Tcp(s, _) => s.poll_read_ready(cx),
            Socket::Unix(s) => s.poll_read_ready(cx),
            #[cfg(feature = "process")]
            Socket::Child(_) => Poll::Ready(Ok(())),
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

    /// Ends the connection now, as asyncio's `transport.abort()` closes its socket: a
    /// TCP peer sees a reset (SO_LINGER 0), a Unix one the end, although the reader,
    /// the writer and any transport handle live on (the fd number stays reserved
    /// until the last of them drops). Tasks waiting on the socket are woken. A child's
    /// stdin closes at once. (`StreamWriter::abort`.)
    pub(crate) fn abort(&self) {
        match self {
            // Without an fd for the placeholder (EMFILE) the socket stays until its
            // last handle drops; shutting reading down still wakes a waiting read.
            Socket::Tcp(s, _) => {
                if s.reset().is_err() {
                    let _ = s.shutdown(Shutdown::Read);
                }
            }
            Socket::Unix(s) => {
                if s.reset().is_err() {
                    let _ = s.shutdown(Shutdown::Read);
                }
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
