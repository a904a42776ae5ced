//! `StreamReader`: asyncio's buffered reader (`read`, `readline`, `readuntil`,
//! `readexactly`, `at_eof`, `feed_data`, ...) over a pull model.
//!
//! asyncio's transport pushes every chunk it receives into the reader and pauses
//! reading when the buffer passes twice the limit. Here the reader *pulls*: a read asks
//! the socket for more only when the buffer cannot answer, straight into the buffer's
//! spare capacity. That gives flow control for free (unread data stays in the kernel,
//! where TCP's window slows the peer down) and costs no allocation or copy per chunk in
//! steady state. A reader made with [`StreamReader::new`] has no socket and is fed by
//! hand, exactly as asyncio's standalone `StreamReader`.
//!
//! One task reads at a time, as asyncio requires (it raises `RuntimeError` for a
//! second concurrent reader); here a second waiter simply replaces the first one's
//! wake-up on a hand-fed reader.

use std::cell::RefCell;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;

use super::buffer::ReadBuffer;
use super::error::{IncompleteReadError, LimitOverrunError, ReadError, StoredError};
use super::transport::Transport;

/// The default limit of [`StreamReader`]: 64 KiB, as asyncio's `_DEFAULT_LIMIT`.
pub const DEFAULT_LIMIT: usize = 64 * 1024;

struct State {
    buf: ReadBuffer,
    eof: bool,
    exception: Option<StoredError>,
    /// The task waiting on a hand-fed reader (a connected one waits on the socket).
    waker: Option<Waker>,
}

struct Inner {
    state: RefCell<State>,
    source: Option<Rc<Transport>>,
    limit: usize,
}

macro_rules! ready {
    ($e:expr) => {
        match $e {
            Poll::Ready(v) => v,
            Poll::Pending => return Poll::Pending,
        }
    };
}

impl Inner {
    /// Makes progress towards more data: a socket read, or registering to be woken by
    /// `feed_*`. `Ready(Ok)` means "look again" (data arrived or EOF is now set).
    fn poll_fill(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let mut st = self.state.borrow_mut();
        if let Some(e) = &st.exception {
            return Poll::Ready(Err(e.get()));
        }
        if st.eof {
            return Poll::Ready(Ok(()));
        }
        let Some(source) = &self.source else {
            match &mut st.waker {
                Some(w) if w.will_wake(cx.waker()) => {}
                slot => *slot = Some(cx.waker().clone()),
            }
            return Poll::Pending;
        };
        match source.poll_read(cx, st.buf.spare()) {
            Poll::Ready(Ok(0)) => st.eof = true,
            Poll::Ready(Ok(n)) => st.buf.commit(n),
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready(Err(e)) => {
                st.exception = Some(StoredError::new(&e));
                return Poll::Ready(Err(e));
            }
            Poll::Pending => return Poll::Pending,
        }
        Poll::Ready(Ok(()))
    }

    fn check(&self) -> io::Result<()> {
        match &self.state.borrow().exception {
            Some(e) => Err(e.get()),
            None => Ok(()),
        }
    }

    fn poll_read(&self, cx: &mut Context<'_>, n: usize) -> Poll<io::Result<Vec<u8>>> {
        loop {
            self.check()?;
            {
                let mut st = self.state.borrow_mut();
                if n == 0 {
                    return Poll::Ready(Ok(Vec::new()));
                }
                if !st.buf.is_empty() {
                    let take = n.min(st.buf.len());
                    return Poll::Ready(Ok(st.buf.consume(take)));
                }
                if st.eof {
                    return Poll::Ready(Ok(Vec::new()));
                }
            }
            ready!(self.poll_fill(cx))?;
        }
    }

    fn poll_read_to_eof(&self, cx: &mut Context<'_>) -> Poll<io::Result<Vec<u8>>> {
        loop {
            self.check()?;
            {
                let mut st = self.state.borrow_mut();
                if st.eof {
                    let n = st.buf.len();
                    return Poll::Ready(Ok(st.buf.consume(n)));
                }
            }
            ready!(self.poll_fill(cx))?;
        }
    }

