//! Reading a RESP command field by field into buffers the connection keeps, on any of
//! the runtimes: the `aloop-into` and `tokio-fields` servers of resp_servers.rs share
//! it, so they differ only in the runtime under the two reads, and the `read-fields`
//! cell (read_fields.rs) runs it over bytes in memory on aloop, tokio and smol.

use std::future::Future;
use std::io;

use aloop::{ReadError, StreamReader};
use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncReadExt as _, BufReader};

use super::resp;

/// The two reads of a field-by-field server, as each runtime's own futures (no
/// wrapper between them and the server's code, which would cost each read).
pub trait FieldReader {
    /// The reads' error (only ever checked for).
    type Error;
    /// What a filled `exact` returns (ignored).
    type Filled;
    /// Appends one line, with its `\n`, to `buf`; 0 at the end of the stream.
    fn line<'a>(
        &'a mut self,
        buf: &'a mut Vec<u8>,
    ) -> impl Future<Output = Result<usize, Self::Error>> + 'a;
    /// Fills `buf`.
    fn exact<'a>(
        &'a mut self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = Result<Self::Filled, Self::Error>> + 'a;
}

/// aloop: `readline_into` and `readexactly_into`.
impl FieldReader for &StreamReader {
    type Error = ReadError;
    type Filled = ();

    fn line<'a>(
        &'a mut self,
        buf: &'a mut Vec<u8>,
    ) -> impl Future<Output = Result<usize, ReadError>> + 'a {
        self.readline_into(buf)
    }

    fn exact<'a>(
        &'a mut self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = Result<(), ReadError>> + 'a {
        self.readexactly_into(buf)
    }
}

/// tokio: `BufReader`'s `read_until` and `read_exact`.
impl<R: AsyncRead + Unpin> FieldReader for BufReader<R> {
    type Error = io::Error;
    type Filled = usize;

    fn line<'a>(
        &'a mut self,
        buf: &'a mut Vec<u8>,
    ) -> impl Future<Output = io::Result<usize>> + 'a {
        self.read_until(b'\n', buf)
    }

    fn exact<'a>(&'a mut self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<usize>> + 'a {
        self.read_exact(buf)
    }
}

/// smol: futures-lite's `BufReader`, the same two calls.
impl<R: futures_lite::AsyncRead + Unpin> FieldReader for futures_lite::io::BufReader<R> {
    type Error = io::Error;
    type Filled = ();

    fn line<'a>(
        &'a mut self,
        buf: &'a mut Vec<u8>,
    ) -> impl Future<Output = io::Result<usize>> + 'a {
        futures_lite::AsyncBufReadExt::read_until(self, b'\n', buf)
    }

    fn exact<'a>(&'a mut self, buf: &'a mut [u8]) -> impl Future<Output = io::Result<()>> + 'a {
        futures_lite::AsyncReadExt::read_exact(self, buf)
    }
}

/// Where `read_command_into` puts a command: its arguments' bytes one after another,
/// and where each ends. Kept by the connection, so reading allocates nothing.
#[derive(Default)]
pub struct ArgsBuf {
    line: Vec<u8>,
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl ArgsBuf {
    /// Runs the command read last, appending its reply to `reply`.
    pub fn execute(&self, db: &impl resp::Db, reply: &mut Vec<u8>) {
        let (args, n) = self.args();
        resp::execute(&args[..n], db, reply);
    }

    /// The bytes of the command's arguments, all together.
    pub fn arg_bytes(&self) -> usize {
        self.bytes.len()
    }

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

/// One command into `cmd`, a line for `*N`, then per argument a line for `$len` and
/// `len + 2` bytes (or an inline command). `Ok(false)`: the client hung up.
pub async fn read_command_into(
    reader: &mut impl FieldReader,
    cmd: &mut ArgsBuf,
) -> Result<bool, &'static str> {
    cmd.bytes.clear();
    cmd.ends.clear();
    cmd.line.clear();
    if !matches!(reader.line(&mut cmd.line).await, Ok(n) if n > 0) {
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
        let Ok(_) = reader.line(&mut cmd.line).await else {
            return Ok(false);
        };
        let Some(h) = cmd.line.strip_suffix(b"\r\n") else {
            return Ok(false);
        };
        let len = resp::header(h, b'$')?;
        let start = cmd.bytes.len();
        cmd.bytes.resize(start + len + 2, 0);
        let Ok(_) = reader.exact(&mut cmd.bytes[start..]).await else {
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
