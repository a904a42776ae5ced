//! [`AloopIo`]: a reader/writer pair with futures-io's traits (aloop's `StreamReader`
//! and `StreamWriter`, or any other) as one `hyper::rt::Read + hyper::rt::Write`
//! connection. The executor and the timer are `executor.rs` and `timer.rs`.
//!
//! Why the streams and not the raw socket: the streams are where aloop's write
//! coalescing and back-pressure live (a response hyper writes while other connections
//! are still being served leaves with theirs in one batch, and `poll_flush` waits only
//! while the send queue is above its high-water mark, as asyncio's `drain` does), and a
//! `StreamReader` with nothing buffered reads straight into hyper's buffer.
//!
//! hyper lends its read buffer uninitialised, and safe code must zero memory before
//! lending it as `&mut [u8]` to a reader that might look at it. Zeroing all hyper
//! offers (8 KiB and up) for every read cost more than the rest of a small request's
//! handling (three quarters of hyper-on-aloop's instructions in a `wrk` run), so each
//! read offers a window sized by the reads before it, as hyper sizes its own buffer:
//! small for small requests, growing while reads fill it. What does not fit stays in
//! the `StreamReader`'s own buffer (its socket read is scattered over both) for the
//! next call, so a small window costs a copy, never a syscall.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use aloop::{StreamReader, StreamWriter};
use futures_io::{AsyncRead, AsyncWrite};
use hyper::rt::ReadBufCursor;

/// The smallest and largest read window (see the top of the file).
const MIN_READ: usize = 1024;
const MAX_READ: usize = 64 * 1024;

/// A connection for hyper: reads from `R`, writes to `W` (asyncio's
/// `(reader, writer)` pair; by default aloop's [`StreamReader`] and [`StreamWriter`]).
///
/// hyper's `Read` and `Write` map onto futures-io's `AsyncRead` and `AsyncWrite`, so
/// any pair implementing those works, e.g. the two halves of a futures-io duplex
/// stream from `futures_util::io::AsyncReadExt::split`. Over aloop's streams:
/// `poll_flush` is [`StreamWriter::drain`] (it waits only above the high-water mark;
/// the bytes leave in the background, coalesced with the loop's other writes) and
/// `poll_shutdown` is [`StreamWriter::close`] then `wait_closed`.
///
/// ```
/// use aloop_hyper::AloopIo;
///
/// aloop::run(async {
///     let server = aloop::start_server(
///         |r: aloop::StreamReader, w: aloop::StreamWriter| async move {
///             // A hand-written HTTP server: one request head, one reply.
///             let head = r.readuntil(b"\r\n\r\n").await.unwrap();
///             assert!(head.starts_with(b"GET / HTTP/1.1\r\n"));
///             let _ = w.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi");
///         },
///         "127.0.0.1",
///         0,
///     )
///     .await
///     .unwrap();
///     let (reader, writer) = aloop::open_connection("127.0.0.1", server.sockets()[0].port())
///         .await
///         .unwrap();
///     let io = AloopIo::new(reader, writer);
///     let (mut send, conn) = hyper::client::conn::http1::handshake(io).await.unwrap();
///     aloop::create_task(conn);
///     let req = hyper::Request::new(http_body_util::Empty::<bytes::Bytes>::new());
///     let resp = send.send_request(req).await.unwrap();
///     assert_eq!(resp.status(), 200);
///     server.close();
/// });
/// ```
#[derive(Debug)]
pub struct AloopIo<R = StreamReader, W = StreamWriter> {
    reader: R,
    writer: W,
    /// How much of hyper's buffer the next read is offered (zeroed first).
    read_window: usize,
}

impl<R, W> AloopIo<R, W> {
    /// Pairs a reader and a writer into one connection.
    pub fn new(reader: R, writer: W) -> Self {
        AloopIo {
            reader,
            writer,
            read_window: MIN_READ,
        }
    }

    /// The reader and the writer back (after hyper's `into_parts`, e.g. for an
    /// upgrade).
    pub fn into_inner(self) -> (R, W) {
        (self.reader, self.writer)
    }

    /// The reader.
    pub fn reader(&self) -> &R {
        &self.reader
    }

    /// The writer (for `peername`, `sockname`, write-buffer limits).
    pub fn writer(&self) -> &W {
        &self.writer
    }
}

impl<R: AsyncRead + Unpin, W: Unpin> hyper::rt::Read for AloopIo<R, W> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let want = buf.remaining().min(self.read_window);
        if want == 0 {
            return Poll::Ready(Ok(()));
        }
        let this = self.get_mut();
        // Zeroed first: `R` is any `AsyncRead`, which may read what it is lent.
        let dst = buf.initialize_unfilled_to(want);
        let n = match Pin::new(&mut this.reader).poll_read(cx, dst) {
            Poll::Ready(Ok(n)) => n.min(want),
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        // SAFETY: the first `want` unfilled bytes were initialised (zeroed) by
        // `initialize_unfilled_to` just above, and `n <= want`, so `advance` marks only
        // initialised bytes as filled (its one requirement).
        unsafe { buf.advance(n) };
        // Filled: offer twice as much next time; a quarter or less: half as much.
        if n == this.read_window {
            this.read_window = (this.read_window * 2).min(MAX_READ);
        } else if n <= this.read_window / 4 {
            this.read_window = (this.read_window / 2).max(MIN_READ);
        }
        Poll::Ready(Ok(()))
    }
}

impl<R: Unpin, W: AsyncWrite + Unpin> hyper::rt::Write for AloopIo<R, W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().writer).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().writer).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().writer).poll_close(cx)
    }
}
