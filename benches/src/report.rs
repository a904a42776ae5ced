//! `cell report <raw.jsonl> <out.json>`: reads every JSON line the cells printed (several
//! runs per cell, plus `echo-syscalls` / `echo-sockets-syscalls` / `tls-echo-syscalls`
//! lines), takes per-cell
//! medians, prints the markdown tables (ops/s with each runtime's ratio to aloop, the
//! issue's targets, idle memory, syscalls per echo round trip) and writes the medians
//! to `out.json`.
//!
//! `echo-sockets` is run for aloop only (tokio's and smol's echo already is their
//! sockets): its row shows the peers' `echo` medians.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use crate::json::{self, Value};

const RUNTIMES: &[&str] = &["aloop", "tokio-ct", "tokio-mt", "smol"];
/// (workload, the target for aloop ÷ best of tokio-ct and smol; None: no target)
const WORKLOADS: &[(&str, Option<f64>)] = &[
    ("spawn", Some(1.0)),
    ("spawn-warm", None),
    ("spawn-eager", None),
    ("spawn-await", None),
    // Issue 17: eager start ≥ 1.5× smol for tasks that finish at once.
    ("spawn-await-eager", Some(1.5)),
    ("callbacks", Some(1.3)),
    ("yield", None),
    ("timers", Some(1.0)),
    ("timer-tasks", None),
    ("timeout", None),
    ("timeout-wakes", None),
    ("echo", Some(1.0)),
    ("echo-vec", None),
    ("echo-sockets", None),
    // The target: aloop's TLS ≥ tokio + tokio-rustls (smol has no TLS here).
    ("tls-echo", Some(1.0)),
    ("read-fields", None),
    ("queue", Some(1.0)),
    ("lock", Some(1.0)),
    ("lock-uncontended", Some(1.0)),
    ("blocking", Some(1.0)),
];

/// (workload, JSON key, label) of the detail table.
const DETAILS: &[(&str, &str, &str)] = &[
    (
        "timers",
        "setup_ms",
        "ms to schedule all timers and cancel half",
    ),
    (
        "timer-tasks",
        "setup_ms",
        "ms to spawn all timer tasks and cancel half",
    ),
    (
        "timers",
        "late_cancels",
        "cancelled timers that fired anyway",
    ),
    (
        "echo",
        "us_per_round_trip",
        "µs per round trip (50 in parallel)",
    ),
    (
        "echo-vec",
        "us_per_round_trip",
        "µs per round trip (aloop: a Vec per read; peers: echo)",
    ),
    (
        "echo-sockets",
        "us_per_round_trip",
        "µs per round trip (aloop: raw sockets; peers: echo)",
    ),
    (
        "tls-echo",
        "us_per_round_trip",
        "µs per round trip (16 KiB over TLS 1.3, 50 in parallel)",
    ),
    (
        "tls-echo",
        "cpu_us_per_round_trip",
        "CPU µs per round trip (the process's threads, schedstat)",
    ),
];

/// The workload whose cells stand in for `runtime`'s missing `workload` cell: the peers'
/// echo is their sockets cell.
fn stand_in(workload: &str, runtime: &str) -> Option<&'static str> {
    (matches!(workload, "echo-sockets" | "echo-vec") && runtime != "aloop").then_some("echo")
}

type Row = BTreeMap<String, Value>;

/// The runs of one (workload, runtime) cell.
struct Cell {
    runs: Vec<Row>,
}

impl Cell {
    /// Median of a numeric field over the runs (upper median for an even count).
    fn median(&self, key: &str) -> Option<f64> {
        let mut xs: Vec<f64> = self
            .runs
            .iter()
            .filter_map(|r| match r.get(key) {
                Some(Value::Num(x)) => Some(*x),
                _ => None,
            })
            .collect();
        xs.sort_by(f64::total_cmp);
        xs.get(xs.len() / 2).copied()
    }

    fn checks_passed(&self) -> bool {
        self.runs
            .iter()
            .all(|r| r.get("checks_passed") == Some(&Value::Bool(true)))
    }
}

