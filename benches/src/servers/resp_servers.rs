//! The RESP (Redis protocol) servers `servers.sh` runs under `redis-benchmark`, one per
//! way of writing it; all share resp.rs (parsing, the store, the commands).
//!
//! * `aloop` ("plain"): what a Python asyncio user writes: `readline()` for the array
//!   header, then per argument `readline()` for its `$len` and `readexactly(len + 2)`
//!   for its bytes; run the command, `writer.write(reply)`, `await writer.drain()`.
//!   One reply, one write, per command, pipelined or not.
//! * `aloop-into` (plain, into buffers it owns): the same reads and one write per
//!   command, but `readline_into` and `readexactly_into` into `Vec`s the connection
//!   keeps (a Rust user's habit, as tokio's `read_until`), so no allocation per read.
//! * `tokio-plain`: the plain server written for tokio: `BufReader`'s `read_until` into
//!   a new `Vec` and `read_exact` into a new zeroed one (resp_plain.rs, shared with
//!   `aloop`), each reply into a `BufWriter` flushed as `tokio-fields` does.
//! * `tokio-fields`: the `aloop-into` server written for tokio: `BufReader`'s
//!   `read_until` and `read_exact` (resp_fields.rs, shared with `aloop-into`), each
//!   reply into a `BufWriter`, flushed once the read buffer holds no more requests
//!   (tokio does not coalesce writes itself).
//! * `aloop-batched` ("hand-batched"): `reader.read(64 KiB)` into its own buffer, parse
//!   every complete command in it, all replies into one `Vec`, one `write` + `drain`.
//! * `aloop-chunks`: what an asyncio user writes who parses whole commands out of what
//!   `reader.read(64 KiB)` returns, the parser of `aloop-batched` and `tokio-ct`: each
//!   reply its own `writer.write(reply)` + `await writer.drain()` as the command is
//!   parsed, as `aloop` does; the stream coalesces the replies of one batch.
//! * `tokio-ct`: how a tokio user writes it: `read_buf` into a `Vec`, parse every
//!   complete command, one `write_all` of all the replies. The store is
//!   `Arc<Mutex<HashMap>>`, as tokio's `spawn` needs `Send` (tokio's mini-redis does
//!   the same).

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use aloop::{StreamReader, StreamWriter};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::resp::{self, Parsed};
use super::resp_fields::{read_command_into, ArgsBuf};
use super::resp_plain::read_command;

const READ_CHUNK: usize = 64 * 1024;

/// A protocol error's reply; the connection is closed after it.
pub(super) fn error_reply(out: &mut Vec<u8>, e: &str) {
    out.extend_from_slice(b"-ERR Protocol error: ");
    out.extend_from_slice(e.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// What a plain server does with a read command: `run` it into `reply` (`Some(false)`),
/// or answer a protocol error and close (`Some(true)`); `None`: the client hung up.
fn answer(
    read: Result<bool, &'static str>,
    run: impl FnOnce(&mut Vec<u8>),
    reply: &mut Vec<u8>,
) -> Option<bool> {
    match read {
        Ok(true) => {
            run(reply);
            Some(false)
        }
        Ok(false) => None,
        Err(e) => {
            error_reply(reply, e);
            Some(true)
        }
    }
}

/// A command's arguments as a connection keeps them between commands.
trait Args: Default {
    /// Runs the command read last, appending its reply to `reply`.
    fn execute(&self, db: &impl resp::Db, reply: &mut Vec<u8>);
}

/// One way of reading a command on aloop into the arguments it keeps.
trait ReadCommand: Args {
    /// Reads the next command into `self`. `Ok(false)`: the client hung up.
    async fn read(&mut self, reader: &StreamReader) -> Result<bool, &'static str>;
}

/// `read_command`'s arguments, a `Vec` each.
#[derive(Default)]
struct VecArgs(Vec<Vec<u8>>);

impl Args for VecArgs {
    fn execute(&self, db: &impl resp::Db, reply: &mut Vec<u8>) {
        resp::execute(&self.0, db, reply);
    }
}

impl ReadCommand for VecArgs {
    async fn read(&mut self, mut reader: &StreamReader) -> Result<bool, &'static str> {
        Ok(read_command(&mut reader)
            .await?
            .map(|args| self.0 = args)
            .is_some())
    }
}

/// The plain server, reading each command with `C`: `write(reply)` and `drain()` per
/// command.
async fn serve_plain<C: ReadCommand>(port: u16) {
    let db = Rc::new(RefCell::new(HashMap::new()));
    super::aloop_serve(
        move |reader: StreamReader, writer: StreamWriter| {
            let db = db.clone();
            async move {
                let (mut cmd, mut reply) = (C::default(), Vec::new());
                loop {
                    reply.clear();
                    let read = cmd.read(&reader).await;
                    let Some(close) = answer(read, |r| cmd.execute(&*db, r), &mut reply) else {
                        break;
                    };
                    if writer.write(&reply).is_err() || writer.drain().await.is_err() || close {
                        break;
                    }
                }
                writer.close();
            }
        },
        port,
    )
    .await;
}

/// aloop, plain: a `Vec` per read.
pub async fn aloop_plain(port: u16) {
    serve_plain::<VecArgs>(port).await;
}

impl Args for ArgsBuf {
    fn execute(&self, db: &impl resp::Db, reply: &mut Vec<u8>) {
        ArgsBuf::execute(self, db, reply);
    }
}

/// `read_command` with `readline_into` and `readexactly_into`.
impl ReadCommand for ArgsBuf {
    async fn read(&mut self, mut reader: &StreamReader) -> Result<bool, &'static str> {
        read_command_into(&mut reader, self).await
    }
}

