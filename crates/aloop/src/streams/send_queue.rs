//! The writer's send queue (`StreamWriter`'s state, behind `writer.rs`): the bytes
//! waiting to be sent, and the three ways they leave.
//!
//! - **At once.** The first write of a batch on a stream that is not coalescing, or any
//!   write made while the loop is not running, tries the socket straight from the
//!   caller's slice (one `send`, polled with a no-op waker so nothing is registered for
//!   the task): a lone write waits for nothing.
//! - **At the batch's end** (write coalescing, as uvloop does). The second write to a
//!   stream in one batch of the loop queues its bytes, and so does every later write of
//!   that batch; they leave in one `send` in `loop_state`'s after-batch step, so a
//!   server answering pipelined requests one `write` at a time pays one send per batch.
//!   Copying into the queue is what coalescing costs (`write` borrows the caller's
//!   bytes; uvloop keeps references to immutable `bytes`), so the queue learns per
//!   stream whether it pays: a coalesced batch that brought one write stops it.
//! - **By a flusher task** (`send_flusher.rs`), for what the socket did not take: started on demand (at most
//!   one per writer) and gone once the queue is empty, so data goes out even if the
//!   caller never drains, as asyncio's transport does it. It also carries out a
//!   `write_eof` or `close` that waits behind queued bytes.

use std::cell::{RefCell, RefMut};
use std::io;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use super::buffer::WriteBuffer;
use super::error::StoredError;
use super::raw_stream::RawStream;
use crate::loop_state::{AfterBatch, LoopState};
use crate::noop_waker::noop_waker;

/// asyncio's default high-water mark for a transport's write buffer (64 KiB).
pub const DEFAULT_HIGH_WATER: usize = 64 * 1024;

/// asyncio's `set_write_buffer_limits(high, low)` defaults: `high` 64 KiB (or 4 ×
/// `low`), `low` `high / 4`; `InvalidInput` if `high < low`. Returns `(high, low)`.
/// Shared by the streams' and the datagram transports' send queues.
pub(crate) fn water_marks(high: Option<usize>, low: Option<usize>) -> io::Result<(usize, usize)> {
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
    Ok((high, low))
}

/// `repr(C)`, the fields every write reads first: they share one or two cache lines,
/// where declaration order left to the compiler spread them over four (a write met a
/// cache miss for each; a server's many connections keep these structs out of cache).
#[repr(C)]
pub(super) struct State {
    // Hot: read or written by every `write`.
    pub(super) buf: WriteBuffer,
    /// The loop iteration of the last write sent at once.
    pub(super) direct_iteration: u64,
    pub(super) high: usize,
    /// Boxed: almost always `None`, and one word here instead of five.
    pub(super) error: Option<Box<StoredError>>,
    /// Writes waiting for the end of the loop's ready batch, counting a direct send of
    /// the same batch, capped at 2 (only "more than one" is used); 0 when nothing
    /// waits for it (see the file comment).
    pub(super) batch_writes: u32,
    /// This batch's further writes are queued with no other look than at their size
    /// (`queue_behind_batch`): set by the write that made them wait, which checked all
    /// that `write` checks; cleared at the batch's end and by whatever refuses writes
    /// from then on (an error, `write_eof`, `close`, `abort`, a `sendfile`). One flag
    /// read where five were, on every reply a pipelined server writes.
    pub(super) queue_open: bool,
    /// Above `high` after a write and not yet back to `low`: `drain` waits.
    pub(super) paused: bool,
    /// A flusher task is alive.
    pub(super) flusher: bool,
    /// Learned: this stream is written several times per batch, so its writes wait for
    /// the batch's end.
    pub(super) coalesce: bool,
    pub(super) eof_requested: bool,
    pub(super) closing: bool,
    /// `abort()` was called: the queue is gone and nothing more is sent.
    pub(super) aborted: bool,
    /// A `loop.sendfile` is running on this connection: `write` is refused meanwhile,
    /// so its bytes cannot land among the file's (asyncio refuses them too).
    pub(super) sendfile: bool,
    // Cold: endings, waiting, and the protocol layer.
    pub(super) eof_sent: bool,
    pub(super) closed: bool,
    pub(super) low: usize,
    /// The flusher's waker while it waits for the socket, so `abort` can end it.
    pub(super) flusher_waker: Option<Waker>,
    /// Set by the protocol layer (`protocols/`): told, in a later callback, when
    /// `paused` flips or the writer ends, so it can call `pause_writing`,
    /// `resume_writing` and `connection_lost`. `None` for a plain `StreamWriter`.
    pub(super) hook: Option<Rc<dyn Fn()>>,
    pub(super) drain_waiters: Vec<Waker>,
    pub(super) close_waiters: Vec<Waker>,
}

