//! Workload "read-fields": 2,000,000 RESP `SET key value` commands read field by field
//! from bytes already in memory, the way a server that awaits each field reads them
//! (the shape of the plain RESP server of servers.sh, without the sockets): per command
//! a line for `*3`, then per argument a line for `$len` and exactly `len + 2` bytes.
//! The sum of the argument lengths is checked.
//!
//! It measures what one read costs a runtime's buffered reader when the bytes are
//! there, which servers.sh cannot separate from the kernel's share. Every runtime
//! reads with the RESP servers' own `read_command_into` (src/servers/resp_fields.rs),
//! into the `ArgsBuf` it keeps.
//!
//! * aloop: a hand-fed `StreamReader`, given the next 64 KiB whenever it holds less than
//!   a command's worst case (as a socket read would fill it; `buffered()` is asked once
//!   per command, which the peers' readers need not): `readline_into` and
//!   `readexactly_into`.
//! * tokio: `tokio::io::BufReader` (64 KiB) over the bytes: `read_until(b'\n')` and
//!   `read_exact`.
//! * smol: `futures_lite::io::BufReader` (64 KiB), the same calls.

use std::time::Instant;

use crate::servers::resp_fields::{read_command_into, ArgsBuf, FieldReader};
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

/// Reads `n` commands with `read_command_into`, calling `before_each` before each;
/// returns the bytes of their arguments.
async fn read_all<R: FieldReader>(mut reader: R, n: u64, mut before_each: impl FnMut()) -> u64 {
    let mut cmd = ArgsBuf::default();
    let mut sum = 0;
    for _ in 0..n {
        before_each();
        let read = read_command_into(&mut reader, &mut cmd).await;
        assert_eq!(read, Ok(true), "a whole command");
        sum += cmd.arg_bytes() as u64;
    }
    sum
}

pub fn run(runtime: Runtime, scale: Scale) -> Outcome {
    let n = scale.n(FULL);
    let bytes = input(n);
    let (elapsed, sum) = match runtime {
        Runtime::Aloop => rt::aloop(async move {
            let t = Instant::now();
            let r = aloop::StreamReader::new();
            let mut chunks = bytes.chunks(BUF);
            let feed = || {
                if r.buffered() < COMMAND_MAX {
                    if let Some(chunk) = chunks.next() {
                        r.feed_data(chunk);
                    }
                }
            };
            let sum = read_all(&r, n, feed).await;
            (t.elapsed(), sum)
        }),
        Runtime::TokioCt | Runtime::TokioMt => rt::tokio(runtime, async move {
            let t = Instant::now();
            let r = tokio::io::BufReader::with_capacity(BUF, &bytes[..]);
            let sum = read_all(r, n, || {}).await;
            (t.elapsed(), sum)
        }),
        Runtime::Smol => rt::smol(move |_| async move {
            let t = Instant::now();
            let r = futures_lite::io::BufReader::with_capacity(BUF, &bytes[..]);
            let sum = read_all(r, n, || {}).await;
            (t.elapsed(), sum)
        }),
    };
    Outcome::new(n, elapsed, sum == n * ARG_BYTES)
}
