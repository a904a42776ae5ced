//! `Process::communicate` (asyncio's): feed stdin, read stdout and stderr to their
//! ends, all three at once, then wait for the exit. Doing the three together is what
//! keeps it from deadlocking whatever the sizes: a child blocked writing a full stdout
//! pipe is drained while we are still feeding its stdin, and the other way round.

use std::future::{poll_fn, Future};
use std::io;
use std::pin::pin;
use std::task::Poll;

use super::Process;
use crate::streams::{StreamReader, StreamWriter};

impl Process {
    /// Sends `input` to the child's stdin and closes it, reads its stdout and stderr
    /// until they end, waits for it to exit, and returns what it wrote (asyncio's
    /// `communicate`). A stream that is not a pipe gives an empty `Vec`; so does one
    /// already taken out of the `Process`. `input` needs stdin to be
    /// [`Stdio::Pipe`](super::Stdio::Pipe), or it is ignored.
    ///
    /// A child that exits without reading all of `input` is not an error (asyncio
    /// ignores the `BrokenPipeError` too); the return code tells how it went.
    ///
    /// ```
    /// use aloop::subprocess::Stdio;
    ///
    /// aloop::run(async {
    ///     let mut cat = aloop::create_subprocess_exec("cat", [] as [&str; 0])
    ///         .stdin(Stdio::Pipe)
    ///         .stdout(Stdio::Pipe)
    ///         .await
    ///         .unwrap();
    ///     let big = vec![b'x'; 1 << 20];
    ///     let (out, err) = cat.communicate(Some(&big)).await.unwrap();
    ///     assert_eq!(out, big);
    ///     assert!(err.is_empty());
    /// });
    /// ```
    pub async fn communicate(&mut self, input: Option<&[u8]>) -> io::Result<(Vec<u8>, Vec<u8>)> {
        let fed = feed(self.stdin.take(), input);
        let out = read_all(self.stdout.take());
        let err = read_all(self.stderr.take());
        let (fed, out, err) = join3(fed, out, err).await;
        fed?;
        let (out, err) = (out?, err?);
        self.wait().await?;
        Ok((out, err))
    }
}

async fn feed(stdin: Option<StreamWriter>, input: Option<&[u8]>) -> io::Result<()> {
    let Some(stdin) = stdin else {
        return Ok(());
    };
    let sent = match input {
        Some(data) if !data.is_empty() => match stdin.write(data) {
            Ok(()) => stdin.drain().await,
            Err(e) => Err(e),
        },
        _ => Ok(()),
    };
    stdin.close();
    match sent {
        Err(e)
            if !matches!(
                e.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            ) =>
        {
            Err(e)
        }
        _ => Ok(()),
    }
}

async fn read_all(reader: Option<StreamReader>) -> io::Result<Vec<u8>> {
    match reader {
        Some(reader) => reader.read_to_eof().await,
        None => Ok(Vec::new()),
    }
}

/// Runs three futures to their ends together.
async fn join3<A, B, C>(a: A, b: B, c: C) -> (A::Output, B::Output, C::Output)
where
    A: Future,
    B: Future,
    C: Future,
{
    let (mut a, mut b, mut c) = (pin!(a), pin!(b), pin!(c));
    let (mut ra, mut rb, mut rc) = (None, None, None);
    poll_fn(move |cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if rc.is_none() {
            if let Poll::Ready(v) = c.as_mut().poll(cx) {
                rc = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() && rc.is_some() {
            Poll::Ready((ra.take().unwrap(), rb.take().unwrap(), rc.take().unwrap()))
        } else {
            Poll::Pending
        }
    })
    .await
}
