//! `StreamReader`: asyncio's buffered reader (`read`, `readline`, `readuntil`,
//! `readexactly`, `at_eof`, `feed_data`, ...), plus reads into a buffer the caller
//! owns (`read_into`, `readexactly_into`) and `lines()`. The machinery behind the
//! methods (the pull model, one `poll_*` per read) is in `pull.rs`.
//!
//! One task reads at a time, as asyncio requires (it raises `RuntimeError` for a
//! second concurrent reader); here a second waiter simply replaces the first one's
//! wake-up on a hand-fed reader.

use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{ready, Context, Poll};

use futures_core::Stream;

use super::error::{ReadError, StoredError};
use super::pull::{AtEof, Inner};
use super::raw_stream::RawStream;
use super::read_futures::{ReadExactly, ReadExactlyInto, ReadLine, ReadLineInto};
use super::search::{Search, Separator};

/// The default limit of [`StreamReader`]: 64 KiB, as asyncio's `_DEFAULT_LIMIT`.
pub const DEFAULT_LIMIT: usize = 64 * 1024;

/// asyncio's check on a reader's limit (`ValueError: Limit cannot be <= 0`), as the
/// `InvalidInput` error the functions taking a limit in their options return.
pub(crate) fn check_limit(limit: usize) -> io::Result<()> {
    if limit == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a StreamReader limit cannot be 0",
        ));
    }
    Ok(())
}

/// A buffered reader of a byte stream (asyncio's `StreamReader`).
///
/// [`open_connection`](crate::open_connection) and the server callback of
/// [`start_server`](crate::start_server) hand one out, reading from the socket; a
/// reader made with [`StreamReader::new`] is fed by hand with
/// [`feed_data`](StreamReader::feed_data) / [`feed_eof`](StreamReader::feed_eof).
/// Cloning is cheap and yields another handle to the same reader. The read methods
/// return `'static` futures (they hold a handle), so a read can be given to
/// [`create_task`](crate::create_task); the `_into` reads fill a buffer the caller
/// owns instead of returning a fresh `Vec`, and borrow it.
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
    pub(super) inner: Rc<Inner>,
    /// `AsyncBufRead`'s window: a copy of the buffer's head, valid while the buffer
    /// still starts at `view_at + view_pos` (see `io_traits.rs`).
    pub(super) view: Vec<u8>,
    pub(super) view_pos: usize,
    pub(super) view_at: u64,
}

impl StreamReader {
    /// A hand-fed reader with the default limit (64 KiB).
    pub fn new() -> StreamReader {
        StreamReader::with_limit(DEFAULT_LIMIT)
    }

    /// A hand-fed reader whose `readuntil`/`readline` chunks may be `limit` bytes long.
    ///
    /// # Panics
    ///
    /// If `limit` is 0, as asyncio's `StreamReader(limit=0)` raises `ValueError`: no
    /// line could ever be read. The functions that take a limit in their options
    /// ([`start_server_with`](crate::start_server_with),
    /// [`Subprocess::limit`](crate::subprocess::Subprocess::limit)) return an `InvalidInput`
    /// error instead.
    ///
    /// ```should_panic
    /// let _ = aloop::StreamReader::with_limit(0);
    /// ```
    pub fn with_limit(limit: usize) -> StreamReader {
        if let Err(e) = check_limit(limit) {
            panic!("{e}");
        }
        StreamReader::build(None, limit)
    }

    pub(crate) fn from_transport(source: Rc<RawStream>, limit: usize) -> StreamReader {
        StreamReader::build(Some(source), limit)
    }