    fn poll_readexactly(&self, cx: &mut Context<'_>, n: usize) -> Poll<Result<Vec<u8>, ReadError>> {
        loop {
            self.check()?;
            {
                let mut st = self.state.borrow_mut();
                if st.buf.len() >= n {
                    return Poll::Ready(Ok(st.buf.consume(n)));
                }
                if st.eof {
                    let len = st.buf.len();
                    return Poll::Ready(Err(ReadError::IncompleteRead(IncompleteReadError {
                        partial: st.buf.consume(len),
                        expected: Some(n),
                    })));
                }
            }
            ready!(self.poll_fill(cx))?;
        }
    }

    /// asyncio's `readuntil` loop; `offset` (where the search resumes) survives
    /// between polls so a long line is scanned once, not once per chunk.
    fn poll_readuntil(
        &self,
        cx: &mut Context<'_>,
        sep: &[u8],
        offset: &mut usize,
    ) -> Poll<Result<Vec<u8>, ReadError>> {
        if sep.is_empty() {
            return Poll::Ready(Err(ReadError::EmptySeparator));
        }
        let isep = loop {
            self.check()?;
            {
                let mut st = self.state.borrow_mut();
                let data = st.buf.as_slice();
                if *offset > data.len() {
                    *offset = 0; // someone else consumed meanwhile: search again
                }
                if data.len() - *offset >= sep.len() {
                    if let Some(i) = find(&data[*offset..], sep) {
                        break *offset + i;
                    }
                    *offset = data.len() + 1 - sep.len();
                    if *offset > self.limit {
                        return Poll::Ready(Err(ReadError::LimitOverrun(LimitOverrunError {
                            consumed: *offset,
                            message: LimitOverrunError::NOT_FOUND,
                        })));
                    }
                }
                if st.eof {
                    let len = st.buf.len();
                    return Poll::Ready(Err(ReadError::IncompleteRead(IncompleteReadError {
                        partial: st.buf.consume(len),
                        expected: None,
                    })));
                }
            }
            ready!(self.poll_fill(cx))?;
        };
        if isep > self.limit {
            return Poll::Ready(Err(ReadError::LimitOverrun(LimitOverrunError {
                consumed: isep,
                message: LimitOverrunError::FOUND,
            })));
        }
        *offset = 0;
        Poll::Ready(Ok(self.state.borrow_mut().buf.consume(isep + sep.len())))
    }

    /// `readuntil(b"\n")`, returning a partial last line at EOF. Unlike asyncio (H8),
    /// a line over the limit is *not* discarded: the error leaves the buffer intact.
    fn poll_readline(
        &self,
        cx: &mut Context<'_>,
        offset: &mut usize,
    ) -> Poll<Result<Vec<u8>, ReadError>> {
        match ready!(self.poll_readuntil(cx, b"\n", offset)) {
            Err(ReadError::IncompleteRead(e)) => Poll::Ready(Ok(e.partial)),
            other => Poll::Ready(other),
        }
    }

