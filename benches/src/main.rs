//! `cell`: runs ONE runtime × workload cell of the benchmark suite and prints one JSON
//! line (ops/s, elapsed, whether the result checks passed, workload-specific extras).
//!
//! One cell per process, so no cell inherits another's heap, threads, reactor or warm
//! caches; `run.sh` runs each cell several times and takes medians.
//!
//! ```text
//! cell <runtime> <workload> [--quick | --scale X]
//!     runtime:  aloop | tokio-ct | tokio-mt | smol
//!     workload: spawn | spawn-warm | spawn-eager | spawn-await | spawn-await-eager
//!               | callbacks | yield | timers | timer-tasks | timeout | timeout-wakes
//!               | echo
//!               | echo-vec | echo-sockets | read-fields | queue | lock | lock-uncontended | blocking
//!               | idle-mem | pg (aloop and tokio-ct only; compat.sh)
//!               | tls-echo (aloop, tokio-ct and tokio-mt: TLS over rustls)
//! cell syscalls <runtime> <strace -c output file> <round trips> [echo|echo-sockets|tls-echo]
//!     (one JSON line)
//! cell report <raw.jsonl> <out.json>   (medians → markdown table on stdout + JSON file)
//! cell callgrind-report <raw.jsonl> <out.json>   (callgrind.sh: instructions per op)
//! cell serve <http|resp> <server> [--port P] [--secs N]   (servers.sh: a real server)
//! cell servers-report <raw.jsonl> <out.json>     (servers.sh: its tables)
//! cell compat-report <raw.jsonl> <out.json>      (compat.sh: aloop::compat's cost)
//! ```
//!
//! Exit status 1 when a cell's result check failed, so a broken runtime or benchmark
//! cannot hide behind a fast number.

mod blocking_jobs;
mod callbacks;
mod callgrind_report;
mod compat_report;
mod echo;
mod idle_mem;
mod json;
mod lock;
mod lock_uncontended;
mod pg_compat;
mod queue;
mod read_fields;
mod report;
mod rt;
mod servers;
mod servers_report;
mod spawn;
mod syscalls;
mod timeout;
mod timers;
mod tls_echo;

use std::process::ExitCode;
use std::time::Duration;

/// The runtimes compared.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Runtime {
    /// aloop's event loop (single-threaded, like asyncio's).
    Aloop,
    /// tokio, `current_thread` runtime.
    TokioCt,
    /// tokio, `multi_thread` runtime with one worker per core.
    TokioMt,
    /// smol's parts: `async-executor`'s `LocalExecutor` driven by `async-io`'s `block_on`.
    Smol,
}

impl Runtime {
    fn parse(s: &str) -> Option<Runtime> {
        Some(match s {
            "aloop" => Runtime::Aloop,
            "tokio-ct" => Runtime::TokioCt,
            "tokio-mt" => Runtime::TokioMt,
            "smol" => Runtime::Smol,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Runtime::Aloop => "aloop",
            Runtime::TokioCt => "tokio-ct",
            Runtime::TokioMt => "tokio-mt",
            Runtime::Smol => "smol",
        }
    }
}

/// Shrinks a workload for smoke tests (`--quick` = 0.1) without changing its shape.
#[derive(Clone, Copy, Debug)]
pub struct Scale(pub f64);

impl Scale {
    /// `full` scaled, at least 1 (and even, so "half cancelled" stays exact).
    pub fn n(self, full: u64) -> u64 {
        let n = ((full as f64) * self.0).round() as u64;
        n.max(2) & !1
    }
}

/// What a cell measured.
pub struct Outcome {
    /// Logical operations completed (tasks, callbacks, round trips, ...).
    pub ops: u64,
    /// Wall-clock time of the measured part only (runtime start-up excluded).
    pub elapsed: Duration,
    /// Whether the workload's result was what it must be.
    pub checks: bool,
    /// Workload-specific numbers (e.g. `bytes_per_task`, `setup_ms`).
    pub extra: Vec<(&'static str, f64)>,
}

impl Outcome {
    pub fn new(ops: u64, elapsed: Duration, checks: bool) -> Outcome {
        Outcome {
            ops,
            elapsed,
            checks,
            extra: Vec::new(),
        }
    }

