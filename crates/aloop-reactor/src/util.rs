//! Helpers shared by the stream types: `read_exact`/`write_all` loops, the inherent I/O
//! methods of the stream sockets, and the macro that implements the `futures-io` traits
//! for a stream and a reference to it.

use std::future::poll_fn;
use std::io;
use std::task::{Context, Poll};

/// Polls `read` until `buf` is full; `UnexpectedEof` if the stream ends first.
pub(crate) async fn read_exact(
    mut buf: &mut [u8],
    mut read: impl FnMut(&mut Context<'_>, &mut [u8]) -> Poll<io::Result<usize>>,
) -> io::Result<()> {
    while !buf.is_empty() {
        match poll_fn(|cx| read(cx, buf)).await? {
            0 => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "stream ended before the buffer was filled",
                ))
            }
            n => buf = &mut std::mem::take(&mut buf)[n..],
        }
    }
    Ok(())
}

/// Polls `write` until all of `buf` is written; `WriteZero` if a write makes no
/// progress.
pub(crate) async fn write_all(
    mut buf: &[u8],
    mut write: impl FnMut(&mut Context<'_>, &[u8]) -> Poll<io::Result<usize>>,
) -> io::Result<()> {
    while !buf.is_empty() {
        match poll_fn(|cx| write(cx, buf)).await? {
            0 => {
                return Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "the stream accepted no bytes",
                ))
            }
            n => buf = &buf[n..],
        }
    }
    Ok(())
}

/// Implements `AsyncRead`/`AsyncWrite` for `$t` and `&$t`, where `$t` has inherent
/// `poll_read(&self, ..)`, `poll_read_vectored(&self, ..)`, `poll_write(&self, ..)`,
/// `poll_write_vectored(&self, ..)` and `poll_shutdown_write(&self)`.
/// Closing shuts down the write half (sends FIN), like async-io and tokio.
macro_rules! impl_async_rw {
    ($t:ty) => {
        impl AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                <$t>::poll_read(&*self, cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [io::IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                <$t>::poll_read_vectored(&*self, cx, bufs)
            }
        }

        impl AsyncRead for &$t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                <$t>::poll_read(*self, cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [io::IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                <$t>::poll_read_vectored(*self, cx, bufs)
            }
        }

        impl AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                <$t>::poll_write(&*self, cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                <$t>::poll_write_vectored(&*self, cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                // Sockets keep no user-space buffer: written bytes are in the kernel.
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.poll_shutdown_write()
            }
        }

        impl AsyncWrite for &$t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                <$t>::poll_write(*self, cx, buf)
            }

            fn poll_write_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                <$t>::poll_write_vectored(*self, cx, bufs)
            }

            fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                Poll::Ready(Ok(()))
            }

            fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.poll_shutdown_write()
            }
        }
    };
}

pub(crate) use impl_async_rw;

/// The inherent I/O methods shared by `TcpStream` and `UnixStream` (both wrap an
/// `Async` stream socket in a field named `inner` and have `shutdown`): polled writes,
/// the async `read`/`read_exact`/`write`/`write_all` helpers, and the FIN sent on close.
macro_rules! impl_stream_io {
    ($t:ty) => {
        impl $t {
            /// Polls a write of `buf`; a short write clears readiness (send buffer full).
            pub fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
                self.inner.poll_write_buf(cx, buf, |mut s, b| s.write(b))
            }

            /// Polls a gathering write of `bufs` (one `writev`); a short write clears
            /// readiness like [`poll_write`](Self::poll_write).
            pub fn poll_write_vectored(
                &self,
                cx: &mut Context<'_>,
                bufs: &[io::IoSlice<'_>],
            ) -> Poll<io::Result<usize>> {
                let total: usize = bufs.iter().map(|b| b.len()).sum();
                self.inner.poll_io(
                    Dir::Write,
                    cx,
                    |mut s| s.write_vectored(bufs),
                    |&n| n > 0 && n < total,
                )
            }

            /// Polls until the stream is (probably) readable: `Ready` at once while its
            /// read readiness is set, else the task is registered to be woken when it
            /// turns readable. A hint: the read that follows may still find nothing
            /// (`WouldBlock`), which clears readiness again.
            #[inline]
            pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                // The ready case inline: `poll_readable` is a call into the registration.
                if self.inner.registration().read_ready() {
                    return Poll::Ready(Ok(()));
                }
                self.inner.poll_readable(cx)
            }

            /// Reads some bytes; `Ok(0)` means end of stream.
            pub async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
                poll_fn(|cx| self.poll_read(cx, buf)).await
            }

            /// Reads exactly `buf.len()` bytes, or fails with `UnexpectedEof`.
            pub async fn read_exact(&self, buf: &mut [u8]) -> io::Result<()> {
                crate::util::read_exact(buf, |cx, b| self.poll_read(cx, b)).await
            }

            /// Writes some bytes, returning how many.
            pub async fn write(&self, buf: &[u8]) -> io::Result<usize> {
                poll_fn(|cx| self.poll_write(cx, buf)).await
            }

            /// Writes all of `buf`.
            pub async fn write_all(&self, buf: &[u8]) -> io::Result<()> {
                crate::util::write_all(buf, |cx, b| self.poll_write(cx, b)).await
            }

            fn poll_shutdown_write(&self) -> Poll<io::Result<()>> {
                match self.shutdown(Shutdown::Write) {
                    Err(e) if e.kind() != io::ErrorKind::NotConnected => Poll::Ready(Err(e)),
                    _ => Poll::Ready(Ok(())),
                }
            }
        }
    };
}
pub(crate) use impl_stream_io;