    fn wake(&self) {
        let waker = self.state.borrow_mut().waker.take();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if let [b] = needle {
        return haystack.iter().position(|x| x == b);
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A buffered reader of a byte stream (asyncio's `StreamReader`).
///
/// [`open_connection`](crate::open_connection) and the server callback of
/// [`start_server`](crate::start_server) hand one out, reading from the socket; a
/// reader made with [`StreamReader::new`] is fed by hand with
/// [`feed_data`](StreamReader::feed_data) / [`feed_eof`](StreamReader::feed_eof).
/// Cloning is cheap and yields another handle to the same reader. The read methods
/// return `'static` futures (they hold a handle), so a read can be given to
/// [`create_task`](crate::create_task).
///
/// ```
/// aloop::run(async {
///     let r = aloop::StreamReader::new();
///     r.feed_data(b"one\ntwo\nthree");
///     r.feed_eof();
///     assert_eq!(r.readline().await.unwrap(), b"one\n");
///     assert_eq!(r.read(2).await.unwrap(), b"tw");
///     assert_eq!(r.readexactly(2).await.unwrap(), b"o\n");
///     assert_eq!(r.read_to_eof().await.unwrap(), b"three");
///     assert!(r.at_eof());
/// });
/// ```
#[derive(Clone)]
pub struct StreamReader {
    inner: Rc<Inner>,
}

impl StreamReader {
    /// A hand-fed reader with the default limit (64 KiB).
    pub fn new() -> StreamReader {
        StreamReader::with_limit(DEFAULT_LIMIT)
    }

    /// A hand-fed reader whose `readuntil`/`readline` chunks may be `limit` bytes long.
    pub fn with_limit(limit: usize) -> StreamReader {
        StreamReader::build(None, limit)
    }

    pub(crate) fn from_transport(source: Rc<Transport>, limit: usize) -> StreamReader {
        StreamReader::build(Some(source), limit)
    }

    fn build(source: Option<Rc<Transport>>, limit: usize) -> StreamReader {
        StreamReader {
            inner: Rc::new(Inner {
                state: RefCell::new(State {
                    buf: ReadBuffer::new(),
                    eof: false,
                    exception: None,
                    waker: None,
                }),
                source,
                limit,
            }),
        }
    }

    /// The limit on the chunk `readuntil`/`readline` may return.
    pub fn limit(&self) -> usize {
        self.inner.limit
    }

    /// Appends bytes to the buffer and wakes a waiting read. Ignored after
    /// [`feed_eof`](Self::feed_eof) (asyncio asserts instead).
    pub fn feed_data(&self, data: &[u8]) {
        {
            let mut st = self.inner.state.borrow_mut();
            if data.is_empty() || st.eof {
                return;
            }
            st.buf.extend(data);
        }
        self.inner.wake();
    }

    /// Marks the end of the stream and wakes a waiting read.
    pub fn feed_eof(&self) {
        self.inner.state.borrow_mut().eof = true;
        self.inner.wake();
    }

    /// Makes every later read fail with `error`, even with data still buffered (H11),
    /// and wakes a waiting read.
    pub fn set_exception(&self, error: io::Error) {
        self.inner.state.borrow_mut().exception = Some(StoredError::new(&error));
        self.inner.wake();
    }

    /// The error set on the reader (by [`set_exception`](Self::set_exception) or a
    /// failed socket read), if any.
    pub fn exception(&self) -> Option<io::Error> {
        self.inner
            .state
            .borrow()
            .exception
            .as_ref()
            .map(StoredError::get)
    }

    /// Whether the stream ended and the buffer is empty.
    pub fn at_eof(&self) -> bool {
        let st = self.inner.state.borrow();
        st.eof && st.buf.is_empty()
    }

    /// Up to `n` bytes: whatever is buffered (without waiting to fill `n`), waiting only
    /// while the buffer is empty. `read(0)` returns empty at once; at EOF, empty.
    pub fn read(&self, n: usize) -> impl Future<Output = io::Result<Vec<u8>>> + 'static {
        let inner = self.inner.clone();
        async move { poll_fn(|cx| inner.poll_read(cx, n)).await }
    }

    /// Everything up to the end of the stream (asyncio's `read(-1)`).
    pub fn read_to_eof(&self) -> impl Future<Output = io::Result<Vec<u8>>> + 'static {
        let inner = self.inner.clone();
        async move { poll_fn(|cx| inner.poll_read_to_eof(cx)).await }
    }

    /// Exactly `n` bytes; at EOF first, [`ReadError::IncompleteRead`] with the bytes
    /// read and `expected: Some(n)`.
    pub fn readexactly(
        &self,
        n: usize,
    ) -> impl Future<Output = Result<Vec<u8>, ReadError>> + 'static {
        let inner = self.inner.clone();
        async move { poll_fn(|cx| inner.poll_readexactly(cx, n)).await }
    }

    /// The bytes up to and including `separator` (which may be several bytes long).
    ///
    /// Errors: [`ReadError::EmptySeparator`]; [`ReadError::IncompleteRead`] at EOF (the
    /// rest of the stream in `partial`, the buffer emptied);
    /// [`ReadError::LimitOverrun`] when the chunk before the separator passes the
    /// limit — nothing is removed from the buffer then (H7).
    pub fn readuntil(
        &self,
        separator: &[u8],
    ) -> impl Future<Output = Result<Vec<u8>, ReadError>> + 'static {
        let inner = self.inner.clone();
        let sep = separator.to_vec();
        async move {
            let mut offset = 0;
            poll_fn(|cx| inner.poll_readuntil(cx, &sep, &mut offset)).await
        }
    }

