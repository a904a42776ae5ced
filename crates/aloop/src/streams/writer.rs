//! `StreamWriter`: asyncio's writer (`write`, `writelines`, `drain`, `write_eof`,
//! `close`, `wait_closed`, write-buffer limits) over a shared socket.
//!
//! `write` never blocks and never waits. Writes to a stream that is written several
//! times per batch of the loop are *coalesced*, as uvloop does: the bytes are queued and
//! leave in one `send` when the batch is done (`loop_state`'s after-batch step), so a
//! server answering pipelined requests one `write` at a time pays one send per batch,
//! not per reply. Copying into the queue is what coalescing costs (`write` borrows the
//! caller's bytes; uvloop keeps references to immutable `bytes`), so the writer learns
//! per stream whether it pays: the second write of a batch starts coalescing, and a
//! batch that then brings only one write stops it. Other writes — the first of a batch
//! on a stream not coalescing, or any write made while the loop is not running — try
//! the socket at once, straight from the caller's slice (one `send`, polled with a
//! no-op waker so nothing is registered for this task): a lone write waits for nothing. Whatever the socket does not take is
//! sent by a *flusher* task on the loop, started on demand (at most one per writer) and
//! gone once the queue is empty, so data goes out even if the caller never drains — as
//! asyncio's transport does it. `drain` is only flow control: it waits while the queue
//! is above the high-water mark, until it falls to the low one (asyncio's pause/resume
//! of the protocol).

use std::cell::RefCell;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::mem::ManuallyDrop;
use std::net::{Shutdown, SocketAddr};
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, RawWaker, RawWakerVTable, Waker};

use super::buffer::WriteBuffer;
use super::error::StoredError;
use super::transport::Transport;
use crate::loop_state::{AfterBatch, LoopState};
use crate::task::spawn_on;

/// asyncio's default high-water mark for a transport's write buffer (64 KiB).
pub const DEFAULT_HIGH_WATER: usize = 64 * 1024;

struct State {
    buf: WriteBuffer,
    high: usize,
    low: usize,
    /// Above `high` after a write and not yet back to `low`: `drain` waits.
    paused: bool,
    /// A flusher task is alive.
    flusher: bool,
    /// The queue waits for the end of the loop's ready batch (see the file comment).
    coalescing: bool,
    /// Learned: this stream is written several times per batch, so its writes wait for
    /// the batch's end.
    coalesce: bool,
    /// Writes the waiting queue holds, counting a direct send of the same batch.
    batch_writes: u32,
    /// The loop iteration of the last write sent at once.
    direct_iteration: u64,
    eof_requested: bool,
    eof_sent: bool,
    closing: bool,
    closed: bool,
    error: Option<StoredError>,
    drain_waiters: Vec<Waker>,
    close_waiters: Vec<Waker>,
}

struct Inner {
    transport: Rc<Transport>,
    /// Weak: a writer must not keep its loop alive (the loop owns the tasks that own
    /// writers; a strong reference would be a cycle).
    home: Weak<LoopState>,
    st: RefCell<State>,
}

fn register(list: &mut Vec<Waker>, waker: &Waker) {
    if !list.iter().any(|w| w.will_wake(waker)) {
        list.push(waker.clone());
    }
}

fn wake_all(list: Vec<Waker>) {
    list.into_iter().for_each(Waker::wake);
}

/// A waker that does nothing, for the one-shot write attempts (`Waker::noop` is newer
/// than this crate's minimum Rust version). No allocation: a static table of no-ops.
/// `ManuallyDrop`: its drop does nothing, and skipping it saves an indirect call per send.
fn noop_waker() -> ManuallyDrop<Waker> {
    fn clone(_: *const ()) -> RawWaker {
        RawWaker::new(std::ptr::null(), &NOOP)
    }
    fn noop(_: *const ()) {}
    static NOOP: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);
    // SAFETY: every function of the table ignores the data pointer (null here) and
    // does nothing, which fulfils RawWaker's contract trivially.
    ManuallyDrop::new(unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &NOOP)) })
}

impl Inner {
    /// The connection failed: keep the error for every later call, drop what is
    /// queued (it cannot be sent), and wake whoever waits.
    fn fail(&self, st: &mut State, e: &io::Error) -> Vec<Waker> {
        if st.error.is_none() {
            st.error = Some(StoredError::new(e));
        }
        st.buf.clear();
        st.paused = false;
        st.closed = true;
        let mut woken = std::mem::take(&mut st.drain_waiters);
        woken.append(&mut st.close_waiters);
        woken
    }

    fn finish_close(&self, st: &mut State) -> Vec<Waker> {
        // The fd itself closes when the reader half is dropped too; shutting both
        // directions now sends FIN and makes our own reader see EOF, as asyncio's
        // transport.close() does.
        let _ = self.transport.shutdown(Shutdown::Both);
        st.closed = true;
        std::mem::take(&mut st.close_waiters)
    }

