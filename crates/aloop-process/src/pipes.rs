//! The parent's ends of a child's standard streams: [`ChildStdin`], [`ChildStdout`],
//! [`ChildStderr`]. Each is a non-blocking pipe registered with a reactor, readable or
//! writable through `&self` (so a stream layer above can share it) and through
//! `futures-io`'s traits.
//!
//! Writing to a child that closed its end fails with `BrokenPipe`; it never kills this
//! process with SIGPIPE (see `command.rs`, which makes sure SIGPIPE is ignored).

use std::fs::File;
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::unix::io::{AsRawFd, OwnedFd, RawFd};
use std::pin::Pin;
use std::task::{Context, Poll};

use aloop_reactor::{Async, Reactor};
use futures_io::{AsyncRead, AsyncWrite};

/// One registered pipe end.
#[derive(Debug)]
struct Pipe(Async<File>);

impl Pipe {
    fn new(fd: OwnedFd, reactor: &Reactor) -> io::Result<Pipe> {
        Ok(Pipe(Async::with_reactor(File::from(fd), reactor)?))
    }

    fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.0.poll_read_with(cx, |mut f| f.read(buf))
    }

    fn poll_read_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        self.0.poll_read_with(cx, |mut f| f.read_vectored(bufs))
    }

    fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.0.poll_write_with(cx, |mut f| f.write(buf))
    }

    fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.0.poll_write_with(cx, |mut f| f.write_vectored(bufs))
    }
}

macro_rules! reading_end {
    ($name:ident, $what:literal) => {
        #[doc = concat!("The parent's end of a child's ", $what, ": a non-blocking pipe on the reactor.")]
        ///
        /// Read it through `&self` with [`poll_read`](Self::poll_read) or through
        /// `futures-io`'s `AsyncRead`. End-of-stream (a read of 0) means the child closed
        /// its end, usually by exiting.
        #[derive(Debug)]
        pub struct $name(Pipe);

        impl $name {
            pub(crate) fn new(fd: OwnedFd, reactor: &Reactor) -> io::Result<$name> {
                Ok($name(Pipe::new(fd, reactor)?))
            }

            /// Reads what the pipe holds into `buf`, waiting until it holds something.
            pub fn poll_read(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
                self.0.poll_read(cx, buf)
            }

            /// One scattering read (`readv`) into `bufs` in turn.
            pub fn poll_read_vectored(
                &self,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                self.0.poll_read_vectored(cx, bufs)
            }
        }

        impl AsRawFd for $name {
            fn as_raw_fd(&self) -> RawFd {
                self.0 .0.as_raw_fd()
            }
        }

        impl AsyncRead for $name {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut [u8],
            ) -> Poll<io::Result<usize>> {
                self.0.poll_read(cx, buf)
            }

            fn poll_read_vectored(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                bufs: &mut [IoSliceMut<'_>],
            ) -> Poll<io::Result<usize>> {
                self.0.poll_read_vectored(cx, bufs)
            }
        }
    };
}

reading_end!(ChildStdout, "standard output");
reading_end!(ChildStderr, "standard error");

/// The parent's end of a child's standard input: a non-blocking pipe on the reactor.
///
/// Dropping it (or `AsyncWrite::poll_close`) closes the pipe, and the child reads
/// end-of-file. A write after the child closed its end (or exited) fails with
/// `BrokenPipe`.
#[derive(Debug)]
pub struct ChildStdin(Option<Pipe>);

impl ChildStdin {
    pub(crate) fn new(fd: OwnedFd, reactor: &Reactor) -> io::Result<ChildStdin> {
        Ok(ChildStdin(Some(Pipe::new(fd, reactor)?)))
    }

    fn pipe(&self) -> io::Result<&Pipe> {
        self.0.as_ref().ok_or_else(|| {
            io::Error::new(io::ErrorKind::BrokenPipe, "the child's stdin was closed")
        })
    }

    /// Writes some of `buf`, waiting until the pipe has room.
    pub fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.pipe()?.poll_write(cx, buf)
    }

    /// One gathering write (`writev`) of `bufs`.
    pub fn poll_write_vectored(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.pipe()?.poll_write_vectored(cx, bufs)
    }

    /// Closes the pipe now (the child reads end-of-file). Idempotent.
    pub fn close(&mut self) {
        self.0 = None;
    }
}

impl AsyncWrite for ChildStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        ChildStdin::poll_write(&self, cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        ChildStdin::poll_write_vectored(&self, cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(())) // nothing is buffered here
    }

    fn poll_close(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.close();
        Poll::Ready(Ok(()))
    }
}