/// aloop, plain, reading into buffers it keeps.
pub async fn aloop_into(port: u16) {
    serve_plain::<ArgsBuf>(port).await;
}

/// Parses every complete command at the start of `buf`, appending the replies to
/// `out`; returns the bytes consumed and whether to close (after a protocol error).
fn run_all(buf: &[u8], db: &impl resp::Db, out: &mut Vec<u8>) -> (usize, bool) {
    let mut pos = 0;
    loop {
        match resp::parse(&buf[pos..]) {
            Parsed::Done(cmd, n) => {
                resp::execute(cmd.args(), db, out);
                pos += n;
            }
            Parsed::Incomplete => return (pos, false),
            Parsed::Error(e) => {
                error_reply(out, e);
                return (pos, true);
            }
        }
    }
}

/// Runs the command at the start of `buf`, its reply into `reply` (cleared first):
/// `Some((bytes used, close after))`, closing after a protocol error (the reply says
/// which); `None` while the command is incomplete.
pub(super) fn reply_to_first(
    buf: &[u8],
    db: &impl resp::Db,
    reply: &mut Vec<u8>,
) -> Option<(usize, bool)> {
    reply.clear();
    match resp::parse(buf) {
        Parsed::Done(cmd, n) => {
            resp::execute(cmd.args(), db, reply);
            Some((n, false))
        }
        Parsed::Incomplete => None,
        Parsed::Error(e) => {
            error_reply(reply, e);
            Some((0, true))
        }
    }
}

/// Runs every complete command at the start of `buf` as it is parsed, each reply its
/// own `write` + `drain` (the stream coalesces them); returns the bytes consumed and
/// whether to close (after a protocol error), or `Err` if the connection failed.
async fn run_each(
    buf: &[u8],
    db: &impl resp::Db,
    writer: &StreamWriter,
    reply: &mut Vec<u8>,
) -> Result<(usize, bool), ()> {
    let mut pos = 0;
    while let Some((n, close)) = reply_to_first(&buf[pos..], db, reply) {
        pos += n;
        if writer.write(reply).is_err() || writer.drain().await.is_err() {
            return Err(());
        }
        if close {
            return Ok((pos, true));
        }
    }
    Ok((pos, false))
}

/// aloop, `read(64 KiB)` into its own buffer and every complete command in it. Hand-
/// batched (`aloop-batched`): all replies into one `Vec`, one `write` + `drain`. Or
/// not (`aloop-chunks`, `per_reply`): a `write` + `drain` per reply as it is parsed.
async fn serve_chunks(port: u16, per_reply: bool) {
    let db = Rc::new(RefCell::new(HashMap::new()));
    super::aloop_serve(
        move |reader: StreamReader, writer: StreamWriter| {
            let db = db.clone();
            async move {
                let (mut buf, mut out) = (Vec::new(), Vec::new());
                loop {
                    let Ok(data) = reader.read(READ_CHUNK).await else {
                        break;
                    };
                    if data.is_empty() {
                        break;
                    }
                    // No copy when nothing is left over from the last read.
                    if buf.is_empty() {
                        buf = data;
                    } else {
                        buf.extend_from_slice(&data);
                    }
                    let (used, close) = if per_reply {
                        match run_each(&buf, &*db, &writer, &mut out).await {
                            Ok(done) => done,
                            Err(()) => break,
                        }
                    } else {
                        let (used, close) = run_all(&buf, &*db, &mut out);
                        if !out.is_empty() {
                            if writer.write(&out).is_err() || writer.drain().await.is_err() {
                                break;
                            }
                            out.clear();
                        }
                        (used, close)
                    };
                    buf.drain(..used);
                    if close {
                        break;
                    }
                }
                writer.close();
            }
        },
        port,
    )
    .await;
}

