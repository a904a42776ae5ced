//! The TLS session over a socket (`streams/raw_stream.rs` holds one once its handshake
//! is done): plaintext in and out through `&self` polls, as the socket's own, so the
//! streams' reader, send queue and the protocols' read loop use TLS unchanged.
//!
//! Reads go to the socket only when rustls holds no decrypted bytes, and then into
//! the session's own read-ahead buffer (`ReadAhead`), which rustls is fed from;
//! writes encrypt at most `MAX_ENCRYPT` bytes per call and first send what earlier
//! calls left, so the records waiting in the session stay bounded and the send queue
//! above keeps the back-pressure (`drain`). The records go out in one gathering write.
//! Records the socket did not take are `has_pending_output`; the send queue's flusher
//! finishes them through `poll_flush`. An ending asked by `shutdown` queues
//! close_notify and shuts the socket once that record is out.
//!
//! The reader's and the writer's tasks each pass their own `Context`; the reactor keeps
//! a waker per task and direction, so a read that must send (an alert, a key update)
//! never takes the writer's wake-up away.

use std::cell::{Cell, RefCell};
use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::Connection;

use super::error::TlsError;
use super::info::TlsInfo;
use crate::streams::socket::Socket;

/// Plaintext encrypted per `poll_write`: four full records.
const MAX_ENCRYPT: usize = 64 * 1024;

/// Ciphertext read from the socket per `recv` once the handshake is done: the largest
/// record TLS allows on the wire (16 KiB of plaintext, 2 KiB of expansion, the 5-byte
/// header), so a full record (16,406 bytes with TLS 1.3's AES-GCM) takes one read.
const READ_AHEAD: usize = 16 * 1024 + 2048 + 5;

/// Ciphertext taken from the socket that rustls has not read yet. rustls's
/// `read_tls` reads at most 4 KiB per call, and starts every record with a 4 KiB
/// read: read through it, a full 16 KiB record costs five `recv`s; read into here,
/// one, and rustls takes its 4 KiB pieces from memory (tokio-rustls reads through
/// `read_tls`; the `tls-echo` cell of docs/benchmarks.md compares). Allocated at the first read after the handshake and kept with the
/// session (18 KiB), as asyncio's SSL transport keeps its (larger) read buffer.
#[derive(Default)]
struct ReadAhead {
    buf: Vec<u8>,
    /// `buf[start..end]` is what rustls has yet to read.
    start: usize,
    end: usize,
}

pub(crate) struct TlsSession {
    conn: RefCell<Connection>,
    read_ahead: RefCell<ReadAhead>,
    /// A socket shutdown to carry out once close_notify is sent.
    pending_shutdown: Cell<Option<Shutdown>>,
    close_notify_sent: Cell<bool>,
    shutdown_timeout: Duration,
    /// The name this client asked for (SNI); a server reads the peer's from rustls.
    server_name: Option<String>,
}

impl std::fmt::Debug for TlsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsSession")
            .field("server_name", &self.server_name)
            .field("close_notify_sent", &self.close_notify_sent.get())
            .finish()
    }
}

/// The socket as `io::Read`/`io::Write` for rustls: `WouldBlock` where the poll is
/// pending (its waker is then registered for `cx`'s task).
struct SocketIo<'a, 'b> {
    socket: &'a Socket,
    cx: &'a mut Context<'b>,
}

impl Read for SocketIo<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.socket.poll_read(self.cx, buf) {
            Poll::Ready(r) => r,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}

