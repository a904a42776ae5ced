//! `StreamWriter`: asyncio's writer (`write`, `writelines`, `drain`, `write_eof`,
//! `close`, `wait_closed`, write-buffer limits) over a shared socket.
//!
//! `write` never blocks and never waits: its bytes go out at once, at the end of the
//! loop's batch (write coalescing), or through a flusher task; `send_queue.rs` says
//! which and why. `drain` is only flow control: it waits while the queue is above the
//! high-water mark, until it falls to the low one (asyncio's pause/resume of the
//! protocol).

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

use super::raw_stream::RawStream;
use super::send_queue::water_marks;
use super::send_queue::{register, sendfile_running_error, wake_all, Inner};
use crate::loop_state::LoopState;
use crate::task::{note_wait, WaitKind};

pub use super::send_queue::DEFAULT_HIGH_WATER;

/// `drain`'s future. Its poll is always inlined into the awaiting future, so a drain
/// with nothing to wait for (the queue below its high-water mark: almost every one)
/// costs the caller two loads and a compare, not a call (as the reads' first look,
/// read_futures.rs).
struct Drain {
    writer: StreamWriter,
}

impl Future for Drain {
    type Output = io::Result<()>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.writer.inner.drain_is_ready() {
            return Poll::Ready(Ok(()));
        }
        self.writer.poll_drain(cx)
    }
}

/// The writing half of a connection (asyncio's `StreamWriter`). Cloning is cheap and
/// yields another handle to the same writer.
///
/// ```
/// aloop::run(async {
///     let server = aloop::start_server(
///         |reader: aloop::StreamReader, writer: aloop::StreamWriter| async move {
///             let line = reader.readline().await.unwrap();
///             writer.write(&line.to_ascii_uppercase()).unwrap();
///             writer.close();
///         },
///         "127.0.0.1",
///         0,
///     )
///     .await
///     .unwrap();
///     let port = server.sockets()[0].port();
///     let (reader, writer) = aloop::open_connection("127.0.0.1", port).await.unwrap();
///     writer.write(b"hello\n").unwrap();
///     writer.drain().await.unwrap();
///     assert_eq!(reader.readline().await.unwrap(), b"HELLO\n");
///     writer.close();
///     writer.wait_closed().await.unwrap();
///     server.close();
///     server.wait_closed().await;
/// });
/// ```
#[derive(Clone)]
pub struct StreamWriter {
    inner: Rc<Inner>,
}

impl StreamWriter {
    pub(crate) fn new(transport: Rc<RawStream>, home: Weak<LoopState>) -> StreamWriter {
        StreamWriter {
            inner: Inner::new(transport, home),
        }
    }

    /// Queues `data` for sending without waiting. With nothing queued it is tried on
    /// the socket at once; the rest is sent in the background. Call
    /// [`drain`](Self::drain) now and then to bound the queue.
    ///
    /// Errors: the connection already failed (its error), or `write_eof`/`close` was
    /// called (`BrokenPipe`; asyncio raises `RuntimeError` after `write_eof`), or a
    /// [`LoopRef::sendfile`](crate::LoopRef::sendfile) is running on this connection
    /// (`ErrorKind::Other`; asyncio's `RuntimeError`): its bytes would land among the
    /// file's.
    // `always`: with a short write's copy inlined below it, `write` grew past LLVM's
    // inlining threshold and became a call in every caller (~12 instructions per echo
    // op); what is inlined is the queued path's few checks, the rest is a call.
    #[inline(always)]
    pub fn write(&self, data: &[u8]) -> io::Result<()> {
        if self.inner.queue_behind_batch(data) {
            return Ok(());
        }
        self.inner.write(data, false)
    }

    /// [`write`](Self::write) for `loop.sendfile`'s own fallback, which writes the file's
    /// bytes while it runs.
    pub(crate) fn write_for_sendfile(&self, data: &[u8]) -> io::Result<()> {
        self.inner.write(data, true)
    }

    /// Marks a `loop.sendfile` as running on this connection until the returned guard
    /// is dropped (when it ends, fails or is cancelled); [`write`](Self::write) is
    /// refused meanwhile. A second `sendfile` at the same time is refused too.
    pub(crate) fn start_sendfile(&self) -> io::Result<SendfileRunning> {
        let mut st = self.inner.st.borrow_mut();
        if st.sendfile {
            return Err(sendfile_running_error("loop.sendfile()"));
        }
        st.sendfile = true;
        st.queue_open = false;
        Ok(SendfileRunning(self.inner.clone()))
    }

