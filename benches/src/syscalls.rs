//! `cell syscalls <runtime> <file> <round trips> [echo | echo-sockets | tls-echo]`: turns
//! the summary that `strace -c -f` wrote for an echo cell into syscalls per round trip,
//! one JSON line (workload `echo-syscalls`, `echo-sockets-syscalls` or
//! `tls-echo-syscalls`).
//!
//! A round trip is one message client → server → client (1 KiB; 16 KiB, one TLS record,
//! for tls-echo), so the floor is 4 socket
//! calls (per side: one read and one write of the message) plus the poller's waits,
//! which batching across 50 connections amortizes. Reads that failed (EAGAIN: the
//! runtime had to try a read to learn the socket was drained) are counted separately.
//! The totals include start-up, connection set-up and tokio-mt's thread parking
//! (futex), which is why `other` is reported too.

use std::process::ExitCode;

use crate::json;

const READS: &[&str] = &["read", "readv", "recvfrom", "recvmsg"];
const WRITES: &[&str] = &["write", "writev", "sendto", "sendmsg"];
const POLLS: &[&str] = &["epoll_wait", "epoll_pwait", "epoll_pwait2", "poll", "ppoll"];

pub fn main(runtime: &str, file: &str, trips: &str, workload: &str) -> ExitCode {
    let (Ok(text), Ok(trips)) = (std::fs::read_to_string(file), trips.parse::<f64>()) else {
        eprintln!("syscalls: cannot read {file} or parse round trips {trips:?}");
        return ExitCode::from(2);
    };
    let (mut reads, mut read_errors, mut writes, mut polls, mut other) = (0, 0, 0, 0, 0);
    for (name, calls, errors) in text.lines().filter_map(parse_row) {
        if READS.contains(&name) {
            reads += calls;
            read_errors += errors;
        } else if WRITES.contains(&name) {
            writes += calls;
        } else if POLLS.contains(&name) {
            polls += calls;
        } else {
            other += calls;
        }
    }
    let per = |x: u64| x as f64 / trips;
    let mut line = json::Object::new();
    line.str("runtime", runtime)
        .str("workload", &format!("{workload}-syscalls"))
        .num("round_trips", trips)
        .num("reads_per_rt", per(reads))
        .num("failed_reads_per_rt", per(read_errors))
        .num("writes_per_rt", per(writes))
        .num("polls_per_rt", per(polls))
        .num("other_per_rt", per(other))
        .num("total_per_rt", per(reads + writes + polls + other))
        .bool("checks_passed", reads + writes > 0);
    println!("{}", line.finish());
    ExitCode::SUCCESS
}

/// One row of strace's `-c` table: `% time  seconds  usecs/call  calls  [errors]  name`.
fn parse_row(line: &str) -> Option<(&str, u64, u64)> {
    let cols: Vec<&str> = line.split_whitespace().collect();
    let name = *cols.last()?;
    if name == "total" || cols.len() < 5 || cols[0].parse::<f64>().is_err() {
        return None;
    }
    let calls = cols[3].parse().ok()?;
    let errors = if cols.len() >= 6 {
        cols[4].parse().ok()?
    } else {
        0
    };
    Some((name, calls, errors))
}