    /// The flusher's step: send queued bytes until the socket is full or the queue is
    /// empty, then carry out a pending `write_eof`/`close`.
    fn poll_flush(&self, cx: &mut Context<'_>) -> Poll<()> {
        let mut woken = Vec::new();
        let result = loop {
            let mut st = self.st.borrow_mut();
            if st.error.is_some() {
                st.flusher = false;
                break Poll::Ready(());
            }
            if st.buf.is_empty() {
                if st.eof_requested && !st.eof_sent {
                    st.eof_sent = true;
                    if let Err(e) = self.transport.shutdown(Shutdown::Write) {
                        woken = self.fail(&mut st, &e);
                    }
                }
                if st.closing && !st.closed {
                    woken = self.finish_close(&mut st);
                }
                st.flusher = false;
                break Poll::Ready(());
            }
            match self.transport.poll_write(cx, st.buf.as_slice()) {
                Poll::Ready(Ok(n)) => {
                    st.buf.consume(n);
                    if st.paused && st.buf.len() <= st.low {
                        st.paused = false;
                        woken = std::mem::take(&mut st.drain_waiters);
                    }
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => {
                    woken = self.fail(&mut st, &e);
                    st.flusher = false;
                    break Poll::Ready(());
                }
                Poll::Pending => break Poll::Pending,
            }
            if !woken.is_empty() {
                drop(st);
                wake_all(std::mem::take(&mut woken));
            }
        };
        wake_all(woken);
        result
    }
}

/// One `send` that registers nothing (polled with a no-op waker): how many bytes the
/// socket took (0 when it is full), or the connection's error.
#[inline]
fn send_now(transport: &Transport, bytes: &[u8]) -> io::Result<usize> {
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    match transport.poll_write(&mut cx, bytes) {
        Poll::Ready(Ok(n)) => Ok(n.min(bytes.len())),
        Poll::Ready(Err(e))
            if matches!(
                e.kind(),
                io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
            ) =>
        {
            Ok(0)
        }
        Poll::Ready(Err(e)) => Err(e),
        Poll::Pending => Ok(0),
    }
}

impl Inner {
    /// `fail`, then wakes whoever waited, once the state is released.
    fn fail_now(&self, mut st: std::cell::RefMut<'_, State>, e: &io::Error) {
        let woken = self.fail(&mut st, e);
        drop(st);
        wake_all(woken);
    }

    /// Starts the flusher task for what is queued (the caller checked none runs).
    /// Without a live loop the bytes can never leave: the connection fails.
    fn start_flusher(self: &Rc<Self>, mut st: std::cell::RefMut<'_, State>) -> io::Result<()> {
        let Some(home) = self.home.upgrade().filter(|home| !home.is_closed()) else {
            let e = io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the event loop of this StreamWriter is closed",
            );
            self.fail_now(st, &e);
            return Err(e);
        };
        st.flusher = true;
        drop(st);
        let guard = FlusherGuard(self.clone());
        let task = spawn_on(&home, async move {
            poll_fn(|cx| guard.0.poll_flush(cx)).await;
        });
        task.set_name("aloop-stream-flusher");
        Ok(())
    }
}

impl AfterBatch for Inner {
    /// The batch is done: send what it wrote, in one go, and hand any rest to a
    /// flusher.
    fn after_batch(self: Rc<Self>) {
        let mut st = self.st.borrow_mut();
        st.coalescing = false;
        // A batch that brought one write did not need the copy: send at once next time.
        st.coalesce = std::mem::take(&mut st.batch_writes) > 1;
        if st.flusher {
            return;
        }
        if st.eof_requested || st.closing || st.error.is_some() {
            // An ending waits behind the bytes (or the connection failed): the flusher's
            // step carries out both, as it does for any queue.
            st.flusher = true;
            drop(st);
            let waker = noop_waker();
            let mut cx = Context::from_waker(&waker);
            if self.poll_flush(&mut cx).is_pending() {
                let mut st = self.st.borrow_mut();
                st.flusher = false;
                let _ = self.start_flusher(st);
            }
            return;
        }
        // The common case: one send of everything the batch wrote.
        match send_now(&self.transport, st.buf.as_slice()) {
            Ok(n) => {
                st.buf.consume(n);
                if st.buf.is_empty() {
                    if std::mem::take(&mut st.paused) {
                        let woken = std::mem::take(&mut st.drain_waiters);
                        drop(st);
                        wake_all(woken);
                    }
                    return;
                }
            }
            Err(e) => return self.fail_now(st, &e),
        }
        // The socket took only part (the no-op waker registered nothing useful): a
        // flusher task sends the rest, waiting with a waker of its own.
        let _ = self.start_flusher(st);
    }
}

/// Resets the flusher flag if the flusher task is dropped unfinished (loop closing).
struct FlusherGuard(Rc<Inner>);