    fn build(source: Option<Rc<RawStream>>, limit: usize) -> StreamReader {
        StreamReader {
            inner: Rc::new(Inner::new(source, limit)),
            view: Vec::new(),
            view_pos: 0,
            view_at: 0,
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
        self.inner.state.borrow_mut().exception = Some(Box::new(StoredError::new(&error)));
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
            .map(|e| e.get())
    }

    /// How many bytes the reader holds already: what the next reads can return
    /// without waiting. A server answering pipelined requests can use it to tell
    /// whether another request is (at least partly) waiting before it flushes.
    /// Bytes a pending [`readexactly_into`](Self::readexactly_into) has already
    /// taken into its buffer are not counted.
    ///
    /// ```
    /// aloop::run(async {
    ///     let r = aloop::StreamReader::new();
    ///     r.feed_data(b"GET /a\nGET /b\n");
    ///     assert_eq!(r.buffered(), 14);
    ///     assert_eq!(r.readline().await.unwrap(), b"GET /a\n");
    ///     assert_eq!(r.buffered(), 7); // the next request is already here
    ///     r.readline().await.unwrap();
    ///     assert_eq!(r.buffered(), 0);
    /// });
    /// ```
    pub fn buffered(&self) -> usize {
        self.inner.state.borrow().buf.len()
    }

    /// Whether the stream ended and the buffer is empty. A connection we closed
    /// ourselves (the writer's `close` once it finished, or `abort`) has ended: nothing
    /// more is read from it, as asyncio's transport stops reading at close.
    pub fn at_eof(&self) -> bool {
        let st = self.inner.state.borrow();
        let ended = st.eof
            || self
                .inner
                .source
                .as_ref()
                .is_some_and(|s| s.reading_ended());
        ended && st.buf.is_empty()
    }

    /// Up to `n` bytes: whatever is buffered (without waiting to fill `n`), waiting only
    /// while the buffer is empty. `read(0)` returns empty at once; at EOF, empty.
    pub fn read(&self, n: usize) -> impl Future<Output = io::Result<Vec<u8>>> + 'static {
        let inner = self.inner.clone();
        poll_fn(move |cx| inner.poll_read(cx, n))
    }

    /// [`read`](Self::read) into `buf`: copies up to `buf.len()` bytes of whatever is
    /// buffered, waiting only while the buffer is empty, and returns how many. At EOF
    /// (or for an empty `buf`) it returns 0 at once. The future borrows `buf`; it
    /// completes with its first bytes, so dropping it unfinished loses nothing.
    ///
    /// With nothing buffered, the socket reads straight into `buf` (anything else
    /// queued lands in the reader's buffer in the same syscall): no copy at all.
    ///
    /// ```
    /// aloop::run(async {
    ///     let r = aloop::StreamReader::new();
    ///     r.feed_data(b"hello");
    ///     r.feed_eof();
    ///     let mut buf = [0u8; 4];
    ///     assert_eq!(r.read_into(&mut buf).await.unwrap(), 4);
    ///     assert_eq!(&buf, b"hell");
    ///     assert_eq!(r.read_into(&mut buf).await.unwrap(), 1);
    ///     assert_eq!(buf[0], b'o');
    ///     assert_eq!(r.read_into(&mut buf).await.unwrap(), 0); // EOF
    /// });
    /// ```
    pub fn read_into<'a>(
        &'a self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + 'a {
        poll_fn(move |cx| self.inner.poll_read_into(cx, buf))
    }

