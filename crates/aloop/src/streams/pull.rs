//! How a [`StreamReader`](super::StreamReader) gets its bytes and answers each kind of
//! read: the reader's state and one `poll_*` per read method.
//!
//! asyncio's transport pushes every chunk it receives into the reader and pauses
//! reading when the buffer passes twice the limit. Here the reader *pulls*: a read asks
//! the socket for more only when the buffer cannot answer, straight into the buffer's
//! spare capacity. That gives flow control for free (unread data stays in the kernel,
//! where TCP's window slows the peer down) and costs no allocation or copy per chunk in
//! steady state. A reader made with `StreamReader::new` has no socket and is fed by
//! hand, exactly as asyncio's standalone `StreamReader`.
//!
//! Every `poll_*` holds one borrow of the state for its whole poll, answers from the
//! buffer when it can (no syscall, no poller) and goes to the socket only when it
//! cannot. The reads a server awaits per field (`readline*`, `readexactly*`) first
//! look at the buffer in a few lines that are inlined into the caller's future (their
//! futures are named in read_futures.rs for that); the rest of each read stays here,
//! out of line.
//!
//! The reads into a caller's buffer (`read_into`, `readexactly_into`) with nothing
//! buffered take one socket read, straight into the caller's buffer; only a small
//! `readexactly_into` goes through the reader's room and a copy, so that its read
//! proves the socket drained (`poll_direct`).

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::task::{ready, Context, Poll, Waker};

use memchr::memmem::Finder;

use super::buffer::{ReadBuffer, MIN_READ};
use super::error::{IncompleteReadError, LimitOverrunError, ReadError, StoredError};
use super::raw_stream::RawStream;
use super::search::{find_byte, Scan, Search};
use crate::task::{note_wait, WaitKind};

/// `repr(C)`, the fields every read looks at first, in one or two cache lines (see
/// `send_queue::State`, which does the same for writes).
#[repr(C)]
pub(super) struct State {
    pub(super) buf: ReadBuffer,
    /// Boxed: almost always `None`, and one word here instead of five.
    pub(super) exception: Option<Box<StoredError>>,
    pub(super) eof: bool,
    /// The task waiting on a hand-fed reader (a connected one waits on the socket).
    pub(super) waker: Option<Waker>,
    /// The last multi-byte `readuntil` separator's searcher, kept for the next call.
    pub(super) finder: Option<Rc<Finder<'static>>>,
}

/// What a `readuntil`-like read answers at EOF with no separator buffered.
#[derive(Clone, Copy)]
pub(super) enum AtEof {
    /// `IncompleteReadError` with the rest (`readuntil`).
    Fail,
    /// The rest, as the last line (`readline`; empty once nothing is left).
    Partial,
}

/// The `take` of the reads that append to a caller's `Vec`: returns how many bytes.
#[inline(always)]
fn append(dst: &mut Vec<u8>) -> impl FnOnce(&mut ReadBuffer, usize) -> usize + '_ {
    |buf, n| {
        buf.consume_append(n, dst);
        n
    }
}

/// `repr(C)`: the socket and the state's hot part next to each other.
#[repr(C)]
pub(super) struct Inner {
    pub(super) source: Option<Rc<RawStream>>,
    pub(super) state: RefCell<State>,
    pub(super) limit: usize,
}

/// The stored exception, as an error to return (asyncio raises it on every read).
macro_rules! check {
    ($st:expr) => {
        if let Some(e) = &$st.exception {
            return Poll::Ready(Err(e.get().into()));
        }
    };
}

impl Inner {
    pub(super) fn new(source: Option<Rc<RawStream>>, limit: usize) -> Inner {
        Inner {
            state: RefCell::new(State {
                buf: ReadBuffer::new(),
                eof: false,
                exception: None,
                waker: None,
                finder: None,
            }),
            source,
            limit,
        }
    }

