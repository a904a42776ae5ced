//! The byte stream under a reader/writer pair: a TCP or Unix socket, shared by one `Rc`
//! between the `StreamReader` (which pulls from it) and the `StreamWriter` (which
//! pushes to it), or one end of a child process's pipe (`subprocess/`), which only one
//! of the two uses. Both sides take `&self` on a socket, so no `RefCell` is needed
//! around it; only a child's stdin has one, because closing a pipe means dropping it.
//! The streams themselves (`Socket`) are `socket.rs`.
//!
//! With the `tls` feature, a socket may carry a TLS session (`tls/session.rs`), set
//! once, at connect or accept or later by `start_tls`: every read and write then goes
//! through it. It sits in a slot of its own rather than in a variant, because
//! `start_tls` upgrades a connection whose reader and writer already share this value.
//!
//! Once our side ends the connection for reading (the writer's `close` or `abort`),
//! reads return end-of-stream without asking the socket, as asyncio's transport stops
//! reading at close: bytes the peer sent after that are not delivered, and the reader
//! can tell it is at its end at once (`StreamReader::at_eof`).

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::task::{Context, Poll};

use aloop_reactor::{TcpStream, UnixStream};

#[cfg(feature = "process")]
pub(crate) use super::socket::ChildPipe;
pub(crate) use super::socket::Socket;

/// A connected stream socket or a child's pipe, and the TLS session over it, if any.
#[derive(Debug)]
pub(crate) struct RawStream {
    socket: Socket,
    /// Our side ended reading (`shutdown(Read | Both)` or `abort`).
    reading_ended: std::cell::Cell<bool>,
    #[cfg(feature = "tls")]
    tls: std::cell::OnceCell<Box<crate::tls::session::TlsSession>>,
}

impl From<Socket> for RawStream {
    fn from(socket: Socket) -> RawStream {
        RawStream {
            socket,
            reading_ended: std::cell::Cell::new(false),
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

    /// Whether our side ended reading: every read is end-of-stream from now on.
    #[inline]
    pub(crate) fn reading_ended(&self) -> bool {
        self.reading_ended.get()
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
        if self.reading_ended.get() {
            return Poll::Ready(Ok(0));
        }
        #[cfg(feature = "tls")]
        if let Some(tls) = self.tls() {
            return tls.poll_read(&self.socket, cx, buf);
        }
        self.socket.poll_read(cx, buf)
    }

    /// `Pending`, with the task registered for the socket's next readiness, when a
    /// read would certainly wait: a plain socket that is not readable. A TLS session
    /// may hold decrypted bytes whatever the socket says, and an ended reader answers
    /// at once: both are `Ready` here (the read itself decides).
    #[inline]
    pub(crate) fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.reading_ended.get() {
            return Poll::Ready(Ok(()));
        }
        #[cfg(feature = "tls")]
        if self.tls().is_some() {
            return Poll::Ready(Ok(()));
        }
        self.socket.poll_read_ready(cx)
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
        if how != Shutdown::Write {
            self.reading_ended.set(true);
        }
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
        self.reading_ended.set(true);
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