    /// One line, with its `b"\n"`; at EOF the unterminated last line, then empty.
    ///
    /// **Differs from asyncio (H8) on purpose:** a line longer than the limit is a
    /// [`ReadError::LimitOverrun`] that leaves the buffer intact (asyncio discards the
    /// line and raises `ValueError`). Silently dropping up to a limit's worth of a
    /// peer's bytes makes the stream's position unknowable; keeping them lets the
    /// caller decide: consume `consumed` bytes with [`read`](Self::read) or
    /// [`readexactly`](Self::readexactly) and go on, or close the connection.
    pub fn readline(&self) -> impl Future<Output = Result<Vec<u8>, ReadError>> + 'static {
        let inner = self.inner.clone();
        async move {
            let mut offset = 0;
            poll_fn(|cx| inner.poll_readline(cx, &mut offset)).await
        }
    }

    /// The lines of the stream as a [`Stream`] (asyncio's `async for line in reader`):
    /// `readline()` until it returns empty. It ends after yielding an error.
    ///
    /// ```
    /// aloop::run(async {
    ///     let r = aloop::StreamReader::new();
    ///     r.feed_data(b"a\nb\nc");
    ///     r.feed_eof();
    ///     let mut lines = r.lines();
    ///     let mut all = Vec::new();
    ///     while let Some(line) = lines.next_line().await {
    ///         all.push(line.unwrap());
    ///     }
    ///     assert_eq!(all, [b"a\n".to_vec(), b"b\n".to_vec(), b"c".to_vec()]);
    /// });
    /// ```
    pub fn lines(&self) -> Lines {
        Lines {
            inner: self.inner.clone(),
            offset: 0,
            done: false,
        }
    }
}

impl Default for StreamReader {
    fn default() -> Self {
        StreamReader::new()
    }
}

impl fmt::Debug for StreamReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.state.borrow();
        f.debug_struct("StreamReader")
            .field("buffered", &st.buf.len())
            .field("eof", &st.eof)
            .field("limit", &self.inner.limit)
            .field("exception", &st.exception)
            .finish()
    }
}

/// The lines of a [`StreamReader`], from [`StreamReader::lines`]; a
/// `futures_core::Stream` of `io::Result<Vec<u8>>`.
pub struct Lines {
    inner: Rc<Inner>,
    offset: usize,
    done: bool,
}

impl Lines {
    /// The next line, `None` at the end (for callers without `StreamExt`).
    pub fn next_line(&mut self) -> impl Future<Output = Option<io::Result<Vec<u8>>>> + '_ {
        poll_fn(move |cx| Pin::new(&mut *self).poll_next(cx))
    }
}

impl Stream for Lines {
    type Item = io::Result<Vec<u8>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let line = ready!(this.inner.poll_readline(cx, &mut this.offset));
        this.offset = 0;
        match line {
            Ok(line) if line.is_empty() => {
                this.done = true;
                Poll::Ready(None)
            }
            Ok(line) => Poll::Ready(Some(Ok(line))),
            Err(e) => {
                // A limit error would repeat forever; end after reporting it.
                this.done = true;
                Poll::Ready(Some(Err(e.into())))
            }
        }
    }
}

impl fmt::Debug for Lines {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lines").field("done", &self.done).finish()
    }
}