    /// Makes progress towards more data (at least `want` bytes of room for a socket
    /// read): a socket read, or registering to be woken by `feed_*`. A socket that is
    /// not readable is waited for before any of the read is built: most reads of a
    /// request/response exchange are first polled before the answer is there.
    /// `Ready(Ok)` means "look again" (data arrived or EOF is now set). The caller has
    /// checked for an exception and for EOF.
    fn poll_fill(&self, st: &mut State, cx: &mut Context<'_>, want: usize) -> Poll<io::Result<()>> {
        let Some(source) = &self.source else {
            let starts = match &mut st.waker {
                Some(w) if w.will_wake(cx.waker()) => false,
                slot => {
                    *slot = Some(cx.waker().clone());
                    true
                }
            };
            note_wait(WaitKind::Feed, starts);
            return Poll::Pending;
        };
        ready!(poll_readable(source, &mut st.buf, cx));
        let r = source.poll_read(cx, st.buf.spare(want));
        let n = ready!(settle(st, cx, r))?;
        st.buf.commit(n);
        Poll::Ready(Ok(()))
    }

    /// With the buffer empty: one socket read for `dst` (0: EOF), usually straight
    /// into it. A read into room it does not fill proves the socket drained, and the
    /// reactor then waits for the next edge instead of paying for a `WouldBlock` read
    /// (one that fills `dst` exactly leaves readiness set). `exact`: the caller wants
    /// all of `dst` (`readexactly_into`), which the read would fill exactly, proving
    /// nothing: a small `dst` is then read through the buffer's bigger room and
    /// copied, which takes whatever else is queued in the same call too. (A
    /// scattering read into both would save the copy, but `readv` costs the kernel
    /// more than copying a few KiB: crates/aloop-reactor/README.md.)
    fn poll_direct(
        &self,
        st: &mut State,
        cx: &mut Context<'_>,
        source: &RawStream,
        dst: &mut [u8],
        exact: bool,
    ) -> Poll<io::Result<usize>> {
        ready!(poll_readable(source, &mut st.buf, cx));
        if !exact || dst.len() >= MIN_READ {
            let r = source.poll_read(cx, dst);
            let n = ready!(settle(st, cx, r))?;
            st.buf.skip(n);
            return Poll::Ready(Ok(n));
        }
        let r = source.poll_read(cx, st.buf.spare(0));
        let total = ready!(settle(st, cx, r))?;
        st.buf.commit(total);
        let n = total.min(dst.len());
        st.buf.consume_into(&mut dst[..n]);
        Poll::Ready(Ok(n))
    }

    /// `AsyncBufRead::poll_fill_buf`: copies up to `max` buffered bytes into `view`
    /// without consuming them, reading from the socket first if nothing is buffered
    /// (`view` empty: end-of-stream). Returns the stream position the copy starts at,
    /// so the caller can tell later whether the buffer still starts there.
    pub(super) fn poll_peek(
        &self,
        cx: &mut Context<'_>,
        view: &mut Vec<u8>,
        max: usize,
    ) -> Poll<io::Result<u64>> {
        let mut st = self.state.borrow_mut();
        loop {
            check!(st);
            if !st.buf.is_empty() || st.eof {
                let bytes = st.buf.as_slice();
                view.clear();
                view.extend_from_slice(&bytes[..bytes.len().min(max)]);
                return Poll::Ready(Ok(st.buf.consumed()));
            }
            ready!(self.poll_fill(&mut st, cx, 0))?;
        }
    }

    /// Whether an error is stored (every read fails with it).
    pub(super) fn has_exception(&self) -> bool {
        self.state.borrow().exception.is_some()
    }

    /// The stream position of the first buffered byte.
    pub(super) fn position(&self) -> u64 {
        self.state.borrow().buf.consumed()
    }

    /// `AsyncBufRead::consume`: drops up to `n` buffered bytes.
    pub(super) fn discard(&self, n: usize) {
        let mut st = self.state.borrow_mut();
        let n = n.min(st.buf.len());
        st.buf.discard(n);
    }