impl Write for SocketIo<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.socket.poll_write(self.cx, buf) {
            Poll::Ready(r) => r,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    /// rustls hands every record it has waiting at once: one `writev` for them all
    /// rather than a `send` each.
    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let poll = match bufs {
            [one] => self.socket.poll_write(self.cx, one),
            _ => self.socket.poll_write_vectored(self.cx, bufs),
        };
        match poll {
            Poll::Ready(r) => r,
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A rustls failure as the `io::Error` the stream returns.
fn tls_failure(e: rustls::Error) -> io::Error {
    TlsError::from_rustls(e).into()
}

/// Sends the records rustls holds until none is left (`Ready(Ok)`) or the socket is
/// full (`Pending`, woken for `cx`'s task).
fn flush_records(
    conn: &mut Connection,
    socket: &Socket,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    while conn.wants_write() {
        match conn.write_tls(&mut SocketIo { socket, cx }) {
            Ok(0) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
    Poll::Ready(Ok(()))
}

impl TlsSession {
    pub(crate) fn new(
        conn: Connection,
        shutdown_timeout: Duration,
        server_name: Option<String>,
    ) -> TlsSession {
        TlsSession {
            conn: RefCell::new(conn),
            read_ahead: RefCell::default(),
            pending_shutdown: Cell::new(None),
            close_notify_sent: Cell::new(false),
            shutdown_timeout,
            server_name,
        }
    }

    pub(crate) fn shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
    }

    /// One step of the handshake: `Ready(Ok)` once it is done and every record it
    /// made (a TLS 1.3 server's session tickets included) has left.
    pub(crate) fn poll_handshake(
        &self,
        socket: &Socket,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<()>> {
        let mut conn = self.conn.borrow_mut();
        loop {
            let flushed = flush_records(&mut conn, socket, cx);
            if let Poll::Ready(Err(e)) = flushed {
                return Poll::Ready(Err(e));
            }
            if !conn.is_handshaking() {
                return flushed;
            }
            if !conn.wants_read() {
                // Only writing is left to do, and the socket is full.
                return Poll::Pending;
            }
            match conn.read_tls(&mut SocketIo { socket, cx }) {
                Ok(0) => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the peer closed the connection during the TLS handshake",
                    )))
                }
                Ok(_) => {
                    if let Err(e) = conn.process_new_packets() {
                        // Best effort: tell the peer why (the alert rustls queued).
                        let _ = flush_records(&mut conn, socket, cx);
                        return Poll::Ready(Err(tls_failure(e)));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Poll::Pending,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    pub(crate) fn poll_read(
        &self,
        socket: &Socket,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let mut conn = self.conn.borrow_mut();
        loop {
            // Decrypted bytes first; `Ok(0)` is the peer's close_notify.
            match conn.reader().read(buf) {
                Ok(n) => return Poll::Ready(Ok(n)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Poll::Ready(Err(TlsError::truncated().into()))
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
            match self.read_ciphertext(&mut conn, socket, cx) {
                // End of the socket: rustls now answers the read above with
                // close_notify's end or with truncation.
                Poll::Ready(Ok(0)) => {}
                Poll::Ready(Ok(_)) => {
                    let processed = conn.process_new_packets();
                    if conn.wants_write() {
                        // An alert, or an answer to a key update.
                        let _ = flush_records(&mut conn, socket, cx);
                    }
                    if let Err(e) = processed {
                        return Poll::Ready(Err(tls_failure(e)));
                    }
                }
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Gives rustls the next piece of ciphertext: from the read-ahead buffer, which
    /// one socket read refills when it is empty. `Ok(0)` once the socket has ended
    /// (rustls then knows it) or rustls takes no more (after close_notify).
    fn read_ciphertext(
        &self,
        conn: &mut Connection,
        socket: &Socket,
        cx: &mut Context<'_>,
    ) -> Poll<io::Result<usize>> {
        let mut ahead = self.read_ahead.borrow_mut();
        let ReadAhead { buf, start, end } = &mut *ahead;
        if start == end {
            if buf.is_empty() {
                buf.resize(READ_AHEAD, 0);
            }
            let n = std::task::ready!(socket.poll_read(cx, buf))?;
            if n == 0 {
                // An empty reader is the end of the stream to rustls.
                return Poll::Ready(conn.read_tls(&mut io::empty()));
            }
            (*start, *end) = (0, n);
        }
        // Never an empty slice here: rustls would take it for the socket's end.
        let n = conn.read_tls(&mut &buf[*start..*end])?;
        *start += n;
        Poll::Ready(Ok(n))
    }

    /// Encrypts up to `MAX_ENCRYPT` bytes of `buf` once the records of earlier calls
    /// have left, and sends what the socket takes; `Pending` while older records
    /// still wait for the socket.
    pub(crate) fn poll_write(
        &self,
        socket: &Socket,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let mut conn = self.conn.borrow_mut();
        if let Err(e) = std::task::ready!(flush_records(&mut conn, socket, cx)) {
            return Poll::Ready(Err(e));
        }
        if self.close_notify_sent.get() {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "cannot write after the TLS session was shut down",
            )));
        }
        let n = conn.writer().write(&buf[..buf.len().min(MAX_ENCRYPT)])?;
        if let Poll::Ready(Err(e)) = flush_records(&mut conn, socket, cx) {
            return Poll::Ready(Err(e));
        }
        Poll::Ready(Ok(n))
    }

    pub(crate) fn has_pending_output(&self) -> bool {
        self.pending_shutdown.get().is_some() || self.conn.borrow().wants_write()
    }

    /// Sends the waiting records, then the socket shutdown an ending asked for.
    pub(crate) fn poll_flush(&self, socket: &Socket, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut conn = self.conn.borrow_mut();
        std::task::ready!(flush_records(&mut conn, socket, cx))?;
        if let Some(how) = self.pending_shutdown.take() {
            socket.shutdown(how)?;
        }
        Poll::Ready(Ok(()))
    }

    /// Ends our direction with close_notify (once), then the socket's shutdown: now
    /// if the record leaves at once, else from `poll_flush`. TLS has no message for
    /// ending the read direction: that one goes to the socket directly.
    pub(crate) fn shutdown(&self, socket: &Socket, how: Shutdown) -> io::Result<()> {
        if how == Shutdown::Read {
            return socket.shutdown(how);
        }
        if !self.close_notify_sent.replace(true) {
            self.conn.borrow_mut().send_close_notify();
        }
        self.pending_shutdown.set(Some(how));
        // `poll_flush` sends the record and shuts the socket once it is out.
        let waker = crate::noop_waker::noop_waker();
        match self.poll_flush(socket, &mut Context::from_waker(&waker)) {
            Poll::Ready(done) => done,
            Poll::Pending => Ok(()),
        }
    }

    /// `abort()`: no close_notify; nothing more leaves.
    pub(crate) fn abort(&self) {
        self.pending_shutdown.set(None);
        self.close_notify_sent.set(true);
    }

    /// What asyncio's `get_extra_info("peercert" / "cipher" / "ssl_object")` tells.
    pub(crate) fn info(&self) -> TlsInfo {
        let conn = self.conn.borrow();
        TlsInfo {
            peer_certificates: conn
                .peer_certificates()
                .map(|certs| certs.iter().map(|c| c.clone().into_owned()).collect())
                .unwrap_or_default(),
            alpn_protocol: conn.alpn_protocol().map(<[u8]>::to_vec),
            protocol_version: conn.protocol_version(),
            cipher_suite: conn.negotiated_cipher_suite().map(|s| s.suite()),
            server_name: match &*conn {
                Connection::Server(s) => s.server_name().map(str::to_owned),
                Connection::Client(_) => self.server_name.clone(),
            },
        }
    }
}
