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
//! * `aloop-batched` ("hand-batched"): `reader.read(64 KiB)` into its own buffer, parse
//!   every complete command in it, all replies into one `Vec`, one `write` + `drain`.
//! * `tokio-ct`: how a tokio user writes it: `read_buf` into a `Vec`, parse every
//!   complete command, one `write_all` of all the replies. The store is
//!   `Arc<Mutex<HashMap>>`, as tokio's `spawn` needs `Send` (tokio's mini-redis does
//!   the same).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex};

use aloop::{StreamReader, StreamWriter};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use super::resp::{self, Parsed};

const READ_CHUNK: usize = 64 * 1024;

/// A protocol error's reply; the connection is closed after it.
fn error_reply(out: &mut Vec<u8>, e: &str) {
    out.extend_from_slice(b"-ERR Protocol error: ");
    out.extend_from_slice(e.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// One command read the asyncio way, each argument its own `Vec` (Python's
/// `args.append(data[:-2])`). `Ok(None)`: the client hung up.
async fn read_command(reader: &StreamReader) -> Result<Option<Vec<Vec<u8>>>, &'static str> {
    let Ok(line) = reader.readline().await else {
        return Ok(None);
    };
    let Some(line) = line.strip_suffix(b"\r\n") else {
        return Ok(None); // EOF, possibly in the middle of a line
    };
    if line.first() != Some(&b'*') {
        let cmd = resp::inline(line)?;
        return Ok(Some(cmd.args().iter().map(|a| a.to_vec()).collect()));
    }
    let n = resp::header(line, b'*')?;
    if n > resp::MAX_ARGS {
        return Err("too many arguments");
    }
    let mut args = Vec::with_capacity(n);
    for _ in 0..n {
        let Ok(h) = reader.readline().await else {
            return Ok(None);
        };
        let Some(h) = h.strip_suffix(b"\r\n") else {
            return Ok(None);
        };
        let len = resp::header(h, b'$')?;
        let Ok(mut data) = reader.readexactly(len + 2).await else {
            return Ok(None);
        };
        if !data.ends_with(b"\r\n") {
            return Err("bulk string not followed by CRLF");
        }
        data.truncate(len);
        args.push(data);
    }
    Ok(Some(args))
}

/// One way of reading a command, with the storage it keeps between commands.
trait ReadCommand: Default {
    /// Reads the next command into `self`. `Ok(false)`: the client hung up.
    async fn read(&mut self, reader: &StreamReader) -> Result<bool, &'static str>;
    /// Runs the command read last, appending its reply to `reply`.
    fn execute(&self, db: &impl resp::Db, reply: &mut Vec<u8>);
}

/// `read_command`'s arguments, a `Vec` each.
#[derive(Default)]
struct VecArgs(Vec<Vec<u8>>);

impl ReadCommand for VecArgs {
    async fn read(&mut self, reader: &StreamReader) -> Result<bool, &'static str> {
        Ok(read_command(reader)
            .await?
            .map(|args| self.0 = args)
            .is_some())
    }

    fn execute(&self, db: &impl resp::Db, reply: &mut Vec<u8>) {
        resp::execute(&self.0, db, reply);
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
                    let close = match cmd.read(&reader).await {
                        Ok(true) => {
                            cmd.execute(&*db, &mut reply);
                            false
                        }
                        Ok(false) => break,
                        Err(e) => {
                            error_reply(&mut reply, e);
                            true
                        }
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

/// Where `read_command_into` puts a command: its arguments' bytes one after another,
/// and where each ends. Kept by the connection, so reading allocates nothing.
#[derive(Default)]
struct ArgsBuf {
    line: Vec<u8>,
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl ArgsBuf {
    /// The arguments, borrowed, as `resp::execute` takes them.
    fn args(&self) -> ([&[u8]; resp::MAX_ARGS], usize) {
        let mut args: [&[u8]; resp::MAX_ARGS] = [&[]; resp::MAX_ARGS];
        let mut start = 0;
        for (arg, &end) in args.iter_mut().zip(&self.ends) {
            *arg = &self.bytes[start..end];
            start = end;
        }
        (args, self.ends.len())
    }
}

/// `read_command` with `readline_into` and `readexactly_into`.
impl ReadCommand for ArgsBuf {
    async fn read(&mut self, reader: &StreamReader) -> Result<bool, &'static str> {
        read_command_into(reader, self).await
    }

    fn execute(&self, db: &impl resp::Db, reply: &mut Vec<u8>) {
        let (args, n) = self.args();
        resp::execute(&args[..n], db, reply);
    }
}

/// `read_command` into `cmd`. `Ok(false)`: the client hung up.
async fn read_command_into(reader: &StreamReader, cmd: &mut ArgsBuf) -> Result<bool, &'static str> {
    cmd.bytes.clear();
    cmd.ends.clear();
    cmd.line.clear();
    if !matches!(reader.readline_into(&mut cmd.line).await, Ok(n) if n > 0) {
        return Ok(false);
    }
    let Some(line) = cmd.line.strip_suffix(b"\r\n") else {
        return Ok(false); // EOF in the middle of a line
    };
    if line.first() != Some(&b'*') {
        for arg in resp::inline(line)?.args() {
            cmd.bytes.extend_from_slice(arg);
            cmd.ends.push(cmd.bytes.len());
        }
        return Ok(true);
    }
    let n = resp::header(line, b'*')?;
    if n > resp::MAX_ARGS {
        return Err("too many arguments");
    }
    for _ in 0..n {
        cmd.line.clear();
        let Ok(_) = reader.readline_into(&mut cmd.line).await else {
            return Ok(false);
        };
        let Some(h) = cmd.line.strip_suffix(b"\r\n") else {
            return Ok(false);
        };
        let len = resp::header(h, b'$')?;
        let start = cmd.bytes.len();
        cmd.bytes.resize(start + len + 2, 0);
        let Ok(()) = reader.readexactly_into(&mut cmd.bytes[start..]).await else {
            return Ok(false);
        };
        if !cmd.bytes.ends_with(b"\r\n") {
            return Err("bulk string not followed by CRLF");
        }
        cmd.bytes.truncate(start + len);
        cmd.ends.push(cmd.bytes.len());
    }
    Ok(true)
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

/// aloop, hand-batched: `read(64 KiB)`, every complete command, one `write`.
pub async fn aloop_batched(port: u16) {
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
                    let (used, close) = run_all(&buf, &*db, &mut out);
                    buf.drain(..used);
                    if !out.is_empty() {
                        if writer.write(&out).is_err() || writer.drain().await.is_err() {
                            break;
                        }
                        out.clear();
                    }
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
