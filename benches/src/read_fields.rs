//! Workload "read-fields": 2,000,000 RESP `SET key value` commands read field by field
//! from bytes already in memory, the way a server that awaits each field reads them
//! (the shape of the plain RESP server of servers.sh, without the sockets): per command
//! a line for `*3`, then per argument a line for `$len` and exactly `len + 2` bytes.
//! The sum of the argument lengths is checked.
//!
//! It measures what one read costs a runtime's buffered reader when the bytes are
//! there, which servers.sh cannot separate from the kernel's share.
//!
//! * aloop: a hand-fed `StreamReader`, given the next 64 KiB whenever it holds less than
//!   a command's worst case (as a socket read would fill it; `buffered()` is asked once
//!   per command, which the peers' readers need not), `readline_into` and
//!   `readexactly_into` into `Vec`s kept across commands.
//! * tokio: `tokio::io::BufReader` (64 KiB) over the bytes, `read_until(b'\n')` and
//!   `read_exact` into the same kept `Vec`s.
//! * smol: `futures_lite::io::BufReader` (64 KiB), the same calls.

use std::time::Instant;

use crate::{rt, Outcome, Runtime, Scale};

const FULL: u64 = 2_000_000;
const KEY: &[u8] = b"key:000000000000";
const VALUE: &[u8] = b"xxx";
/// Bytes of arguments per command: what the check adds up.
const ARG_BYTES: u64 = (3 + KEY.len() + VALUE.len()) as u64;
/// The buffered readers' size, and the chunks aloop's reader is fed.
const BUF: usize = 64 * 1024;
/// More than one command's bytes: the least aloop's reader holds before a command.
const COMMAND_MAX: usize = 256;

fn input(n: u64) -> Vec<u8> {
    let mut cmd = Vec::new();
    cmd.extend_from_slice(b"*3\r\n");
    for arg in [&b"SET"[..], KEY, VALUE] {
        cmd.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
        cmd.extend_from_slice(arg);
        cmd.extend_from_slice(b"\r\n");
    }
    cmd.repeat(n as usize)
}

/// The number a `*N` / `$N` header line (with its `\r\n`) carries.
fn header(line: &[u8]) -> usize {
    let digits = &line[1..line.len() - 2];
    std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .expect("a header line")
}

/// Reads the `n` commands with one runtime's calls: `before_each` runs before each
/// command, `|line| read_line` appends a line to the `Vec` `line`, `|arg| read_exact`
/// fills the slice `arg`; both awaited.
macro_rules! read_all {
    ($n:expr, $before_each:block, |$line:ident| $read_line:expr, |$arg:ident| $read_exact:expr) => {{
        let (mut line, mut arg) = (Vec::new(), Vec::new());
        let mut sum = 0u64;
        for _ in 0..$n {
            $before_each
            line.clear();
            {
                let $line: &mut Vec<u8> = &mut line;
                $read_line.await.expect("a line");
            }
            for _ in 0..header(&line) {
                line.clear();
                {
                    let $line: &mut Vec<u8> = &mut line;
                    $read_line.await.expect("a line");
                }
                arg.resize(header(&line) + 2, 0);
                {
                    let $arg: &mut [u8] = &mut arg[..];
                    $read_exact.await.expect("an argument");
                }
                sum += arg.len() as u64 - 2;
            }
        }
        sum
    }};
}

pub fn run(runtime: Runtime, scale: Scale) -> Outcome {
    let n = scale.n(FULL);
    let bytes = input(n);
    let (elapsed, sum) = match runtime {
        Runtime::Aloop => rt::aloop(async move {
            let t = Instant::now();
            let r = aloop::StreamReader::new();
            let mut chunks = bytes.chunks(BUF);
            let mut feed = || {
                if r.buffered() < COMMAND_MAX {
                    if let Some(chunk) = chunks.next() {
                        r.feed_data(chunk);
                    }
                }
            };
            let sum = read_all!(n, { feed() }, |l| r.readline_into(l), |b| {
                r.readexactly_into(b)
            });
            (t.elapsed(), sum)
        }),
        Runtime::TokioCt | Runtime::TokioMt => rt::tokio(runtime, async move {
            use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _};
            let t = Instant::now();
            let mut r = tokio::io::BufReader::with_capacity(BUF, &bytes[..]);
            let sum = read_all!(n, {}, |l| r.read_until(b'\n', l), |b| r.read_exact(b));
            (t.elapsed(), sum)
        }),
        Runtime::Smol => rt::smol(move |_| async move {
            use futures_lite::{AsyncBufReadExt as _, AsyncReadExt as _};
            let t = Instant::now();
            let mut r = futures_lite::io::BufReader::with_capacity(BUF, &bytes[..]);
            let sum = read_all!(n, {}, |l| r.read_until(b'\n', l), |b| r.read_exact(b));
            (t.elapsed(), sum)
        }),
    };
    Outcome::new(n, elapsed, sum == n * ARG_BYTES)
}
