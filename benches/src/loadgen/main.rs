//! `loadgen`: aloop's own load generator for the echo protocol, its echo servers, and
//! the report of `latency.sh` (issue 16: throughput and tail latency of a server on
//! 1 and 2 loops against tokio).
//!
//! ```text
//! loadgen run --port P (--rate R | --closed) [--conns 50] [--size 64] [--secs 10]
//!             [--warmup 1] [--threads 1] [--label NAME]
//! loadgen serve <aloop|tokio-ct|tokio-mt> [--loops N] [--pin] [--port P] [--secs N]
//! loadgen report RAW.jsonl
//! ```
//!
//! The protocol: fixed-size lines (`--size` bytes, the last one `\n`) over `--conns`
//! connections to 127.0.0.1, each echoed back whole. `run` is the client
//! (generate.rs), `serve` the servers (echo_servers.rs), `report` the tables
//! (report.rs); `latency.sh` drives all three, each server in a process of its own.

mod echo_servers;
mod generate;
mod message;
mod report;
// The bench suite's flat-JSON reader and writer (benches/src/json.rs), shared with
// `cell`; this binary uses only part of it.
#[allow(dead_code)]
#[path = "../json.rs"]
mod json;

use std::process::ExitCode;
use std::time::Duration;

use generate::{Config, Mode};

const USAGE: &str = "usage: loadgen run --port P (--rate R | --closed) [--conns N] [--size BYTES] [--secs S] [--warmup S] [--threads T] [--label NAME]
       loadgen serve <aloop|tokio-ct|tokio-mt> [--loops N] [--pin] [--port P] [--secs N]
       loadgen report RAW.jsonl";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["run", rest @ ..] => match parse_run(rest) {
            Ok(config) => generate::main(config),
            Err(e) => usage(&e),
        },
        ["serve", rest @ ..] => echo_servers::main(rest).unwrap_or_else(|e| usage(&e)),
        ["report", raw] => report::main(raw),
        _ => usage("no command"),
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("loadgen: {problem}\n{USAGE}");
    ExitCode::from(2)
}

/// `--flag value` pairs of `rest`, `--closed` alone; an error names the bad one.
fn parse_run(rest: &[&str]) -> Result<Config, String> {
    let mut config = Config {
        port: 0,
        mode: None,
        conns: 50,
        size: 64,
        secs: 10.0,
        warmup: 1.0,
        threads: 1,
        grace: Duration::from_secs(2),
        label: String::from("server"),
    };
    let mut it = rest.iter();
    while let Some(&flag) = it.next() {
        if flag == "--closed" {
            config.mode = Some(Mode::Closed);
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag {
            "--port" => config.port = parse(flag, value)?,
            "--rate" => config.mode = Some(Mode::Open(parse(flag, value)?)),
            "--conns" => config.conns = parse(flag, value)?,
            "--size" => config.size = parse(flag, value)?,
            "--secs" => config.secs = parse(flag, value)?,
            "--warmup" => config.warmup = parse(flag, value)?,
            "--threads" => config.threads = parse(flag, value)?,
            "--label" => config.label = (*value).to_owned(),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    config.check()?;
    Ok(config)
}

fn parse<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("bad value for {flag}: {value:?}"))
}