/// `repr(C)`: the stream and the state's hot part next to each other (see `State`).
#[repr(C)]
pub(crate) struct Inner {
    pub(super) transport: Rc<RawStream>,
    /// Weak: a writer must not keep its loop alive (the loop owns the tasks that own
    /// writers; a strong reference would be a cycle).
    pub(super) home: Weak<LoopState>,
    pub(super) st: RefCell<State>,
}

pub(super) fn register(list: &mut Vec<Waker>, waker: &Waker) {
    if !list.iter().any(|w| w.will_wake(waker)) {
        list.push(waker.clone());
    }
}

pub(super) fn wake_all(list: Vec<Waker>) {
    list.into_iter().for_each(Waker::wake);
}

/// The error for a `write` or a second `sendfile` while `loop.sendfile` runs
/// (asyncio's `RuntimeError`).
pub(super) fn sendfile_running_error(what: &str) -> io::Error {
    io::Error::other(format!(
        "cannot call {what} while loop.sendfile() is in progress"
    ))
}

/// One `send` that registers nothing (polled with a no-op waker): how many bytes the
/// socket took (0 when it is full), or the connection's error.
#[inline]
fn send_now(transport: &RawStream, bytes: &[u8]) -> io::Result<usize> {
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
    pub(super) fn new(transport: Rc<RawStream>, home: Weak<LoopState>) -> Rc<Inner> {
        Rc::new(Inner {
            transport,
            home,
            st: RefCell::new(State {
                buf: WriteBuffer::default(),
                high: DEFAULT_HIGH_WATER,
                low: DEFAULT_HIGH_WATER / 4,
                paused: false,
                flusher: false,
                coalesce: false,
                batch_writes: 0,
                queue_open: false,
                direct_iteration: u64::MAX,
                eof_requested: false,
                eof_sent: false,
                closing: false,
                closed: false,
                aborted: false,
                sendfile: false,
                flusher_waker: None,
                hook: None,
                error: None,
                drain_waiters: Vec::new(),
                close_waiters: Vec::new(),
            }),
        })
    }

    /// Runs the protocol layer's hook soon: never inside this call, whose caller may be
    /// the protocol itself, busy in one of its own callbacks.
    pub(super) fn notify(&self, st: &State) {
        if let (Some(hook), Some(home)) = (&st.hook, self.home.upgrade()) {
            let hook = hook.clone();
            home.call_soon(move || hook());
        }
    }

    /// Whether `drain` has nothing to wait for: no error, the queue not paused.
    #[inline(always)]
    pub(super) fn drain_is_ready(&self) -> bool {
        match self.st.try_borrow() {
            Ok(st) => st.error.is_none() && !st.paused,
            Err(_) => false,
        }
    }

    /// `write`'s first look, inlined into the caller: a stream already queueing this
    /// batch's writes (a pipelined server's second and later replies) takes `data`
    /// here, and nothing else is to decide. `false`: the caller goes through `write`.
    #[inline(always)]
    pub(super) fn queue_behind_batch(&self, data: &[u8]) -> bool {
        let Ok(mut st) = self.st.try_borrow_mut() else {
            return false;
        };
        if !st.queue_open || data.is_empty() || st.buf.len() + data.len() > st.high {
            return false;
        }
        debug_assert!(
            st.batch_writes > 0
                && st.error.is_none()
                && !st.sendfile
                && !st.closing
                && !st.eof_requested,
            "queue_open outlived its batch or a refusal"
        );
        st.buf.extend(data);
        st.batch_writes = 2;
        true
    }

    /// `StreamWriter::write`: see the file comment for the three ways out.
    /// `by_sendfile`: the write is `loop.sendfile`'s own fallback, the one writer let
    /// through while a sendfile runs (any other is refused then, as asyncio refuses it:
    /// its bytes would land among the file's).
    pub(super) fn write(self: &Rc<Self>, data: &[u8], by_sendfile: bool) -> io::Result<()> {
        let inner = self;
        let mut st = inner.st.borrow_mut();
        if let Some(e) = &st.error {
            return Err(e.get());
        }
        if st.sendfile && !by_sendfile {
            return Err(sendfile_running_error("write()"));
        }
        if st.closing || st.eof_requested {
            let what = if st.aborted {
                "abort()"
            } else if st.closing {
                "close()"
            } else {
                "write_eof()"
            };
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
                    st.batch_writes = 1 + u32::from(second);
                    st.queue_open = !st.sendfile;
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
            if st.flusher || !inner.transport.has_pending_output() {
                return Ok(());
            }
            // TLS records the socket did not take: the flusher sends them.
            return inner.start_flusher(st);
        }
        st.buf.extend(rest);
        let coalescing = st.batch_writes > 0;
        if coalescing {
            st.batch_writes = 2;
        }
        if st.buf.len() > st.high && !st.paused {
            st.paused = true;
            inner.notify(&st);
        }
        if st.flusher || coalescing {
            return Ok(());
        }
        inner.start_flusher(st)
    }

    /// The connection failed: keep the error for every later call, drop what is
    /// queued (it cannot be sent), and wake whoever waits.
    pub(super) fn fail(&self, st: &mut State, e: &io::Error) -> Vec<Waker> {
        if st.error.is_none() {
            st.error = Some(Box::new(StoredError::new(e)));
        }
        st.queue_open = false;
        st.buf.clear();
        st.paused = false;
        st.closed = true;
        self.notify(st);
        let mut woken = std::mem::take(&mut st.drain_waiters);
        woken.append(&mut st.close_waiters);
        woken
    }

    /// Ready once every queued byte has reached the socket (nothing buffered, no
    /// flusher, no TLS record waiting): `start_tls` switches only then. The
    /// connection's error if it failed; `BrokenPipe` once closing.
    #[cfg(feature = "tls")]
    pub(crate) fn poll_sent(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut st = self.st.borrow_mut();
        if let Some(e) = &st.error {
            return Poll::Ready(Err(e.get()));
        }
        if st.closing || st.eof_requested {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the connection is closing",
            )));
        }
        if st.buf.is_empty() && !st.flusher && !self.transport.has_pending_output() {
            return Poll::Ready(Ok(()));
        }
        register(&mut st.drain_waiters, cx.waker());
        Poll::Pending
    }

    /// The byte stream underneath.
    #[cfg(feature = "tls")]
    pub(crate) fn transport(&self) -> &Rc<RawStream> {
        &self.transport
    }

    /// Installs the protocol layer's hook (see `State::hook`).
    pub(crate) fn set_hook(&self, hook: Rc<dyn Fn()>) {
        self.st.borrow_mut().hook = Some(hook);
    }

    /// What the protocol layer's hook looks at: above the high-water mark, ended
    /// (closed, aborted or failed), and the connection's error if it failed.
    pub(crate) fn water_and_end(&self) -> (bool, bool, Option<io::Error>) {
        let st = self.st.borrow();
        (st.paused, st.closed, st.error.as_ref().map(|e| e.get()))
    }

    /// `fail`, then wakes whoever waited, once the state is released.
    pub(super) fn fail_now(&self, mut st: RefMut<'_, State>, e: &io::Error) {
        let woken = self.fail(&mut st, e);
        drop(st);
        wake_all(woken);
    }
}

impl AfterBatch for Inner {
    /// The batch is done: send what it wrote, in one go, and hand any rest to a
    /// flusher.
    fn after_batch(self: Rc<Self>) {
        let mut st = self.st.borrow_mut();
        // A batch that brought one write did not need the copy: send at once next time.
        st.coalesce = std::mem::take(&mut st.batch_writes) > 1;
        st.queue_open = false;
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
                if st.buf.is_empty() && !self.transport.has_pending_output() {
                    if std::mem::take(&mut st.paused) {
                        self.notify(&st);
                    }
                    if !st.drain_waiters.is_empty() {
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