    pub(super) fn poll_read_into(
        &self,
        cx: &mut Context<'_>,
        dst: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut st = self.state.borrow_mut();
        loop {
            check!(st);
            if dst.is_empty() || (st.eof && st.buf.is_empty()) {
                return Poll::Ready(Ok(0));
            }
            if !st.buf.is_empty() {
                let n = dst.len().min(st.buf.len());
                st.buf.consume_into(&mut dst[..n]);
                return Poll::Ready(Ok(n));
            }
            if let Some(source) = &self.source {
                return self.poll_direct(&mut st, cx, source, dst, false);
            }
            ready!(self.poll_fill(&mut st, cx, 0))?;
        }
    }

    /// The first look of `readexactly` and `readexactly_into`: `take`s the first `n`
    /// buffered bytes if they are all there and no error is stored. `None` (nothing
    /// taken) leaves every other case to the out-of-line loop.
    #[inline(always)]
    pub(super) fn take_buffered_exactly<T>(
        &self,
        n: usize,
        take: impl FnOnce(&mut ReadBuffer) -> T,
    ) -> Option<T> {
        let mut st = self.state.borrow_mut();
        if st.exception.is_some() || st.buf.len() < n {
            return None;
        }
        Some(take(&mut st.buf))
    }

    /// `readexactly_into`'s step. Bytes move into `dst[..*filled]` as they come (from
    /// the buffer, or straight from the socket); `ReadExactlyInto` puts them back if
    /// it is dropped before `dst` is full, so a cancelled read loses nothing.
    pub(super) fn poll_readexactly_into(
        &self,
        cx: &mut Context<'_>,
        dst: &mut [u8],
        filled: &mut usize,
    ) -> Poll<Result<(), ReadError>> {
        let mut st = self.state.borrow_mut();
        loop {
            check!(st);
            if !st.buf.is_empty() {
                let take = (dst.len() - *filled).min(st.buf.len());
                st.buf.consume_into(&mut dst[*filled..*filled + take]);
                *filled += take;
            }
            if *filled == dst.len() {
                *filled = 0;
                return Poll::Ready(Ok(()));
            }
            if st.eof {
                let partial = dst[..*filled].to_vec();
                *filled = 0;
                return Poll::Ready(Err(ReadError::IncompleteRead(IncompleteReadError {
                    partial,
                    expected: Some(dst.len()),
                })));
            }
            match &self.source {
                Some(source) => {
                    let rest = &mut dst[*filled..];
                    *filled += ready!(self.poll_direct(&mut st, cx, source, rest, true))?;
                }
                None => ready!(self.poll_fill(&mut st, cx, 0))?,
            }
        }
    }

    pub(super) fn poll_read(&self, cx: &mut Context<'_>, n: usize) -> Poll<io::Result<Vec<u8>>> {
        let mut st = self.state.borrow_mut();
        loop {
            check!(st);
            if n == 0 || (st.eof && st.buf.is_empty()) {
                return Poll::Ready(Ok(Vec::new()));
            }
            if !st.buf.is_empty() {
                let take = n.min(st.buf.len());
                return Poll::Ready(Ok(st.buf.consume(take)));
            }
            ready!(self.poll_fill(&mut st, cx, 0))?;
        }
    }

    pub(super) fn poll_read_to_eof(&self, cx: &mut Context<'_>) -> Poll<io::Result<Vec<u8>>> {
        let mut st = self.state.borrow_mut();
        loop {
            check!(st);
            if st.eof {
                let n = st.buf.len();
                return Poll::Ready(Ok(st.buf.consume(n)));
            }
            ready!(self.poll_fill(&mut st, cx, 0))?;
        }
    }