impl Drop for FlusherGuard {
    fn drop(&mut self) {
        if let Ok(mut st) = self.0.st.try_borrow_mut() {
            st.flusher = false;
        }
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
    pub(crate) fn new(transport: Rc<Transport>, home: Weak<LoopState>) -> StreamWriter {
        StreamWriter {
            inner: Rc::new(Inner {
                transport,
                home,
                st: RefCell::new(State {
                    buf: WriteBuffer::default(),
                    high: DEFAULT_HIGH_WATER,
                    low: DEFAULT_HIGH_WATER / 4,
                    paused: false,
                    flusher: false,
                    coalescing: false,
                    coalesce: false,
                    batch_writes: 0,
                    direct_iteration: u64::MAX,
                    eof_requested: false,
                    eof_sent: false,
                    closing: false,
                    closed: false,
                    error: None,
                    drain_waiters: Vec::new(),
                    close_waiters: Vec::new(),
                }),
            }),
        }
    }

    /// Queues `data` for sending without waiting. With nothing queued it is tried on
    /// the socket at once; the rest is sent in the background. Call
    /// [`drain`](Self::drain) now and then to bound the queue.
    ///
    /// Errors: the connection already failed (its error), or `write_eof`/`close` was
    /// called (`BrokenPipe`; asyncio raises `RuntimeError` after `write_eof`).
    pub fn write(&self, data: &[u8]) -> io::Result<()> {
        let inner = &self.inner;
        let mut st = inner.st.borrow_mut();
        if let Some(e) = &st.error {
            return Err(e.get());
        }
        if st.closing || st.eof_requested {
            let what = if st.closing { "close()" } else { "write_eof()" };
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                format!("cannot call write() after {what}"),
            ));
        }
        if data.is_empty() {
            return Ok(());
        }
        let mut rest = data;
        if st.buf.is_empty() && !st.flusher {
            let home = inner.home.upgrade();
            if let Some(home) = home.filter(|home| home.is_running()) {
                let iteration = home.iteration();
                let second = st.direct_iteration == iteration;
                if st.coalesce || second {
                    // This stream is written several times per batch: wait for the
                    // batch's end (right after this step, if it is the batch's last).
                    st.buf.extend(data);
                    st.coalescing = true;
                    st.batch_writes = 1 + u32::from(second);
                    drop(st);
                    home.defer_after_batch(inner.clone());
                    return Ok(());
                }
                st.direct_iteration = iteration;
            }
            match send_now(&inner.transport, rest) {
                Ok(n) => rest = &rest[n..],
                Err(e) => {
                    inner.fail_now(st, &e);
                    return Err(e);
                }
            }
        }
        if rest.is_empty() {
            return Ok(());
        }
        st.buf.extend(rest);
        if st.coalescing {
            st.batch_writes = st.batch_writes.saturating_add(1);
        }
        if st.buf.len() > st.high {
            st.paused = true;
        }
        if st.flusher || st.coalescing {
            return Ok(());
        }
        inner.start_flusher(st)
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
        let inner = self.inner.clone();
        poll_fn(move |cx| {
            let mut st = inner.st.borrow_mut();
            if let Some(e) = &st.error {
                return Poll::Ready(Err(e.get()));
            }
            if !st.paused {
                return Poll::Ready(Ok(()));
            }
            register(&mut st.drain_waiters, cx.waker());
            Poll::Pending
        })
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
        if st.buf.is_empty() {
            st.eof_sent = true;
            if let Err(e) = self.inner.transport.shutdown(Shutdown::Write) {
                self.inner.fail_now(st, &e);
                return Err(e);
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
        if st.buf.is_empty() && !st.closed {
            let woken = self.inner.finish_close(&mut st);
            drop(st);
            wake_all(woken);
        }
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
        let inner = self.inner.clone();
        poll_fn(move |cx| {
            let mut st = inner.st.borrow_mut();
            if let Some(e) = &st.error {
                return Poll::Ready(Err(e.get()));
            }
            if st.closed {
                return Poll::Ready(Ok(()));
            }
            register(&mut st.close_waiters, cx.waker());
            Poll::Pending
        })
    }

    /// Sets the write buffer's high- and low-water marks (asyncio's
    /// `transport.set_write_buffer_limits`): `high` defaults to 64 KiB (or 4 × `low`),
    /// `low` to `high / 4`. `InvalidInput` if `high < low`.
    pub fn set_write_buffer_limits(
        &self,
        high: Option<usize>,
        low: Option<usize>,
    ) -> io::Result<()> {
        let high = high.unwrap_or(match low {
            Some(low) => low.saturating_mul(4),
            None => DEFAULT_HIGH_WATER,
        });
        let low = low.unwrap_or(high / 4);
        if high < low {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("high ({high}) must be >= low ({low})"),
            ));
        }
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