pub fn main(raw: &str, out: &str) -> ExitCode {
    let Ok(text) = std::fs::read_to_string(raw) else {
        eprintln!("report: cannot read {raw}");
        return ExitCode::from(2);
    };
    let mut cells: BTreeMap<(String, String), Cell> = BTreeMap::new();
    for row in text.lines().filter_map(json::parse_flat) {
        let (Some(Value::Str(w)), Some(Value::Str(r))) = (row.get("workload"), row.get("runtime"))
        else {
            continue;
        };
        let key = (w.clone(), r.clone());
        cells
            .entry(key)
            .or_insert(Cell { runs: vec![] })
            .runs
            .push(row);
    }
    let get = |w: &str, r: &str| {
        let key = |w: &str| (w.to_string(), r.to_string());
        cells
            .get(&key(w))
            .or_else(|| stand_in(w, r).and_then(|s| cells.get(&key(s))))
    };
    let ops = |w: &str, r: &str| get(w, r).and_then(|c| c.median("ops_per_s"));

    let mut md = String::new();
    md.push_str("| workload | aloop | tokio-ct | tokio-mt | smol | aloop ÷ best(tokio-ct, smol) | target | met |\n");
    md.push_str("|---|---:|---:|---:|---:|---:|---:|:---:|\n");
    let mut targets = Vec::new();
    for &(w, target) in WORKLOADS {
        if RUNTIMES.iter().all(|r| get(w, r).is_none()) {
            continue;
        }
        let base = ops(w, "aloop");
        let _ = write!(md, "| {w} |");
        for r in RUNTIMES {
            let cell = match (ops(w, r), base) {
                (Some(x), _) if *r == "aloop" => fmt_rate(x),
                (Some(x), Some(b)) => format!("{} ({:.2}x)", fmt_rate(x), x / b),
                (Some(x), None) => fmt_rate(x),
                (None, _) => "n/a".into(),
            };
            let failed = get(w, r).is_some_and(|c| !c.checks_passed());
            let _ = write!(
                md,
                " {cell}{} |",
                if failed { " **CHECK FAILED**" } else { "" }
            );
        }
        let best = [ops(w, "tokio-ct"), ops(w, "smol")]
            .into_iter()
            .flatten()
            .reduce(f64::max);
        let ratio = base.zip(best).map(|(a, b)| a / b);
        let met = ratio.zip(target).map(|(x, t)| x >= t);
        let _ = writeln!(
            md,
            " {} | {} | {} |",
            ratio.map_or("n/a".into(), |x| format!("{x:.2}x")),
            target.map_or("—".into(), |t| format!("≥ {t:.1}x")),
            met.map_or("—", |m| if m { "yes" } else { "**no**" }),
        );
        targets.push((w.to_string(), ratio, target, met));
    }
    md.push_str("\nops/s: medians; in parentheses each peer's ratio to aloop (above 1.00x: the peer is faster).\n");

    // Numbers behind some rows: what the runtimes differ in where ops/s is bounded by
    // something else (the 50 ms timer horizon, the kernel's loopback path).
    md.push_str(
        "\n| detail (median) | aloop | tokio-ct | tokio-mt | smol |\n|---|---:|---:|---:|---:|\n",
    );
    for (w, key, label) in DETAILS {
        // A run of some workloads only (run.sh's BENCH_ONLY) shows only theirs.
        if RUNTIMES.iter().all(|r| get(w, r).is_none()) {
            continue;
        }
        let _ = write!(md, "| {w}: {label} |");
        for r in RUNTIMES {
            let v = get(w, r).and_then(|c| c.median(key));
            let _ = write!(md, " {} |", v.map_or("n/a".into(), |x| format!("{x:.2}")));
        }
        md.push('\n');
    }

    // Idle memory: the target is aloop <= tokio.
    let mem = |r: &str| get("idle-mem", r).and_then(|c| c.median("bytes_per_task"));
    if RUNTIMES.iter().any(|r| mem(r).is_some()) {
        md.push_str("\n| idle task memory (bytes/task) | aloop | tokio-ct | tokio-mt | smol |\n|---|---:|---:|---:|---:|\n| RSS growth ÷ tasks spawned |");
        for r in RUNTIMES {
            let _ = write!(
                md,
                " {} |",
                mem(r).map_or("n/a".into(), |b| format!("{b:.0}"))
            );
        }
        md.push('\n');
    }
    let mem_met = mem("aloop").zip(mem("tokio-ct")).map(|(a, t)| a <= t);

    // Syscalls per echo round trip: every runtime's echo, then aloop's sockets cell.
    md.push_str("\n| syscalls per echo round trip | reads | of which failed (EAGAIN) | writes | epoll_wait | other | total |\n|---|---:|---:|---:|---:|---:|---:|\n");
    let sys = |w: &str, r: &str, k: &str| get(w, r).and_then(|c| c.median(k));
    let rows = RUNTIMES
        .iter()
        .map(|r| ("echo-syscalls", *r, r.to_string()))
        .chain([(
            "echo-sockets-syscalls",
            "aloop",
            "aloop (echo-sockets)".to_string(),
        )])
        .chain(["aloop", "tokio-ct"].map(|r| ("tls-echo-syscalls", r, format!("{r} (tls-echo)"))));
    for (w, r, label) in rows {
        if !cells.contains_key(&(w.to_string(), r.to_string())) {
            continue;
        }
        let _ = write!(md, "| {label} |");
        for k in [
            "reads_per_rt",
            "failed_reads_per_rt",
            "writes_per_rt",
            "polls_per_rt",
            "other_per_rt",
            "total_per_rt",
        ] {
            let _ = write!(
                md,
                " {} |",
                sys(w, r, k).map_or("n/a".into(), |x| format!("{x:.2}"))
            );
        }
        md.push('\n');
    }
    // "No more than one read and one write per message per side": ≤ 2 + 2 per round
    // trip, with 0.05 of slack for connection set-up amortized over the run. Judged on
    // the streams echo, what a user writes.
    let sys_met = sys("echo-syscalls", "aloop", "reads_per_rt")
        .zip(sys("echo-syscalls", "aloop", "writes_per_rt"))
        .map(|(r, w)| r <= 2.05 && w <= 2.05);
    let _ = writeln!(
        md,
        "\nTargets beyond the table: idle task memory ≤ tokio's: {}; echo (streams) ≤ 1 read + 1 write per message per side: {}.",
        yes_no(mem_met),
        yes_no(sys_met)
    );
    print!("{md}");

    if let Err(e) = std::fs::write(out, to_json(&cells, &targets, mem_met, sys_met)) {
        eprintln!("report: cannot write {out}: {e}");
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

fn yes_no(x: Option<bool>) -> &'static str {
    match x {
        Some(true) => "met",
        Some(false) => "**not met**",
        None => "n/a (not measured)",
    }
}

fn fmt_rate(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2} M/s", x / 1e6)
    } else {
        format!("{:.1} k/s", x / 1e3)
    }
}