    /// Waits until `n` bytes are buffered (they stay there until then, so dropping the
    /// read loses nothing), then returns them. At EOF first, the whole buffer as an
    /// `IncompleteReadError`. Inlined into the caller for the usual case, the bytes
    /// all buffered already (`take_buffered_exactly`); the rest is
    /// `poll_readexactly_wait`.
    #[inline(always)]
    pub(super) fn poll_readexactly(
        &self,
        cx: &mut Context<'_>,
        n: usize,
    ) -> Poll<Result<Vec<u8>, ReadError>> {
        if let Some(bytes) = self.take_buffered_exactly(n, |buf| buf.consume(n)) {
            return Poll::Ready(Ok(bytes));
        }
        self.poll_readexactly_wait(cx, n)
    }

    fn poll_readexactly_wait(
        &self,
        cx: &mut Context<'_>,
        n: usize,
    ) -> Poll<Result<Vec<u8>, ReadError>> {
        let mut st = self.state.borrow_mut();
        loop {
            check!(st);
            let len = st.buf.len();
            if len >= n {
                return Poll::Ready(Ok(st.buf.consume(n)));
            }
            if st.eof {
                return Poll::Ready(Err(ReadError::IncompleteRead(IncompleteReadError {
                    partial: st.buf.consume(len),
                    expected: Some(n),
                })));
            }
            // Room for the whole rest at once, so a large read takes one syscall.
            ready!(self.poll_fill(&mut st, cx, n - len))?;
        }
    }

    /// asyncio's `readuntil` loop; `search` remembers across polls how far the buffer
    /// was searched, so a long line is scanned once, not once per chunk.
    pub(super) fn poll_readuntil(
        &self,
        cx: &mut Context<'_>,
        search: &mut Search,
        at_eof: AtEof,
    ) -> Poll<Result<Vec<u8>, ReadError>> {
        self.poll_readuntil_with(cx, search, at_eof, |buf, n| buf.consume(n))
    }

    /// `poll_readuntil` appending the bytes to `dst`: returns how many.
    pub(super) fn poll_readuntil_into(
        &self,
        cx: &mut Context<'_>,
        search: &mut Search,
        at_eof: AtEof,
        dst: &mut Vec<u8>,
    ) -> Poll<Result<usize, ReadError>> {
        self.poll_readuntil_with(cx, search, at_eof, append(dst))
    }

    /// `readline`: `poll_readuntil` for `\n`, inlined into the caller's future for
    /// the usual case: a server's second and later lines of a request are nearly
    /// always buffered already (the socket read that brought the first brought the
    /// rest), and `take_buffered_line` takes them in a few instructions. `readuntil`
    /// has no such look: an HTTP head, its usual use, comes one per request, so its
    /// first poll nearly always finds the buffer empty, and the inlined look only made
    /// its future bigger (+90 instructions per request in the HTTP cell).
    #[inline(always)]
    pub(super) fn poll_readline(
        &self,
        cx: &mut Context<'_>,
        search: &mut Search,
    ) -> Poll<Result<Vec<u8>, ReadError>> {
        if let Some(bytes) = self.take_buffered_line(search, |buf, n| buf.consume(n)) {
            return Poll::Ready(Ok(bytes));
        }
        self.poll_readuntil(cx, search, AtEof::Partial)
    }

    /// `readline_into`: `poll_readline` appending to `dst`.
    #[inline(always)]
    pub(super) fn poll_readline_into(
        &self,
        cx: &mut Context<'_>,
        search: &mut Search,
        dst: &mut Vec<u8>,
    ) -> Poll<Result<usize, ReadError>> {
        if let Some(n) = self.take_buffered_line(search, append(dst)) {
            return Poll::Ready(Ok(n));
        }
        self.poll_readuntil_into(cx, search, AtEof::Partial, dst)
    }