    pub fn with(mut self, key: &'static str, value: f64) -> Outcome {
        self.extra.push((key, value));
        self
    }
}

/// CPU time (ns) of every thread of process `pid` (`self` for this one), from
/// `/proc/<pid>/task/*/schedstat`: the time they ran, whatever else shared the cores.
pub fn cpu_ns_threads(pid: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return f64::NAN;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<f64>().ok())
        .sum()
}

const USAGE: &str = "usage: cell <aloop|tokio-ct|tokio-mt|smol> \
<spawn|spawn-warm|spawn-eager|spawn-await|spawn-await-eager|callbacks|yield|timers|timer-tasks|timeout|timeout-wakes|echo|echo-vec|echo-sockets|tls-echo|read-fields|queue|lock|lock-uncontended|blocking|idle-mem|pg> [--quick|--scale X]\n\
       cell syscalls <runtime> <strace-c-file> <round-trips> [echo|echo-sockets|tls-echo]\n\
       cell report <raw.jsonl> <out.json>\n\
       cell callgrind-report <raw.jsonl> <out.json>\n\
       cell serve <http|resp> <server> [--port P] [--secs N]\n\
       cell servers-report <raw.jsonl> <out.json>\n\
       cell compat-report <raw.jsonl> <out.json>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["report", raw, out] => report::main(raw, out),
        ["callgrind-report", raw, out] => callgrind_report::main(raw, out),
        ["servers-report", raw, out] => servers_report::main(raw, out),
        ["compat-report", raw, out] => compat_report::main(raw, out),
        ["serve", rest @ ..] => servers::main(rest),
        ["syscalls", rt, file, trips] => syscalls::main(rt, file, trips, "echo"),
        ["syscalls", rt, file, trips, w @ ("echo" | "echo-sockets" | "tls-echo")] => {
            syscalls::main(rt, file, trips, w)
        }
        [rt, workload, rest @ ..] => match (Runtime::parse(rt), parse_scale(rest)) {
            (Some(rt), Some(scale)) => run_cell(rt, workload, scale),
            _ => usage(),
        },
        _ => usage(),
    }
}

fn usage() -> ExitCode {
    eprintln!("{USAGE}");
    ExitCode::from(2)
}

fn parse_scale(rest: &[&str]) -> Option<Scale> {
    match rest {
        [] => Some(Scale(1.0)),
        ["--quick"] => Some(Scale(0.1)),
        ["--scale", x] => x.parse().ok().filter(|x: &f64| *x > 0.0).map(Scale),
        _ => None,
    }
}

fn run_cell(rt: Runtime, workload: &str, scale: Scale) -> ExitCode {
    let out = match workload {
        "spawn" => spawn::run(rt, scale, false, false),
        "spawn-warm" => spawn::run(rt, scale, true, false),
        "spawn-eager" => spawn::run(rt, scale, false, true),
        "spawn-await" => spawn::run_one_at_a_time(rt, scale, false),
        "spawn-await-eager" => spawn::run_one_at_a_time(rt, scale, true),
        "callbacks" => callbacks::run(rt, scale, true),
        "yield" => callbacks::run(rt, scale, false),
        "timers" => timers::run(rt, scale, true),
        "timer-tasks" => timers::run(rt, scale, false),
        "timeout" => timeout::run(rt, scale, 1),
        "timeout-wakes" => timeout::run(rt, scale, timeout::WAKES),
        "echo" => echo::run(rt, scale, echo::Api::Streams),
        "echo-vec" => echo::run(rt, scale, echo::Api::StreamsVec),
        "echo-sockets" => echo::run(rt, scale, echo::Api::Sockets),
        "tls-echo" => match tls_echo::run(rt, scale) {
            Some(out) => out,
            None => return usage(),
        },
        "read-fields" => read_fields::run(rt, scale),
        "queue" => queue::run(rt, scale),
        "lock" => lock::run(rt, scale),
        "lock-uncontended" => lock_uncontended::run(rt, scale),
        "blocking" => blocking_jobs::run(rt, scale),
        "idle-mem" => idle_mem::run(rt, scale),
        "pg" if matches!(rt, Runtime::Aloop | Runtime::TokioCt) => pg_compat::run(rt, scale),
        _ => return usage(),
    };
    let secs = out.elapsed.as_secs_f64();
    let mut line = json::Object::new();
    line.str("runtime", rt.name())
        .str("workload", workload)
        .num("scale", scale.0)
        .num("ops", out.ops as f64)
        .num("elapsed_s", secs)
        .num("ops_per_s", out.ops as f64 / secs.max(1e-9))
        .bool("checks_passed", out.checks);
    for (k, v) in &out.extra {
        line.num(k, *v);
    }
    println!("{}", line.finish());
    if out.checks {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