type Target = (String, Option<f64>, Option<f64>, Option<bool>);

fn to_json(
    cells: &BTreeMap<(String, String), Cell>,
    targets: &[Target],
    mem_met: Option<bool>,
    sys_met: Option<bool>,
) -> String {
    let mut machine = json::Object::new();
    machine
        .num("nproc", crate::rt::cores() as f64)
        .str("cpu", &cpu_model())
        .str(
            "kernel",
            std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim(),
        )
        .str("revision", &env("BENCH_REVISION"))
        .str("loadavg_before_build", &env("BENCH_LOAD_BEFORE_BUILD"))
        .str(
            "loadavg_at_start",
            &std::env::var("BENCH_LOAD_START").unwrap_or_default(),
        )
        .str(
            "loadavg_at_end",
            std::fs::read_to_string("/proc/loadavg")
                .unwrap_or_default()
                .trim(),
        );
    let cells: Vec<String> = cells
        .iter()
        .map(|((w, r), c)| {
            let mut o = json::Object::new();
            o.str("workload", w)
                .str("runtime", r)
                .num("runs", c.runs.len() as f64)
                .bool("checks_passed", c.checks_passed());
            // Every numeric field the cell printed, as its median.
            let keys: std::collections::BTreeSet<&String> = c
                .runs
                .iter()
                .flat_map(|r| r.iter())
                .filter(|(_, v)| matches!(v, Value::Num(_)))
                .map(|(k, _)| k)
                .collect();
            for k in keys {
                if let Some(m) = c.median(k) {
                    o.num(k, m);
                }
            }
            o.finish()
        })
        .collect();
    let targets: Vec<String> = targets
        .iter()
        .map(|(w, ratio, target, met)| {
            let mut o = json::Object::new();
            o.str("workload", w).num(
                "aloop_over_best_single_threaded_peer",
                ratio.unwrap_or(f64::NAN),
            );
            o.num("target", target.unwrap_or(f64::NAN));
            match met {
                Some(m) => o.bool("met", *m),
                None => o.raw("met", "null"),
            };
            o.finish()
        })
        .collect();
    let opt = |m: Option<bool>| m.map_or("null", |m| if m { "true" } else { "false" });
    let mut top = json::Object::new();
    top.raw("machine", &machine.finish())
        .raw("cells", &format!("[\n{}\n]", cells.join(",\n")))
        .raw("targets", &format!("[\n{}\n]", targets.join(",\n")))
        .raw("idle_memory_le_tokio", opt(mem_met))
        .raw("echo_one_read_one_write_per_side", opt(sys_met));
    top.finish() + "\n"
}

/// What run.sh passed in the environment ("" when the report is run by hand).
fn env(key: &str) -> String {
    std::env::var(key).unwrap_or_default()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}