    /// The first look of a line search that has looked at nothing yet: takes the
    /// line, with its `\n`, if it is buffered, within the limit, and no error is
    /// stored. `None` (nothing taken) leaves every other case to `poll_readuntil*`.
    #[inline(always)]
    fn take_buffered_line<T>(
        &self,
        search: &Search,
        take: impl FnOnce(&mut ReadBuffer, usize) -> T,
    ) -> Option<T> {
        if !search.is_fresh() {
            return None;
        }
        let mut st = self.state.borrow_mut();
        // Empty: the socket read is still to come (the usual first poll of a request).
        if st.buf.is_empty() || st.exception.is_some() {
            return None;
        }
        let i = find_byte(b'\n', st.buf.as_slice())?;
        if i > self.limit {
            return None;
        }
        Some(take(&mut st.buf, i + 1))
    }

    /// The search loop of both: `take` removes the `n` bytes up to and including the
    /// separator once they are buffered (or, at EOF for a line, the rest).
    #[inline]
    fn poll_readuntil_with<T>(
        &self,
        cx: &mut Context<'_>,
        search: &mut Search,
        at_eof: AtEof,
        take: impl FnOnce(&mut ReadBuffer, usize) -> T,
    ) -> Poll<Result<T, ReadError>> {
        if search.is_empty() {
            return Poll::Ready(Err(ReadError::EmptySeparator));
        }
        let mut st = self.state.borrow_mut();
        let isep = loop {
            check!(st);
            match search.scan(&st.buf, self.limit) {
                Scan::Found(i) => break i,
                Scan::Overrun(consumed) => {
                    return Poll::Ready(Err(ReadError::LimitOverrun(LimitOverrunError {
                        consumed,
                        message: LimitOverrunError::NOT_FOUND,
                    })))
                }
                Scan::NotYet => {}
            }
            if st.eof {
                let len = st.buf.len();
                if let AtEof::Partial = at_eof {
                    return Poll::Ready(Ok(take(&mut st.buf, len)));
                }
                return Poll::Ready(Err(ReadError::IncompleteRead(IncompleteReadError {
                    partial: st.buf.consume(len),
                    expected: None,
                })));
            }
            ready!(self.poll_fill(&mut st, cx, 0))?;
        };
        if isep > self.limit {
            return Poll::Ready(Err(ReadError::LimitOverrun(LimitOverrunError {
                consumed: isep,
                message: LimitOverrunError::FOUND,
            })));
        }
        Poll::Ready(Ok(take(&mut st.buf, isep + search.sep_len())))
    }

    pub(super) fn wake(&self) {
        let waker = self.state.borrow_mut().waker.take();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// What a socket read means for the reader: 0 bytes is EOF (kept), an error is kept
/// for every later read, `Interrupted` is retried on the next poll. A read that must
/// wait tells the task dump (`task/wait_note.rs`).
fn settle(
    st: &mut State,
    cx: &mut Context<'_>,
    r: Poll<io::Result<usize>>,
) -> Poll<io::Result<usize>> {
    match r {
        Poll::Ready(Ok(0)) => {
            st.eof = true;
            Poll::Ready(Ok(0))
        }
        Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
        Poll::Ready(Err(e)) => {
            st.exception = Some(Box::new(StoredError::new(&e)));
            Poll::Ready(Err(e))
        }
        Poll::Pending => {
            note_wait(WaitKind::SocketRead, true);
            Poll::Pending
        }
        r => r,
    }
}

/// `Pending`, the task registered and its wait noted, while the socket is not
/// readable (see `Inner::poll_fill`); `Ready`: go and read. A reader found waiting
/// with nothing buffered gives back room grown for a burst (`ReadBuffer::idle`).
#[inline]
fn poll_readable(source: &RawStream, buf: &mut ReadBuffer, cx: &mut Context<'_>) -> Poll<()> {
    if source.poll_read_ready(cx).is_pending() {
        note_wait(WaitKind::SocketRead, true);
        buf.idle();
        return Poll::Pending;
    }
    Poll::Ready(())
}
