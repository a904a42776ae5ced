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
    "aloop-into",
    "aloop-protocol",
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

/// A table of redis-benchmark results: one row per server and pipeline depth.
struct RespTable {
    bench: &'static str,
    title: &'static str,
    load: &'static str,
    servers: &'static [&'static str],
    /// The server the ratios are against.
    base: &'static str,
    /// (JSON key, redis-benchmark's name) of each test.
    tests: &'static [(&'static str, &'static str)],
}

/// The RESP hello servers of `cell serve resp` (PING, SET, GET only).
const RESP: RespTable = RespTable {
    bench: "resp",
    title: "RESP",
    load: "redis-benchmark -c 50 -t ping,set,get",
    servers: &[
        "aloop",
        "aloop-into",
        "aloop-batched",
        "aloop-chunks",
        "aloop-protocol",
        "tokio-ct",
        "tokio-fields",
        "tokio-plain",
    ],
    base: "tokio-ct",
    tests: &[
        ("rps_ping_inline", "PING_INLINE"),
        ("rps_ping_mbulk", "PING_MBULK"),
        ("rps_set", "SET"),
        ("rps_get", "GET"),
    ],
};

/// The mini_redis example against Debian's redis-server.
const REDIS: RespTable = RespTable {
    bench: "redis",
    title: "redis",
    load: "redis-benchmark -c 50 -t ping,set,get,incr,mset",
    servers: &["mini-redis", "redis-server"],
    base: "redis-server",
    tests: &[
        ("rps_ping_inline", "PING_INLINE"),
        ("rps_ping_mbulk", "PING_MBULK"),
        ("rps_set", "SET"),
        ("rps_get", "GET"),
        ("rps_incr", "INCR"),
        ("rps_mset", "MSET"),
    ],
};

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

/// Appends `table`'s rows (medians per cell) to `md`, if any was measured.
fn resp_table(md: &mut String, cells: &Cells, table: &RespTable) {
    let RespTable {
        bench,
        title,
        load,
        servers,
        base,
        tests,
    } = table;
    let get = |s: &str, p: u64| cells.get(&(bench.to_string(), s.to_string(), p));
    let med = |s: &str, p: u64, k: &str| get(s, p).and_then(|r| median(r, k));
    let pipelines: std::collections::BTreeSet<u64> = cells
        .keys()
        .filter(|(b, _, _)| b == bench)
        .map(|(_, _, p)| *p)
        .collect();
    if pipelines.is_empty() {
        return;
    }
    let _ = write!(md, "| {title} (`{load}`) | -P |");
    for (_, name) in *tests {
        let _ = write!(md, " {name} |");
    }
    let _ = writeln!(
        md,
        " all requests/s | ÷ {base} | server CPU µs/request | CPU ÷ {base} |"
    );
    md.push_str("|---|---:|");
    md.push_str(&"---:|".repeat(tests.len() + 4));
    md.push('\n');
    for p in pipelines {
        let base_rps = med(base, p, "rps");
        let base_cpu = med(base, p, "cpu_us_per_req");
        for s in *servers {
            let Some(runs) = get(s, p) else {
                continue;
            };
            let _ = write!(md, "| {s}{} | {p} |", failed(runs));
            for (key, _) in *tests {
                let _ = write!(md, " {} |", rate(med(s, p, key)));
            }
            let (rps, cpu) = (med(s, p, "rps"), med(s, p, "cpu_us_per_req"));
            let _ = writeln!(
                md,
                " {} | {} | {} | {} |",
                rate(rps),
                ratio(rps, base_rps),
                us(cpu),
                ratio(cpu, base_cpu)
            );
        }
    }
    let _ = writeln!(
        md,
        "\nall requests/s: every request of the {} tests ÷ the sum of their times.\n",
        tests.len()
    );
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
    resp_table(&mut md, &cells, &RESP);
    resp_table(&mut md, &cells, &REDIS);
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
