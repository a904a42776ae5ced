//! `futures-io`'s traits on the streams, so the Rust ecosystem's I/O code
//! (`futures-util`'s `copy`, `BufReader::lines`, `read_exact`, codecs) runs on them:
//! [`StreamReader`] is `AsyncRead` and `AsyncBufRead`, [`StreamWriter`] is
//! `AsyncWrite`. Both go through the same buffers as the asyncio-style methods, so the
//! two can be mixed on one stream without a byte lost or read twice.
//!
//! `AsyncBufRead` must hand out a slice that outlives the call, which the reader's
//! shared buffer (behind a `RefCell`) cannot lend. So `poll_fill_buf` lends a copy of
//! the buffer's head, kept in the reader, and `consume` drops the same bytes from the
//! buffer itself. The copy is used only while the buffer still starts where it did
//! (its stream position says so); if anything else read meanwhile, a fresh copy is
//! made.

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};

use super::reader::StreamReader;
use super::writer::StreamWriter;

/// How much one `poll_fill_buf` lends at most.
const VIEW_MAX: usize = 64 * 1024;

impl AsyncRead for StreamReader {
    /// As [`StreamReader::read_into`]: what is buffered, else one read from the socket
    /// (0 at end-of-stream).
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_read_into(cx, buf)
    }
}

impl AsyncBufRead for StreamReader {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        let fresh = this.view_at + this.view_pos as u64 == this.inner.position();
        // A stored error fails this read too, even with a window still lent (as every
        // other read fails with bytes still buffered, H11).
        if !(fresh && this.view_pos < this.view.len()) || this.inner.has_exception() {
            this.view_at = ready!(this.inner.poll_peek(cx, &mut this.view, VIEW_MAX))?;
            this.view_pos = 0;
        }
        Poll::Ready(Ok(&this.view[this.view_pos..]))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        let this = self.get_mut();
        this.inner.discard(amt);
        if this.view_at + this.view_pos as u64 + amt as u64 == this.inner.position() {
            this.view_pos = (this.view_pos + amt).min(this.view.len());
        } else {
            this.view.clear();
            this.view_pos = 0;
        }
    }
}

impl AsyncWrite for StreamWriter {
    /// Queues `buf` as [`StreamWriter::write`] does, after waiting (as `drain`) while
    /// the queue is above its high-water mark: the back-pressure futures-io callers
    /// expect. Returns all of `buf` as written.
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_drain(cx))?;
        self.write(buf)?;
        Poll::Ready(Ok(buf.len()))
    }

    /// [`drain`](StreamWriter::drain): down to the low-water mark (asyncio's meaning of
    /// flushing a transport; the rest goes out in the background).
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_drain(cx)
    }

    /// [`close`](StreamWriter::close), then waits until it is done
    /// ([`wait_closed`](StreamWriter::wait_closed)).
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.close();
        self.poll_closed(cx)
    }
}