/// aloop, hand-batched: `read(64 KiB)`, every complete command, one `write`.
pub async fn aloop_batched(port: u16) {
    serve_chunks(port, false).await;
}

/// aloop, `read(64 KiB)`, every complete command, a `write` per reply.
pub async fn aloop_chunks(port: u16) {
    serve_chunks(port, true).await;
}

/// tokio: `read_buf`, every complete command, one `write_all`.
pub async fn tokio_batched(port: u16) {
    let listener = super::tokio_listen(port).await;
    let db = Arc::new(Mutex::new(HashMap::new()));
    loop {
        let Ok((mut s, _)) = listener.accept().await else {
            continue;
        };
        let _ = s.set_nodelay(true);
        let db = db.clone();
        tokio::spawn(async move {
            let (mut buf, mut out) = (Vec::with_capacity(READ_CHUNK), Vec::new());
            loop {
                match s.read_buf(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let (used, close) = run_all(&buf, &*db, &mut out);
                buf.drain(..used);
                if !out.is_empty() {
                    if s.write_all(&out).await.is_err() {
                        break;
                    }
                    out.clear();
                }
                if close {
                    break;
                }
            }
        });
    }
}

/// One way of reading a command on tokio (the twin of `ReadCommand`: its future must be
/// `Send` for `tokio::spawn`).
trait TokioCommand: Args + Send + 'static {
    /// Reads the next command into `self`. `Ok(false)`: the client hung up.
    fn read<'a>(
        &'a mut self,
        reader: &'a mut TokioReader,
    ) -> impl Future<Output = Result<bool, &'static str>> + Send + 'a;
}

type TokioReader = tokio::io::BufReader<tokio::net::tcp::OwnedReadHalf>;

impl TokioCommand for VecArgs {
    async fn read(&mut self, reader: &mut TokioReader) -> Result<bool, &'static str> {
        Ok(read_command(reader)
            .await?
            .map(|args| self.0 = args)
            .is_some())
    }
}

impl TokioCommand for ArgsBuf {
    fn read<'a>(
        &'a mut self,
        reader: &'a mut TokioReader,
    ) -> impl Future<Output = Result<bool, &'static str>> + Send + 'a {
        read_command_into(reader, self)
    }
}

/// The plain server on tokio, reading each command with `C`: each reply into a
/// `BufWriter`, flushed once the read buffer holds no more requests (tokio does not
/// coalesce writes itself; a flush per reply would be a `send` per command).
async fn serve_tokio<C: TokioCommand>(port: u16) {
    let listener = super::tokio_listen(port).await;
    let db = Arc::new(Mutex::new(HashMap::new()));
    loop {
        let Ok((s, _)) = listener.accept().await else {
            continue;
        };
        let _ = s.set_nodelay(true);
        let db = db.clone();
        tokio::spawn(async move {
            let (r, w) = s.into_split();
            let mut reader = tokio::io::BufReader::with_capacity(READ_CHUNK, r);
            let mut writer = tokio::io::BufWriter::new(w);
            let (mut cmd, mut reply) = (C::default(), Vec::new());
            loop {
                reply.clear();
                let read = cmd.read(&mut reader).await;
                let Some(close) = answer(read, |r| cmd.execute(&*db, r), &mut reply) else {
                    break;
                };
                if writer.write_all(&reply).await.is_err() {
                    break;
                }
                let batch_done = reader.buffer().is_empty() || close;
                if (batch_done && writer.flush().await.is_err()) || close {
                    break;
                }
            }
        });
    }
}

/// tokio, field by field: `aloop-into`'s reads.
pub async fn tokio_fields(port: u16) {
    serve_tokio::<ArgsBuf>(port).await;
}

/// tokio, the plain way: the `aloop` server's reads, a new `Vec` each.
pub async fn tokio_plain(port: u16) {
    serve_tokio::<VecArgs>(port).await;
}
