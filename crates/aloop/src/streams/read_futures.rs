//! The named futures of the reads a server awaits per field: `readline`,
//! `readline_into`, `readexactly` and `readexactly_into`. Their polls are always
//! inlined into the caller's future, so a field already buffered is taken by the first
//! look (`Inner::take_buffered_line` and `Inner::take_buffered_exactly` in pull.rs) in
//! the caller's own code. The other reads are `poll_fn`s in reader.rs.
//!
//! Why named: a poll left out of line returns its result (48 bytes with `ReadError`)
//! through memory, and the caller reading it back stalled on a store it could not
//! forward. `perf annotate` of the `read-fields` cell put a fifth of its time on one
//! load after the call; `poll_fn`'s closure cannot be marked `#[inline(always)]`.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::error::ReadError;
use super::pull::Inner;
use super::search::Search;

/// `readline`'s future: owns its reader, as asyncio's coroutine does.
pub(super) struct ReadLine {
    inner: Rc<Inner>,
    search: Search,
}

impl ReadLine {
    pub(super) fn new(inner: Rc<Inner>) -> ReadLine {
        ReadLine {
            inner,
            search: Search::line(),
        }
    }
}

impl Future for ReadLine {
    type Output = Result<Vec<u8>, ReadError>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.inner.poll_readline(cx, &mut this.search)
    }
}

/// `readline_into`'s future.
pub(super) struct ReadLineInto<'a> {
    inner: &'a Inner,
    dst: &'a mut Vec<u8>,
    search: Search,
}

impl<'a> ReadLineInto<'a> {
    pub(super) fn new(inner: &'a Inner, dst: &'a mut Vec<u8>) -> ReadLineInto<'a> {
        ReadLineInto {
            inner,
            dst,
            search: Search::line(),
        }
    }
}

impl Future for ReadLineInto<'_> {
    type Output = Result<usize, ReadError>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.inner
            .poll_readline_into(cx, &mut this.search, this.dst)
    }
}

/// `readexactly`'s future: owns its reader; the bytes stay in the reader until all
/// `n` are there, so dropping it loses nothing.
pub(super) struct ReadExactly {
    inner: Rc<Inner>,
    n: usize,
}

impl ReadExactly {
    pub(super) fn new(inner: Rc<Inner>, n: usize) -> ReadExactly {
        ReadExactly { inner, n }
    }
}

impl Future for ReadExactly {
    type Output = Result<Vec<u8>, ReadError>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.poll_readexactly(cx, self.n)
    }
}

/// `readexactly_into`'s future: see `Inner::poll_readexactly_into`.
pub(super) struct ReadExactlyInto<'a> {
    inner: &'a Inner,
    buf: &'a mut [u8],
    /// Bytes of `buf` already read (and so out of the reader until put back).
    filled: usize,
}

impl<'a> ReadExactlyInto<'a> {
    pub(super) fn new(inner: &'a Inner, buf: &'a mut [u8]) -> ReadExactlyInto<'a> {
        ReadExactlyInto {
            inner,
            buf,
            filled: 0,
        }
    }
}

impl Future for ReadExactlyInto<'_> {
    type Output = Result<(), ReadError>;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.filled == 0 {
            let dst = &mut *this.buf;
            let taken = this
                .inner
                .take_buffered_exactly(dst.len(), |buf| buf.consume_into(dst));
            if taken.is_some() {
                return Poll::Ready(Ok(()));
            }
        }
        this.inner
            .poll_readexactly_into(cx, this.buf, &mut this.filled)
    }
}

impl ReadExactlyInto<'_> {
    /// Puts the bytes taken so far back into the reader: the read was dropped.
    #[cold]
    #[inline(never)]
    fn give_back(&mut self) {
        // Never borrowed here outside a poll; if it somehow is, losing the bytes
        // beats a panic in a destructor.
        if let Ok(mut st) = self.inner.state.try_borrow_mut() {
            st.buf.unread(&self.buf[..self.filled]);
        }
    }
}

impl Drop for ReadExactlyInto<'_> {
    #[inline]
    fn drop(&mut self) {
        if self.filled > 0 {
            self.give_back();
        }
    }
}
