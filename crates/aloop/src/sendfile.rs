//! `loop.sock_sendfile` and `loop.sendfile`: a file's bytes to a socket with
//! `sendfile(2)` (the kernel copies them; Linux), and the fallback asyncio has too,
//! reading the file off the loop thread and sending what was read, where `sendfile`
//! cannot be used (another OS, a pipe, a file type it refuses). `sock_calls.rs`
//! holds the other `sock_*` calls, whose readiness wait this file uses.

use std::fs::File;
use std::future::{poll_fn, Future};
use std::io;
use std::os::unix::fs::FileExt;
use std::os::unix::io::{AsFd, AsRawFd};

use crate::event_loop::LoopRef;
use crate::protocols::Transport;
use crate::streams::socket::sendfile_once;
use crate::streams::StreamWriter;

/// How much one `sendfile` call or one fallback read moves.
const CHUNK: usize = 1 << 20;

/// Whether a `sendfile` error means "use the fallback" (nothing was sent).
fn cannot_sendfile(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::Unsupported
        || matches!(
            e.raw_os_error(),
            Some(libc::EINVAL | libc::ENOSYS | libc::EOPNOTSUPP | libc::ESPIPE)
        )
}

/// How many bytes to send: `count`, or to the end of the file.
fn total(file: &File, offset: u64, count: Option<u64>) -> io::Result<u64> {
    let len = file.metadata()?.len();
    let rest = len.saturating_sub(offset);
    Ok(count.map_or(rest, |c| c.min(rest)))
}

/// Reads up to `len` bytes of the file at `offset` on the default executor.
async fn read_chunk(lp: &LoopRef, file: &File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let file = file.try_clone()?;
    let job = lp.run_in_executor(None, move || {
        let mut buf = vec![0; len];
        let n = file.read_at(&mut buf, offset)?;
        buf.truncate(n);
        Ok::<_, io::Error>(buf)
    });
    job.await.map_err(|e| io::Error::other(e.to_string()))?
}

/// The chunk loop both calls share: `once(done, len)` sends up to `len` bytes starting
/// `done` bytes into the range, returning how many it sent (0: the file ended early).
/// On an error, also says how much was sent before it.
async fn send_chunks<F, Fut>(total: u64, mut once: F) -> Result<u64, (u64, io::Error)>
where
    F: FnMut(u64, usize) -> Fut,
    Fut: Future<Output = io::Result<usize>>,
{
    let mut sent = 0u64;
    while sent < total {
        let want = usize::try_from(total - sent)
            .unwrap_or(usize::MAX)
            .min(CHUNK);
        match once(sent, want).await {
            Ok(0) => break,
            Ok(n) => sent += n as u64,
            Err(e) => return Err((sent, e)),
        }
    }
    Ok(sent)
}

/// The native attempt's outcome: done, or "nothing was sent and `sendfile` cannot be
/// used here" (then the read-and-send fallback runs), or a real error.
fn native_or_fallback(result: Result<u64, (u64, io::Error)>) -> Option<io::Result<u64>> {
    match result {
        Ok(sent) => Some(Ok(sent)),
        Err((0, e)) if cannot_sendfile(&e) => None,
        Err((_, e)) => Some(Err(e)),
    }
}

