//! Reading a RESP command the asyncio way — `readline()` for each header, then
//! `readexactly(len + 2)` for each argument, every read a new `Vec` (Python's new
//! `bytes`) — on aloop and on tokio: the plain servers of resp_servers.rs (`aloop` and
//! `tokio-plain`) share it, so they differ only in the runtime under the two reads.

use std::future::Future;
use std::io;

use aloop::{ReadError, StreamReader};
use tokio::io::{AsyncBufReadExt as _, AsyncRead, AsyncReadExt as _, BufReader};

use super::resp;

/// The two reads of the plain server, each returning a new `Vec`, as each runtime's
/// own futures where it has them.
pub trait VecReader {
    /// The reads' error (only ever checked for).
    type Error;
    /// One line with its `\n`; at EOF the unterminated rest, then empty.
    fn readline(&mut self) -> impl Future<Output = Result<Vec<u8>, Self::Error>> + '_;
    /// Exactly `n` bytes.
    fn readexactly(&mut self, n: usize) -> impl Future<Output = Result<Vec<u8>, Self::Error>> + '_;
}

/// aloop: the reader's own `readline` and `readexactly`.
impl VecReader for &StreamReader {
    type Error = ReadError;

    fn readline(&mut self) -> impl Future<Output = Result<Vec<u8>, ReadError>> + '_ {
        StreamReader::readline(self)
    }

    fn readexactly(&mut self, n: usize) -> impl Future<Output = Result<Vec<u8>, ReadError>> + '_ {
        StreamReader::readexactly(self, n)
    }
}

/// tokio: `BufReader`'s `read_until` into a new `Vec`, and `read_exact` into a new
/// zeroed one, as a tokio user writes the asyncio server's two calls.
impl<R: AsyncRead + Unpin> VecReader for BufReader<R> {
    type Error = io::Error;

    async fn readline(&mut self) -> io::Result<Vec<u8>> {
        let mut line = Vec::new();
        self.read_until(b'\n', &mut line).await?;
        Ok(line)
    }

    async fn readexactly(&mut self, n: usize) -> io::Result<Vec<u8>> {
        let mut data = vec![0; n];
        self.read_exact(&mut data).await?;
        Ok(data)
    }
}

/// One command, each argument its own `Vec` (Python's `args.append(data[:-2])`).
/// `Ok(None)`: the client hung up.
pub async fn read_command<R: VecReader>(
    reader: &mut R,
) -> Result<Option<Vec<Vec<u8>>>, &'static str> {
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
