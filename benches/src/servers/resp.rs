//! The Redis protocol (RESP) pieces every RESP server variant shares, so the variants
//! differ only in how they read and write: parsing (a whole command out of a buffer, or
//! the header lines one at a time, as a stream user reads them), the key-value store
//! and the commands `redis-benchmark -t ping,set,get` sends (PING, SET, GET; and
//! CONFIG GET, which it asks at start-up: answered "not set").
//!
//! Requests are arrays of bulk strings (`*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n`) or inline
//! commands (`PING\r\n`, what PING_INLINE sends).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Mutex;

/// Most arguments a command may have (SET key value needs 3).
pub const MAX_ARGS: usize = 8;
/// Longest header line or inline command accepted, and the largest bulk string.
const MAX_LINE: usize = 64 * 1024;
pub const MAX_BULK: usize = 512 * 1024 * 1024;

/// One command's arguments, borrowed from the buffer they were parsed from.
pub struct Command<'a> {
    args: [&'a [u8]; MAX_ARGS],
    len: usize,
}

impl<'a> Command<'a> {
    pub fn args(&self) -> &[&'a [u8]] {
        &self.args[..self.len]
    }

    fn push(&mut self, arg: &'a [u8]) -> Result<(), &'static str> {
        *self.args.get_mut(self.len).ok_or("too many arguments")? = arg;
        self.len += 1;
        Ok(())
    }
}

/// What [`parse`] found at the start of a buffer.
pub enum Parsed<'a> {
    /// Not a whole command yet: read more.
    Incomplete,
    /// A command, and how many bytes of the buffer it took.
    Done(Command<'a>, usize),
    /// A protocol error: answer it and close the connection.
    Error(&'static str),
}

/// The line at the start of `buf`, without its `\r\n`, and the bytes it took.
fn line(buf: &[u8]) -> Result<Option<(&[u8], usize)>, &'static str> {
    match buf.windows(2).position(|w| w == b"\r\n") {
        Some(i) => Ok(Some((&buf[..i], i + 2))),
        None if buf.len() > MAX_LINE => Err("line too long"),
        None => Ok(None),
    }
}

/// The number after `prefix` in a header line (`*3`, `$5`), without the `\r\n`.
pub fn header(line: &[u8], prefix: u8) -> Result<usize, &'static str> {
    let digits = line.strip_prefix(&[prefix]).ok_or("expected '*' or '$'")?;
    let n = std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse::<usize>().ok())
        .ok_or("invalid length")?;
    if n > MAX_BULK {
        return Err("length too large");
    }
    Ok(n)
}

/// An inline command line (without `\r\n`), split on spaces.
pub fn inline(line: &[u8]) -> Result<Command<'_>, &'static str> {
    let mut cmd = Command {
        args: [&[]; MAX_ARGS],
        len: 0,
    };
    for arg in line.split(|&b| b == b' ').filter(|a| !a.is_empty()) {
        cmd.push(arg)?;
    }
    Ok(cmd)
}

/// Parses one whole command from the start of `buf`.
pub fn parse(buf: &[u8]) -> Parsed<'_> {
    match parse_inner(buf) {
        Ok(Some((cmd, n))) => Parsed::Done(cmd, n),
        Ok(None) => Parsed::Incomplete,
        Err(e) => Parsed::Error(e),
    }
}