impl LoopRef {
    /// Sends `count` bytes of `file` from `offset` (to its end with `None`) over the
    /// connected socket `sock` (asyncio's `loop.sock_sendfile`), with `sendfile(2)`
    /// where it can be used, else by reading and sending; returns how many bytes were
    /// sent. The file's own position is not moved. `sock` is made non-blocking. A
    /// socket that is not a stream (UDP, a datagram Unix socket) is refused with
    /// `InvalidInput` before anything is sent, as asyncio refuses it.
    pub async fn sock_sendfile(
        &self,
        sock: &impl AsFd,
        file: &File,
        offset: u64,
        count: Option<u64>,
    ) -> io::Result<u64> {
        // A datagram socket would take each chunk as a datagram of its own.
        if socket2::SockRef::from(sock).r#type()? != socket2::Type::STREAM {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "sock_sendfile: only SOCK_STREAM type sockets are supported",
            ));
        }
        let total = total(file, offset, count)?;
        let out = sock.as_fd().as_raw_fd();
        let native = send_chunks(total, |done, want| {
            self.sock_write_op(sock, move || sendfile_once(out, file, offset + done, want))
        })
        .await;
        if let Some(result) = native_or_fallback(native) {
            return result;
        }
        send_chunks(total, |done, want| async move {
            let chunk = read_chunk(self, file, offset + done, want).await?;
            self.sock_sendall(sock, &chunk).await?;
            Ok(chunk.len())
        })
        .await
        .map_err(|(_, e)| e)
    }
    /// Sends `count` bytes of `file` from `offset` (to its end with `None`) on a
    /// stream's connection (asyncio's `loop.sendfile`): waits until the writer's
    /// queue is empty, then uses `sendfile(2)` on the socket (or reads and writes,
    /// where it cannot); returns how many bytes were sent. Until it ends, the writer's
    /// [`write`](StreamWriter::write) is refused, and so is a second `sendfile`.
    ///
    /// ```
    /// use std::io::Write;
    ///
    /// aloop::run(async {
    ///     let mut file = tempfile_with(b"0123456789");
    ///     let server = aloop::start_server(
    ///         |r: aloop::StreamReader, w: aloop::StreamWriter| async move {
    ///             let got = r.read_to_eof().await.unwrap();
    ///             w.write(&got).unwrap();
    ///         },
    ///         "127.0.0.1",
    ///         0,
    ///     )
    ///     .await
    ///     .unwrap();
    ///     let (r, w) = aloop::open_connection("127.0.0.1", server.sockets()[0].port()).await.unwrap();
    ///     let lp = aloop::get_running_loop().unwrap();
    ///     assert_eq!(lp.sendfile(&w, &file, 2, Some(5)).await.unwrap(), 5);
    ///     w.write_eof().unwrap();
    ///     assert_eq!(r.read_to_eof().await.unwrap(), b"23456");
    ///     server.close();
    /// #   fn tempfile_with(bytes: &[u8]) -> std::fs::File {
    /// #       let path = std::env::temp_dir().join(format!("aloop-doc-sendfile-{}", std::process::id()));
    /// #       std::fs::File::create(&path).unwrap().write_all(bytes).unwrap();
    /// #       let f = std::fs::File::open(&path).unwrap();
    /// #       std::fs::remove_file(&path).unwrap();
    /// #       f
    /// #   }
    /// });
    /// ```
    pub async fn sendfile(
        &self,
        writer: &StreamWriter,
        file: &File,
        offset: u64,
        count: Option<u64>,
    ) -> io::Result<u64> {
        let total = total(file, offset, count)?;
        // From here to the end `write` is refused, as in asyncio: its bytes would land
        // among the file's.
        let _running = writer.start_sendfile()?;
        // The queue first: with both marks at 0, `drain` returns once it is empty.
        let (low, high) = writer.get_write_buffer_limits();
        writer.set_write_buffer_limits(Some(0), Some(0))?;
        let drained = writer.drain().await;
        writer.set_write_buffer_limits(Some(high), Some(low))?;
        drained?;
        let raw = writer.raw_stream();
        let native = send_chunks(total, |done, want| {
            poll_fn(move |cx| raw.poll_sendfile(cx, file, offset + done, want))
        })
        .await;
        if let Some(result) = native_or_fallback(native) {
            return result;
        }
        send_chunks(total, |done, want| async move {
            let chunk = read_chunk(self, file, offset + done, want).await?;
            writer.write_for_sendfile(&chunk)?;
            writer.drain().await?;
            Ok(chunk.len())
        })
        .await
        .map_err(|(_, e)| e)
    }

    /// [`sendfile`](Self::sendfile) on a protocol's [`Transport`].
    pub async fn sendfile_transport(
        &self,
        transport: &Transport,
        file: &File,
        offset: u64,
        count: Option<u64>,
    ) -> io::Result<u64> {
        self.sendfile(transport.writer(), file, offset, count).await
    }
}