    /// Everything up to the end of the stream (asyncio's `read(-1)`).
    pub fn read_to_eof(&self) -> impl Future<Output = io::Result<Vec<u8>>> + 'static {
        let inner = self.inner.clone();
        poll_fn(move |cx| inner.poll_read_to_eof(cx))
    }

    /// Exactly `n` bytes; at EOF first, [`ReadError::IncompleteRead`] with the bytes
    /// read and `expected: Some(n)`.
    pub fn readexactly(
        &self,
        n: usize,
    ) -> impl Future<Output = Result<Vec<u8>, ReadError>> + 'static {
        ReadExactly::new(self.inner.clone(), n)
    }

    /// [`readexactly`](Self::readexactly) into `buf`: fills all of `buf`. At EOF
    /// first, [`ReadError::IncompleteRead`] with every byte that was left in `partial`
    /// and `expected: Some(buf.len())` (`buf` then starts with those bytes too).
    ///
    /// Bytes go into `buf` as they arrive (straight from the socket when nothing is
    /// buffered, as [`read_into`](Self::read_into)). Dropping the future unfinished (a
    /// timeout, a cancelled task) loses nothing: the bytes it had taken go back into
    /// the reader.
    ///
    /// ```
    /// use aloop::ReadError;
    ///
    /// aloop::run(async {
    ///     let r = aloop::StreamReader::new();
    ///     r.feed_data(b"\x00\x03abcxy");
    ///     r.feed_eof();
    ///     let mut header = [0u8; 2];
    ///     r.readexactly_into(&mut header).await.unwrap();
    ///     let mut body = vec![0u8; u16::from_be_bytes(header) as usize];
    ///     r.readexactly_into(&mut body).await.unwrap();
    ///     assert_eq!(body, b"abc");
    ///     match r.readexactly_into(&mut [0u8; 4]).await {
    ///         Err(ReadError::IncompleteRead(e)) => {
    ///             assert_eq!(e.partial, b"xy");
    ///             assert_eq!(e.expected, Some(4));
    ///         }
    ///         other => panic!("{other:?}"),
    ///     }
    /// });
    /// ```
    pub fn readexactly_into<'a>(
        &'a self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = Result<(), ReadError>> + 'a {
        ReadExactlyInto::new(&self.inner, buf)
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
        let sep = Separator::new(separator, &mut inner.state.borrow_mut().finder);
        let mut search = Search::new(sep);
        poll_fn(move |cx| inner.poll_readuntil(cx, &mut search, AtEof::Fail))
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
        ReadLine::new(self.inner.clone())
    }

    /// [`readuntil`](Self::readuntil) appending to `buf` (which it does not clear):
    /// the bytes up to and including `separator`, and how many. The same errors, and
    /// on any error `buf` is left as it was. Nothing is taken from the reader until
    /// the separator is there, so dropping the future unfinished loses nothing.
    ///
    /// A server reading a request's lines into one `Vec` it keeps allocates nothing
    /// per line, where `readuntil` allocates the `Vec` it returns (tokio's
    /// `read_until` and std's `BufRead::read_until` work this way).
    ///
    /// ```
    /// aloop::run(async {
    ///     let r = aloop::StreamReader::new();
    ///     r.feed_data(b"GET / HTTP/1.1\r\nHost: a\r\n\r\nrest");
    ///     let mut head = Vec::new();
    ///     let n = r.readuntil_into(b"\r\n\r\n", &mut head).await.unwrap();
    ///     assert_eq!(n, 27);
    ///     assert!(head.ends_with(b"Host: a\r\n\r\n"));
    ///     assert_eq!(r.buffered(), 4); // "rest" is still the reader's
    /// });
    /// ```
    pub fn readuntil_into<'a>(
        &'a self,
        separator: &[u8],
        buf: &'a mut Vec<u8>,
    ) -> impl Future<Output = Result<usize, ReadError>> + 'a {
        let sep = Separator::new(separator, &mut self.inner.state.borrow_mut().finder);
        let mut search = Search::new(sep);
        poll_fn(move |cx| {
            self.inner
                .poll_readuntil_into(cx, &mut search, AtEof::Fail, buf)
        })
    }

    /// [`readline`](Self::readline) appending to `buf` (which it does not clear): one
    /// line with its `b"\n"`, and how many bytes that is. At EOF, the unterminated last
    /// line, then 0. The limit rule is `readline`'s, and on an error `buf` is left as
    /// it was.
    ///
    /// ```
    /// aloop::run(async {
    ///     let r = aloop::StreamReader::new();
    ///     r.feed_data(b"PING\r\nlast");
    ///     r.feed_eof();
    ///     let mut line = Vec::new();
    ///     assert_eq!(r.readline_into(&mut line).await.unwrap(), 6);
    ///     assert_eq!(line, b"PING\r\n");
    ///     line.clear();
    ///     assert_eq!(r.readline_into(&mut line).await.unwrap(), 4);
    ///     assert_eq!(line, b"last");
    ///     assert_eq!(r.readline_into(&mut line).await.unwrap(), 0); // EOF
    /// });
    /// ```
    pub fn readline_into<'a>(
        &'a self,
        buf: &'a mut Vec<u8>,
    ) -> impl Future<Output = Result<usize, ReadError>> + 'a {
        ReadLineInto::new(&self.inner, buf)
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
            search: Search::line(),
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
    search: Search,
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
        let line = ready!(this
            .inner
            .poll_readuntil(cx, &mut this.search, AtEof::Partial));
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
