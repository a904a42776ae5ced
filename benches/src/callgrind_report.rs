//! `cell callgrind-report <raw.jsonl> <out.json>`: turns the lines `callgrind.sh` wrote
//! (a cell's own JSON line plus `ir`, the instructions callgrind counted for the whole
//! process) into marginal instructions per op for each runtime × workload:
//! (Ir at the larger size − Ir at the smaller) ÷ (ops at the larger − ops at the
//! smaller). Prints a markdown table and writes the numbers to `out.json`.
//!
//! As in report.rs, `echo-sockets` is aloop's alone; the peers' row shows their `echo`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use crate::json::{self, Value};

const RUNTIMES: &[&str] = &["aloop", "tokio-ct", "tokio-mt", "smol"];
/// The peers aloop is compared with (single-threaded, as aloop's loop is).
const PEERS: &[&str] = &["tokio-ct", "smol"];
const WORKLOADS: &[&str] = &[
    "spawn",
    "spawn-eager",
    "spawn-await",
    "spawn-await-eager",
    "callbacks",
    "yield",
    "timers",
    "timer-tasks",
    "timeout",
    "timeout-wakes",
    "echo",
    "echo-vec",
    "echo-sockets",
    "tls-echo",
    "read-fields",
    "queue",
    "lock",
    "lock-uncontended",
];

/// One cell's two sizes, reduced to a slope and an intercept.
struct Marginal {
    per_op: f64,
    /// Instructions that do not grow with the work (start-up, set-up), extrapolated.
    fixed: f64,
    /// ops_base − ops_tenth: how many ops the slope is measured over.
    ops_delta: f64,
    checks: bool,
}

/// (ops, ir, checks_passed) of one run.
type Run = (f64, f64, bool);

fn num(row: &BTreeMap<String, Value>, key: &str) -> Option<f64> {
    match row.get(key) {
        Some(Value::Num(x)) => Some(*x),
        _ => None,
    }
}

fn marginal(runs: &[Run]) -> Option<Marginal> {
    let small = runs.iter().min_by(|a, b| a.0.total_cmp(&b.0))?;
    let big = runs.iter().max_by(|a, b| a.0.total_cmp(&b.0))?;
    let ops_delta = big.0 - small.0;
    if ops_delta <= 0.0 {
        return None;
    }
    let per_op = (big.1 - small.1) / ops_delta;
    Some(Marginal {
        per_op,
        fixed: small.1 - per_op * small.0,
        ops_delta,
        checks: runs.iter().all(|r| r.2),
    })
}

pub fn main(raw: &str, out: &str) -> ExitCode {
    let Ok(text) = std::fs::read_to_string(raw) else {
        eprintln!("callgrind-report: cannot read {raw}");
        return ExitCode::from(2);
    };
    let mut runs: BTreeMap<(String, String), Vec<Run>> = BTreeMap::new();
    for row in text.lines().filter_map(json::parse_flat) {
        let (Some(Value::Str(w)), Some(Value::Str(r)), Some(ops), Some(ir)) = (
            row.get("workload"),
            row.get("runtime"),
            num(&row, "ops"),
            num(&row, "ir"),
        ) else {
            continue;
        };
        let ok = row.get("checks_passed") == Some(&Value::Bool(true));
        runs.entry((w.clone(), r.clone()))
            .or_default()
            .push((ops, ir, ok));
    }
    let cells: BTreeMap<(String, String), Marginal> = runs
        .iter()
        .filter_map(|(k, v)| marginal(v).map(|m| (k.clone(), m)))
        .collect();
    let get = |w: &str, r: &str| {
        let key = |w: &str| (w.to_string(), r.to_string());
        cells.get(&key(w)).or_else(|| {
            (matches!(w, "echo-sockets" | "echo-vec") && r != "aloop")
                .then(|| cells.get(&key("echo")))
                .flatten()
        })
    };
    let shown: Vec<&str> = RUNTIMES
        .iter()
        .copied()
        .filter(|r| cells.keys().any(|(_, rt)| rt == r))
        .collect();

    let mut md = String::from("| instructions per op (callgrind, marginal) |");
    for r in &shown {
        let _ = write!(md, " {r} |");
    }
    md.push_str(" aloop ÷ lowest of tokio-ct, smol |\n|---|");
    md.push_str(&"---:|".repeat(shown.len() + 1));
    md.push('\n');
    for w in WORKLOADS {
        if shown.iter().all(|r| get(w, r).is_none()) {
            continue;
        }
        let _ = write!(md, "| {w} |");
        for r in &shown {
            let cell = get(w, r).map_or("n/a".into(), |m| {
                let flag = if m.checks { "" } else { " **CHECK FAILED**" };
                format!("{}{flag}", fmt_ir(m.per_op))
            });
            let _ = write!(md, " {cell} |");
        }
        let lowest = PEERS
            .iter()
            .filter_map(|r| get(w, r).map(|m| m.per_op))
            .reduce(f64::min);
        let ratio = get(w, "aloop").map(|m| m.per_op).zip(lowest);
        let _ = writeln!(
            md,
            " {} |",
            ratio.map_or("n/a".into(), |(a, l)| format!("{:.2}x", a / l))
        );
    }
    md.push_str(
        "\nUser-space instructions (valgrind's Ir) per op: (Ir at the base size − Ir at a tenth) ÷ \
         (ops at the base size − ops at a tenth). Below 1.00x aloop executes fewer \
         instructions than the leaner peer. The kernel's work is not counted.\n",
    );
    print!("{md}");

    let lines: Vec<String> = cells
        .iter()
        .map(|((w, r), m)| {
            let mut o = json::Object::new();
            o.str("workload", w)
                .str("runtime", r)
                .num("instructions_per_op", m.per_op)
                .num("fixed_instructions", m.fixed)
                .num("ops_delta", m.ops_delta)
                .bool("checks_passed", m.checks);
            o.finish()
        })
        .collect();
    if let Err(e) = std::fs::write(out, format!("[\n{}\n]\n", lines.join(",\n"))) {
        eprintln!("callgrind-report: cannot write {out}: {e}");
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

fn fmt_ir(x: f64) -> String {
    if x >= 10_000.0 {
        format!("{:.1} k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}
