//! `loadgen report RAW.jsonl`: the markdown tables of `latency.sh` from the lines it
//! wrote, one per server × mode × run (generate.rs's figures plus the script's `run`,
//! `server_cpu_ns` and `loadavg_1m`). Medians per cell, with min–max where runs
//! spread; the ratios issue 16 asks for when their servers are present.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use crate::json::{self, Value};

type Row = BTreeMap<String, Value>;

/// (mode, target rate (empty for the closed loop), server label).
type Key = (String, String, String);

/// The rows of each key, keys in order of first appearance.
struct Cells {
    order: Vec<Key>,
    runs: BTreeMap<Key, Vec<Row>>,
}

fn num(row: &Row, key: &str) -> Option<f64> {
    match row.get(key) {
        Some(Value::Num(n)) => Some(*n),
        _ => None,
    }
}

fn text<'a>(row: &'a Row, key: &str) -> &'a str {
    match row.get(key) {
        Some(Value::Str(s)) => s,
        _ => "",
    }
}

/// Server CPU per reply, µs: its threads' time over the load ÷ every reply.
fn cpu_us_per_req(row: &Row) -> Option<f64> {
    let replies = num(row, "replies").filter(|r| *r > 0.0)?;
    Some(num(row, "server_cpu_ns")? / 1e3 / replies)
}

/// (median, min, max) of `f` over `rows` where it is known.
fn spread(rows: &[Row], f: impl Fn(&Row) -> Option<f64>) -> Option<(f64, f64, f64)> {
    let mut v: Vec<f64> = rows.iter().filter_map(f).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Some((median, v[0], v[n - 1]))
}

fn median(rows: &[Row], f: impl Fn(&Row) -> Option<f64>) -> Option<f64> {
    spread(rows, f).map(|s| s.0)
}

/// `12.3 k (11.9–12.8)` for rates, `123 (110–140)` for µs.
fn show(s: Option<(f64, f64, f64)>, rate: bool) -> String {
    let f = |x: f64| {
        if rate {
            format!("{:.1} k", x / 1e3)
        } else if x >= 100.0 {
            format!("{x:.0}")
        } else {
            format!("{x:.1}")
        }
    };
    match s {
        None => "–".into(),
        Some((m, lo, hi)) if lo == hi => f(m),
        Some((m, lo, hi)) => format!("{} ({}–{})", f(m), f(lo).trim_end_matches(" k"), f(hi)),
    }
}

fn one(x: Option<f64>, digits: usize) -> String {
    x.map_or_else(|| "–".into(), |x| format!("{x:.digits$}"))
}

pub fn main(raw: &str) -> ExitCode {
    let text_in = match std::fs::read_to_string(raw) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("loadgen report: {raw}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut cells = Cells {
        order: Vec::new(),
        runs: BTreeMap::new(),
    };
    for line in text_in.lines().filter(|l| !l.trim().is_empty()) {
        let Some(row) = json::parse_flat(line) else {
            eprintln!("loadgen report: not a flat JSON object: {line}");
            return ExitCode::FAILURE;
        };
        let rate = num(&row, "target_rate").map_or_else(String::new, |r| format!("{r:.0}"));
        let key = (
            text(&row, "mode").to_owned(),
            rate,
            text(&row, "label").to_owned(),
        );
        if !cells.runs.contains_key(&key) {
            cells.order.push(key.clone());
        }
        cells.runs.entry(key).or_default().push(row);
    }
    print!("{}", closed_table(&cells));
    let mut rates: Vec<&str> = Vec::new();
    for (mode, rate, _) in &cells.order {
        if mode == "open" && !rates.contains(&rate.as_str()) {
            rates.push(rate);
        }
    }
    for rate in rates {
        print!("{}", open_table(&cells, rate));
    }
    ExitCode::SUCCESS
}