    /// Writes each buffer in turn, as [`write`](Self::write).
    pub fn writelines<I, B>(&self, buffers: I) -> io::Result<()>
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        for b in buffers {
            self.write(b.as_ref())?;
        }
        Ok(())
    }

    /// Flow control: waits while the queued bytes are above the high-water mark, until
    /// they fall to the low-water mark; returns at once otherwise. Returns the
    /// connection's error if it failed.
    pub fn drain(&self) -> impl Future<Output = io::Result<()>> + 'static {
        Drain {
            writer: self.clone(),
        }
    }

    /// [`drain`](Self::drain) as a poll (`AsyncWrite`'s back-pressure and flush).
    pub(super) fn poll_drain(&self, cx: &mut std::task::Context<'_>) -> Poll<io::Result<()>> {
        let mut st = self.inner.st.borrow_mut();
        if let Some(e) = &st.error {
            return Poll::Ready(Err(e.get()));
        }
        if !st.paused {
            return Poll::Ready(Ok(()));
        }
        register(&mut st.drain_waiters, cx.waker());
        note_wait(WaitKind::Drain, true);
        Poll::Pending
    }

    /// Half-closes: once the queued bytes are sent, sends end-of-stream (FIN); the
    /// peer can still answer. Further `write`s fail.
    pub fn write_eof(&self) -> io::Result<()> {
        let mut st = self.inner.st.borrow_mut();
        if let Some(e) = &st.error {
            return Err(e.get());
        }
        if st.eof_requested || st.closing {
            return Ok(());
        }
        st.eof_requested = true;
        st.queue_open = false;
        if st.buf.is_empty() && !st.flusher {
            st.eof_sent = true;
            if let Err(e) = self.inner.transport.shutdown(Shutdown::Write) {
                self.inner.fail_now(st, &e);
                return Err(e);
            }
            if self.inner.transport.has_pending_output() {
                // TLS: the close_notify waits for the socket; the flusher sends it.
                return self.inner.start_flusher(st);
            }
        }
        Ok(())
    }

    /// Whether [`write_eof`](Self::write_eof) is supported (always, for TCP and Unix
    /// sockets).
    pub fn can_write_eof(&self) -> bool {
        true
    }

    /// Closes the connection once the queued bytes are sent (asyncio's
    /// `transport.close()`); our reader then sees end-of-stream. Idempotent.
    pub fn close(&self) {
        let mut st = self.inner.st.borrow_mut();
        if st.closing {
            return;
        }
        st.closing = true;
        st.queue_open = false;
        if st.buf.is_empty() && !st.closed && !st.flusher {
            let woken = self.inner.finish_close(&mut st);
            if !st.closed {
                // TLS: the close_notify waits for the socket; the flusher sends it.
                let _ = self.inner.start_flusher(st);
                return;
            }
            drop(st);
            wake_all(woken);
        }
    }

    /// Closes the connection now (asyncio's `transport.abort()`): the queued bytes are
    /// dropped, the socket is released at once and the peer sees a reset (not an
    /// orderly end) even while this writer, its reader or a transport is still held
    /// (the fd number stays reserved until they drop), our own reader sees
    /// end-of-stream at once, and `drain` and
    /// `wait_closed` return. For a connection whose peer stopped reading, this is what
    /// frees the socket and the queue, which `close()` would keep until every queued
    /// byte was sent. Idempotent; a child's stdin is closed.
    ///
    /// ```
    /// aloop::run(async {
    ///     let server = aloop::start_server(
    ///         |r: aloop::StreamReader, _w: aloop::StreamWriter| async move {
    ///             let _ = r.read_to_eof().await;
    ///         },
    ///         "127.0.0.1",
    ///         0,
    ///     )
    ///     .await
    ///     .unwrap();
    ///     let port = server.sockets()[0].port();
    ///     let (reader, writer) = aloop::open_connection("127.0.0.1", port).await.unwrap();
    ///     writer.write(&vec![0u8; 1 << 20]).unwrap(); // more than the socket takes
    ///     writer.abort();
    ///     assert!(writer.is_closing());
    ///     assert!(writer.write(b"more").is_err());
    ///     assert!(reader.read_to_eof().await.unwrap().is_empty());
    ///     writer.wait_closed().await.unwrap();
    ///     server.close();
    /// });
    /// ```
    pub fn abort(&self) {
        self.inner.abort();
    }

    /// A reference that does not keep the writer alive (`Server`'s list of clients).
    pub(super) fn downgrade(&self) -> Weak<Inner> {
        Rc::downgrade(&self.inner)
    }

    /// The send queue underneath (the protocol layer's transport writes through it).
    pub(crate) fn send_queue(&self) -> &Rc<Inner> {
        &self.inner
    }

    /// The byte stream underneath (for `loop.sendfile`, once the queue is empty).
    pub(crate) fn raw_stream(&self) -> &RawStream {
        &self.inner.transport
    }

    pub(super) fn from_inner(inner: Rc<Inner>) -> StreamWriter {
        StreamWriter { inner }
    }

    /// Whether the writer is closed or closing (also after a connection error).
    pub fn is_closing(&self) -> bool {
        let st = self.inner.st.borrow();
        st.closing || st.error.is_some()
    }

    /// Waits until [`close`](Self::close) has finished (queued bytes sent, socket shut
    /// down); returns the connection's error if it failed. Waits forever if `close`
    /// is never called, as asyncio's does.
    pub fn wait_closed(&self) -> impl Future<Output = io::Result<()>> + 'static {
        let writer = StreamWriter {
            inner: self.inner.clone(),
        };
        poll_fn(move |cx| writer.poll_closed(cx))
    }

    /// [`wait_closed`](Self::wait_closed) as a poll (`AsyncWrite::poll_close`).
    pub(super) fn poll_closed(&self, cx: &mut std::task::Context<'_>) -> Poll<io::Result<()>> {
        let mut st = self.inner.st.borrow_mut();
        if let Some(e) = &st.error {
            return Poll::Ready(Err(e.get()));
        }
        if st.closed {
            return Poll::Ready(Ok(()));
        }
        register(&mut st.close_waiters, cx.waker());
        note_wait(WaitKind::WaitClosed, true);
        Poll::Pending
    }

    /// Sets the write buffer's high- and low-water marks (asyncio's
    /// `transport.set_write_buffer_limits`): `high` defaults to 64 KiB (or 4 × `low`),
    /// `low` to `high / 4`. `InvalidInput` if `high < low`.
    pub fn set_write_buffer_limits(
        &self,
        high: Option<usize>,
        low: Option<usize>,
    ) -> io::Result<()> {
        let (high, low) = water_marks(high, low)?;
        let mut st = self.inner.st.borrow_mut();
        st.high = high;
        st.low = low;
        if st.buf.len() > high {
            st.paused = true;
        } else if st.paused && st.buf.len() <= low {
            st.paused = false;
            let woken = std::mem::take(&mut st.drain_waiters);
            drop(st);
            wake_all(woken);
        }
        Ok(())
    }

    /// The write buffer's `(low, high)` water marks.
    pub fn get_write_buffer_limits(&self) -> (usize, usize) {
        let st = self.inner.st.borrow();
        (st.low, st.high)
    }

    /// Bytes queued and not yet handed to the socket.
    pub fn get_write_buffer_size(&self) -> usize {
        self.inner.st.borrow().buf.len()
    }

    /// The peer's address (asyncio's `get_extra_info("peername")`); `None` for Unix
    /// sockets or a socket that is no longer connected.
    pub fn peername(&self) -> Option<SocketAddr> {
        self.inner.transport.peer_addr()
    }

    /// The local address (`get_extra_info("sockname")`); `None` for Unix sockets.
    pub fn sockname(&self) -> Option<SocketAddr> {
        self.inner.transport.local_addr()
    }

    /// The peer's address of a Unix-socket connection.
    pub fn unix_peername(&self) -> Option<std::os::unix::net::SocketAddr> {
        self.inner.transport.unix_peer_addr()
    }

    /// The local address of a Unix-socket connection.
    pub fn unix_sockname(&self) -> Option<std::os::unix::net::SocketAddr> {
        self.inner.transport.unix_local_addr()
    }
}

impl fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.st.borrow();
        f.debug_struct("StreamWriter")
            .field("transport", &self.inner.transport)
            .field("buffered", &st.buf.len())
            .field("closing", &st.closing)
            .field("error", &st.error)
            .finish()
    }
}

/// While alive, a `loop.sendfile` runs on the connection (see
/// [`StreamWriter::start_sendfile`]).
pub(crate) struct SendfileRunning(Rc<Inner>);

impl Drop for SendfileRunning {
    fn drop(&mut self) {
        self.0.st.borrow_mut().sendfile = false;
    }
}