fn parse_inner(buf: &[u8]) -> Result<Option<(Command<'_>, usize)>, &'static str> {
    let Some((first, mut pos)) = line(buf)? else {
        return Ok(None);
    };
    if first.first() != Some(&b'*') {
        let cmd = inline(first)?;
        return Ok(Some((cmd, pos)));
    }
    let n = header(first, b'*')?;
    if n > MAX_ARGS {
        return Err("too many arguments");
    }
    let mut cmd = Command {
        args: [&[]; MAX_ARGS],
        len: 0,
    };
    for _ in 0..n {
        let Some((h, used)) = line(&buf[pos..])? else {
            return Ok(None);
        };
        let len = header(h, b'$')?;
        let start = pos + used;
        let Some(end) = start.checked_add(len).filter(|e| e + 2 <= buf.len()) else {
            return Ok(None);
        };
        if &buf[end..end + 2] != b"\r\n" {
            return Err("bulk string not followed by CRLF");
        }
        cmd.push(&buf[start..end])?;
        pos = end + 2;
    }
    Ok(Some((cmd, pos)))
}

/// The keys and values, however the server shares them between connections.
pub trait Db {
    fn set(&self, key: &[u8], value: &[u8]);
    /// Appends the value of `key` as a bulk string to `out`; false if absent.
    fn get_into(&self, key: &[u8], out: &mut Vec<u8>) -> bool;
}

type Map = HashMap<Vec<u8>, Vec<u8>>;

fn set(map: &mut Map, key: &[u8], value: &[u8]) {
    match map.get_mut(key) {
        Some(v) => {
            v.clear();
            v.extend_from_slice(value);
        }
        None => {
            map.insert(key.to_vec(), value.to_vec());
        }
    }
}

fn get_into(map: &Map, key: &[u8], out: &mut Vec<u8>) -> bool {
    map.get(key).map(|v| bulk(out, v)).is_some()
}

/// A single-threaded loop's store (aloop): `Rc<RefCell<HashMap>>` shared by its tasks.
impl Db for RefCell<Map> {
    fn set(&self, key: &[u8], value: &[u8]) {
        set(&mut self.borrow_mut(), key, value);
    }
    fn get_into(&self, key: &[u8], out: &mut Vec<u8>) -> bool {
        get_into(&self.borrow(), key, out)
    }
}

/// What a tokio user shares between `Send` tasks: `Arc<Mutex<HashMap>>` (as in
/// tokio's mini-redis tutorial), locked once per command.
impl Db for Mutex<Map> {
    fn set(&self, key: &[u8], value: &[u8]) {
        set(&mut self.lock().expect("store poisoned"), key, value);
    }
    fn get_into(&self, key: &[u8], out: &mut Vec<u8>) -> bool {
        get_into(&self.lock().expect("store poisoned"), key, out)
    }
}

fn bulk(out: &mut Vec<u8>, data: &[u8]) {
    out.push(b'$');
    out.extend_from_slice(data.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Runs one command and appends its reply to `out`.
pub fn execute<A: AsRef<[u8]>>(args: &[A], db: &impl Db, out: &mut Vec<u8>) {
    let arg = |i: usize| args.get(i).map(AsRef::as_ref);
    let Some(name) = arg(0) else {
        return out.extend_from_slice(b"-ERR empty command\r\n");
    };
    let is = |s: &str| name.eq_ignore_ascii_case(s.as_bytes());
    match (args.len(), arg(1), arg(2)) {
        (1, _, _) if is("PING") => out.extend_from_slice(b"+PONG\r\n"),
        (2, Some(msg), _) if is("PING") => bulk(out, msg),
        (3, Some(key), Some(value)) if is("SET") => {
            db.set(key, value);
            out.extend_from_slice(b"+OK\r\n");
        }
        (2, Some(key), _) if is("GET") => {
            if !db.get_into(key, out) {
                out.extend_from_slice(b"$-1\r\n");
            }
        }
        // redis-benchmark asks for `save` and `appendonly` at start-up: neither is on.
        (3, Some(sub), Some(param)) if is("CONFIG") && sub.eq_ignore_ascii_case(b"GET") => {
            out.extend_from_slice(b"*2\r\n");
            bulk(out, param);
            let off: &[u8] = if param.eq_ignore_ascii_case(b"appendonly") {
                b"no"
            } else {
                b""
            };
            bulk(out, off);
        }
        _ => out.extend_from_slice(b"-ERR unknown command or wrong number of arguments\r\n"),
    }
}
