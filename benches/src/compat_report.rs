//! `cell compat-report <raw.jsonl> <out.json>`: the table of `compat.sh` from the `pg`
//! cells' lines (tokio-postgres from an aloop task through `aloop::compat`, and from a
//! tokio current_thread runtime). Medians per runtime, with the spread of the runs;
//! prints markdown, writes the medians to `out.json`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use crate::json::{self, Value};

type Row = BTreeMap<String, Value>;

const RUNTIMES: [&str; 2] = ["aloop", "tokio-ct"];

const METRICS: &[(&str, &str)] = &[
    (
        "seq_us_per_round_trip",
        "sequential: µs per round trip (wall clock)",
    ),
    (
        "seq_cpu_us_per_round_trip",
        "sequential: client CPU µs per round trip (all its threads)",
    ),
    (
        "seq_backend_cpu_us_per_round_trip",
        "sequential: server backend CPU µs per round trip",
    ),
    (
        "conc_us_per_query",
        "50 tasks at once: µs per query (wall clock ÷ queries)",
    ),
    (
        "conc_cpu_us_per_query",
        "50 tasks at once: client CPU µs per query",
    ),
    (
        "conc_backend_cpu_us_per_query",
        "50 tasks at once: server backend CPU µs per query",
    ),
];

fn values(runs: &[Row], key: &str) -> Vec<f64> {
    let mut xs: Vec<f64> = runs
        .iter()
        .filter_map(|r| match r.get(key) {
            Some(Value::Num(x)) => Some(*x),
            _ => None,
        })
        .collect();
    xs.sort_by(f64::total_cmp);
    xs
}

fn median(runs: &[Row], key: &str) -> Option<f64> {
    let xs = values(runs, key);
    xs.get(xs.len() / 2).copied()
}

/// `median (min–max)`, or the one value.
fn cell(runs: &[Row], key: &str) -> String {
    let xs = values(runs, key);
    match (xs.first(), xs.get(xs.len() / 2), xs.last()) {
        (Some(lo), Some(m), Some(hi)) if xs.len() > 1 => format!("{m:.1} ({lo:.1}–{hi:.1})"),
        (_, Some(m), _) => format!("{m:.1}"),
        _ => "n/a".into(),
    }
}

pub fn main(raw: &str, out: &str) -> ExitCode {
    let Ok(text) = std::fs::read_to_string(raw) else {
        eprintln!("compat-report: cannot read {raw}");
        return ExitCode::from(2);
    };
    let mut by_rt: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for row in text.lines().filter_map(json::parse_flat) {
        if row.get("workload") != Some(&Value::Str("pg".into())) {
            continue;
        }
        if let Some(Value::Str(rt)) = row.get("runtime") {
            by_rt.entry(rt.clone()).or_default().push(row);
        }
    }
    let (Some(aloop), Some(tokio)) = (by_rt.get(RUNTIMES[0]), by_rt.get(RUNTIMES[1])) else {
        eprintln!("compat-report: {raw} lacks the pg cells of aloop or tokio-ct");
        return ExitCode::from(2);
    };
    let failed = |runs: &[Row]| {
        if runs
            .iter()
            .all(|r| r.get("checks_passed") == Some(&Value::Bool(true)))
        {
            ""
        } else {
            " **CHECK FAILED**"
        }
    };

    let mut md = String::new();
    let _ = writeln!(
        md,
        "| tokio-postgres, `SELECT $1::int4` (median (min–max) of {} / {} runs) | aloop via `Compat`{} | tokio-ct{} | aloop − tokio-ct | aloop ÷ tokio-ct |",
        aloop.len(),
        tokio.len(),
        failed(aloop),
        failed(tokio)
    );
    md.push_str("|---|---:|---:|---:|---:|\n");
    for (key, label) in METRICS {
        let (a, t) = (median(aloop, key), median(tokio, key));
        let (diff, ratio) = match (a, t) {
            (Some(a), Some(t)) => (format!("{:+.1}", a - t), format!("{:.2}x", a / t)),
            _ => ("n/a".into(), "n/a".into()),
        };
        let _ = writeln!(
            md,
            "| {label} | {} | {} | {diff} | {ratio} |",
            cell(aloop, key),
            cell(tokio, key)
        );
    }
    print!("{md}");

    let lines: Vec<String> = by_rt
        .iter()
        .map(|(rt, runs)| {
            let mut o = json::Object::new();
            o.str("runtime", rt)
                .str("workload", "pg")
                .num("runs", runs.len() as f64)
                .bool("checks_passed", failed(runs).is_empty());
            for (key, _) in METRICS {
                if let Some(m) = median(runs, key) {
                    o.num(key, m);
                }
            }
            o.finish()
        })
        .collect();
    if let Err(e) = std::fs::write(out, format!("[\n{}\n]\n", lines.join(",\n"))) {
        eprintln!("compat-report: cannot write {out}: {e}");
        return ExitCode::from(2);
    }
    if failed(aloop).is_empty() && failed(tokio).is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
