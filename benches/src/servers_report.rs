//! `cell servers-report <raw.jsonl> <out.json>`: the tables of `servers.sh` from the
//! lines it wrote (one per server × load × run: requests/s from the load generator,
//! the server's CPU ticks over the run). Medians per cell; prints markdown, writes the
//! medians to `out.json`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::process::ExitCode;

use crate::json::{self, Value};

type Row = BTreeMap<String, Value>;

/// (bench, server, pipeline) → its runs.
type Cells = BTreeMap<(String, String, u64), Vec<Row>>;

const HTTP_SERVERS: &[&str] = &[
    "aloop",
    "aloop-example",
    "tokio-ct",
    "uvloop",
    "aloop-rt2",
    "tokio-mt2",
    "hyper-aloop",
    "hyper-tokio",
];

/// The server an HTTP server is compared with: the same kind of server on tokio.
fn http_peer(server: &str) -> &'static str {
    match server {
        "hyper-aloop" | "hyper-tokio" => "hyper-tokio",
        "aloop-rt2" | "tokio-mt2" => "tokio-mt2",
        _ => "tokio-ct",
    }
}
const RESP_SERVERS: &[&str] = &["aloop", "aloop-batched", "tokio-ct"];
const RESP_TESTS: &[(&str, &str)] = &[
    ("rps_ping_inline", "PING_INLINE"),
    ("rps_ping_mbulk", "PING_MBULK"),
    ("rps_set", "SET"),
    ("rps_get", "GET"),
];

fn median(runs: &[Row], key: &str) -> Option<f64> {
    let mut xs: Vec<f64> = runs
        .iter()
        .filter_map(|r| match r.get(key) {
            Some(Value::Num(x)) => Some(*x),
            _ => None,
        })
        .collect();
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied()
}

fn rate(x: Option<f64>) -> String {
    x.map_or("n/a".into(), |x| format!("{:.1} k/s", x / 1e3))
}

fn us(x: Option<f64>) -> String {
    x.map_or("n/a".into(), |x| format!("{x:.2}"))
}

fn ratio(x: Option<f64>, base: Option<f64>) -> String {
    x.zip(base)
        .map_or("n/a".into(), |(x, b)| format!("{:.2}x", x / b))
}

fn failed(runs: &[Row]) -> &'static str {
    let ok = runs
        .iter()
        .all(|r| r.get("checks_passed") == Some(&Value::Bool(true)));
    if ok {
        ""
    } else {
        " **CHECK FAILED**"
    }
}

pub fn main(raw: &str, out: &str) -> ExitCode {
    let Ok(text) = std::fs::read_to_string(raw) else {
        eprintln!("servers-report: cannot read {raw}");
        return ExitCode::from(2);
    };
    let mut cells = Cells::new();
    for row in text.lines().filter_map(json::parse_flat) {
        let (Some(Value::Str(b)), Some(Value::Str(s)), Some(Value::Num(p))) =
            (row.get("bench"), row.get("server"), row.get("pipeline"))
        else {
            continue;
        };
        let key = (b.clone(), s.clone(), *p as u64);
        cells.entry(key).or_default().push(row);
    }
    let get = |b: &str, s: &str, p: u64| cells.get(&(b.to_string(), s.to_string(), p));
    let med = |b: &str, s: &str, p: u64, k: &str| get(b, s, p).and_then(|r| median(r, k));

    let mut md = String::new();
    if HTTP_SERVERS.iter().any(|s| get("http", s, 1).is_some()) {
        md.push_str("| HTTP hello (`wrk -t1 -c50`) | requests/s | server CPU µs/request | requests/s ÷ peer | CPU ÷ peer | peer |\n|---|---:|---:|---:|---:|---|\n");
        for s in HTTP_SERVERS {
            let Some(runs) = get("http", s, 1) else {
                continue;
            };
            let peer = http_peer(s);
            let (rps, cpu) = (
                med("http", s, 1, "rps"),
                med("http", s, 1, "cpu_us_per_req"),
            );
            let _ = writeln!(
                md,
                "| {s}{} | {} | {} | {} | {} | {peer} |",
                failed(runs),
                rate(rps),
                us(cpu),
                ratio(rps, med("http", peer, 1, "rps")),
                ratio(cpu, med("http", peer, 1, "cpu_us_per_req"))
            );
        }
        md.push('\n');
    }
    let pipelines: Vec<u64> = cells
        .keys()
        .filter(|(b, _, _)| b == "resp")
        .map(|(_, _, p)| *p)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !pipelines.is_empty() {
        md.push_str("| RESP (`redis-benchmark -c 50 -t ping,set,get`) | -P |");
        for (_, name) in RESP_TESTS {
            let _ = write!(md, " {name} |");
        }
        md.push_str(" all requests/s | server CPU µs/request | CPU ÷ tokio-ct |\n|---|---:|");
        md.push_str(&"---:|".repeat(RESP_TESTS.len() + 3));
        md.push('\n');
        for &p in &pipelines {
            let base = med("resp", "tokio-ct", p, "cpu_us_per_req");
            for s in RESP_SERVERS {
                let Some(runs) = get("resp", s, p) else {
                    continue;
                };
                let _ = write!(md, "| {s}{} | {p} |", failed(runs));
                for (key, _) in RESP_TESTS {
                    let _ = write!(md, " {} |", rate(med("resp", s, p, key)));
                }
                let cpu = med("resp", s, p, "cpu_us_per_req");
                let _ = writeln!(
                    md,
                    " {} | {} | {} |",
                    rate(med("resp", s, p, "rps")),
                    us(cpu),
                    ratio(cpu, base)
                );
            }
        }
        md.push_str(
            "\nall requests/s: every request of the four tests ÷ the sum of their times.\n",
        );
    }
    if md.is_empty() {
        md.push_str("no server was measured (see the skip reasons above)\n");
    } else {
        md.push_str("Medians; server CPU: the time the server's threads ran during the load generator's run (/proc/<pid>/task/*/schedstat), ÷ requests.\n");
    }
    print!("{md}");

    let lines: Vec<String> = cells
        .iter()
        .map(|((b, s, p), runs)| {
            let mut o = json::Object::new();
            o.str("bench", b)
                .str("server", s)
                .num("pipeline", *p as f64)
                .num("runs", runs.len() as f64)
                .bool("checks_passed", failed(runs).is_empty());
            let keys: std::collections::BTreeSet<&String> = runs
                .iter()
                .flat_map(|r| r.iter())
                .filter(|(k, v)| matches!(v, Value::Num(_)) && *k != "run" && *k != "pipeline")
                .map(|(k, _)| k)
                .collect();
            for k in keys {
                if let Some(m) = median(runs, k) {
                    o.num(k, m);
                }
            }
            o.finish()
        })
        .collect();
    if let Err(e) = std::fs::write(out, format!("[\n{}\n]\n", lines.join(",\n"))) {
        eprintln!("servers-report: cannot write {out}: {e}");
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}