/// (label, runs) of `mode` at `rate` ("" for the closed loop).
fn rows<'a>(
    cells: &'a Cells,
    mode: &'a str,
    rate: &'a str,
) -> impl Iterator<Item = (&'a str, &'a [Row])> {
    cells
        .order
        .iter()
        .filter(move |(m, r, _)| m == mode && r == rate)
        .map(|key| (key.2.as_str(), cells.runs[key].as_slice()))
}

fn failures(rows: &[Row]) -> f64 {
    rows.iter()
        .map(|r| {
            ["errors", "mismatched", "unanswered"]
                .iter()
                .filter_map(|k| num(r, k))
                .sum::<f64>()
        })
        .sum()
}

fn closed_table(cells: &Cells) -> String {
    let mut out = String::new();
    if rows(cells, "closed", "").next().is_none() {
        return out;
    }
    out.push_str("\nPeak (closed loop: each connection sends when its reply is in)\n\n");
    out.push_str("| server | round trips/s | server CPU µs/req | p50 µs | p99 µs | generator cores | failures | runs |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    let mut peaks = BTreeMap::new();
    for (label, rows) in rows(cells, "closed", "") {
        let rate = spread(rows, |r| num(r, "rate"));
        if let Some((m, ..)) = rate {
            peaks.insert(label, m);
        }
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {} | {} | {} | {} | {} |",
            show(rate, true),
            one(median(rows, cpu_us_per_req), 2),
            show(spread(rows, |r| num(r, "p50_us")), false),
            show(spread(rows, |r| num(r, "p99_us")), false),
            one(median(rows, |r| num(r, "gen_cores")), 2),
            failures(rows),
            rows.len(),
        );
    }
    out.push('\n');
    for (a, b, what) in [
        (
            "aloop-2",
            "tokio-mt2",
            "aloop on 2 loops ÷ tokio multi_thread(2)",
        ),
        (
            "aloop-2p",
            "tokio-mt2",
            "aloop on 2 pinned loops ÷ tokio multi_thread(2)",
        ),
        ("aloop-2", "aloop-1", "scaling, aloop 2 loops ÷ 1 loop"),
        (
            "tokio-mt2",
            "tokio-ct",
            "tokio multi_thread(2) ÷ current_thread",
        ),
    ] {
        if let (Some(x), Some(y)) = (peaks.get(a), peaks.get(b)) {
            let _ = writeln!(out, "- {what}: {:.2}×", x / y);
        }
    }
    out
}

fn open_table(cells: &Cells, rate: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nFixed rate (open loop: {rate} requests/s, latency from each request's due time)\n"
    );
    out.push_str("| server | achieved/s | p50 µs | p99 µs | p99.9 µs | max µs | server CPU µs/req | send lag p99 µs | generator cores | failures | runs |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let mut p99s = BTreeMap::new();
    for (label, rows) in rows(cells, "open", rate) {
        let p99 = spread(rows, |r| num(r, "p99_us"));
        if let Some((m, ..)) = p99 {
            p99s.insert(label, m);
        }
        let _ = writeln!(
            out,
            "| {label} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            show(spread(rows, |r| num(r, "rate")), true),
            show(spread(rows, |r| num(r, "p50_us")), false),
            show(p99, false),
            show(spread(rows, |r| num(r, "p999_us")), false),
            show(spread(rows, |r| num(r, "max_us")), false),
            one(median(rows, cpu_us_per_req), 2),
            one(median(rows, |r| num(r, "lag_p99_us")), 0),
            one(median(rows, |r| num(r, "gen_cores")), 2),
            failures(rows),
            rows.len(),
        );
    }
    out.push('\n');
    for (a, what) in [("aloop-2", "2 loops"), ("aloop-2p", "2 pinned loops")] {
        if let (Some(a), Some(t)) = (p99s.get(a), p99s.get("tokio-mt2")) {
            let _ = writeln!(
                out,
                "- p99, aloop on {what} ÷ tokio multi_thread(2): {:.2}× (issue 16 asks ≤ 1)",
                a / t
            );
        }
    }
    out
}
