//! The `mini_redis` example against the real redis clients, run as a child process:
//! `redis-cli` drives every command and each reply is checked (pub/sub between
//! redis-cli processes included), `redis-benchmark` runs its standard tests without
//! an error, and raw sockets check what the clients cannot show: pipelining, inline
//! commands, the protocol errors' exact bytes and the query buffer's bound.
//!
//! redis-cli and redis-benchmark come from Debian's `redis-tools` (`.ci/packages`
//! installs it in CI); without them those tests say so on stderr and pass. Every
//! external command runs under `timeout`.

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running mini_redis, killed when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(extra: &[&str]) -> Server {
        let mut child = Command::new(common::example_binary("mini_redis"))
            .arg("0")
            .args(extra)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
        let port = addr.rsplit(':').next().unwrap().parse().unwrap();
        Server { child, port }
    }

    fn connect(&self) -> TcpStream {
        let conn = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        conn
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `tool` is installed; if not, says which test skips and why.
fn have(tool: &str, test: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!("skipping {test}: {tool} not found (apt-get install -y redis-tools)");
    }
    found
}

/// Runs `program args` under `timeout`, so a hung client fails the test instead of
/// hanging it.
fn bounded(secs: u32, program: &str, args: &[&str]) -> Output {
    Command::new("timeout")
        .args(["-k", "5", &secs.to_string(), program])
        .args(args)
        .output()
        .unwrap()
}

/// redis-cli's output for one command (not a terminal: raw replies, one per line).
fn cli(port: u16, args: &[&str]) -> String {
    let port = port.to_string();
    let mut all = vec!["-p", &port];
    all.extend_from_slice(args);
    let out = bounded(20, "redis-cli", &all);
    assert!(out.status.success(), "redis-cli {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .trim_end_matches('\n')
        .to_owned()
}

/// Each command and redis-cli's rendering of its reply, checked in order. Errors
/// are printed as their text; nil and empty arrays as an empty line. `~N`: a time to
/// live of N seconds, give or take the few seconds a loaded machine may take.
fn expect_all(port: u16, cases: &[(&[&str], &str)]) {
    for (args, want) in cases {
        let got = cli(port, args);
        match want.strip_prefix('~') {
            Some(ttl) => {
                let (ttl, got): (i64, i64) = (ttl.parse().unwrap(), got.parse().unwrap());
                assert!((ttl - 5..=ttl).contains(&got), "redis-cli {args:?}: {got}");
            }
            None => assert_eq!(got, *want, "redis-cli {args:?}"),
        }
    }
}

#[test]
fn redis_cli_drives_every_command() {
    if !have("redis-cli", "redis_cli_drives_every_command") {
        return;
    }
    let server = Server::start(&[]);
    let not_int = "ERR value is not an integer or out of range";
    expect_all(
        server.port,
        &[
            (&["PING"], "PONG"),
            (&["PING", "hi there"], "hi there"),
            (
                &["PING", "a", "b"],
                "ERR wrong number of arguments for 'ping' command",
            ),
            (&["ECHO", "hello"], "hello"),
            (&["GET", "nokey"], ""),
            (&["SET", "greeting", "hello world"], "OK"),
            (&["GET", "greeting"], "hello world"),
            (&["GET"], "ERR wrong number of arguments for 'get' command"),
            // SET's options.
            (&["SET", "greeting", "x", "NX"], ""),
            (&["GET", "greeting"], "hello world"),
            (&["SET", "fresh", "x", "XX"], ""),
            (&["EXISTS", "fresh"], "0"),
            (&["SET", "fresh", "x", "NX"], "OK"),
            (&["SET", "fresh", "y", "XX"], "OK"),
            (&["SET", "fresh", "z", "GET"], "y"),
            (&["GET", "fresh"], "z"),
            (&["SET", "k", "v", "NX", "XX"], "ERR syntax error"),
            (&["SET", "k", "v", "BOGUS"], "ERR syntax error"),
            (&["SET", "k", "v", "EX"], "ERR syntax error"),
            (
                &["SET", "k", "v", "EX", "0"],
                "ERR invalid expire time in 'set' command",
            ),
            (&["SET", "k", "v", "EX", "ten"], not_int),
            (&["SET", "timed", "v", "EX", "100"], "OK"),
            (&["TTL", "timed"], "~100"),
            (&["SET", "timed", "v", "PX", "50000"], "OK"),
            (&["TTL", "timed"], "~50"),
            (&["SET", "timed", "w", "KEEPTTL"], "OK"),
            (&["TTL", "timed"], "~50"),
            (&["SET", "timed", "w"], "OK"),
            (&["TTL", "timed"], "-1"),
            // Counters.
            (&["INCR", "counter"], "1"),
            (&["INCRBY", "counter", "41"], "42"),
            (&["DECR", "counter"], "41"),
            (&["DECRBY", "counter", "-9"], "50"),
            (&["INCRBY", "counter", "1.5"], not_int),
            (&["INCR", "greeting"], not_int),
            (&["SET", "big", "9223372036854775807"], "OK"),
            (
                &["INCR", "big"],
                "ERR increment or decrement would overflow",
            ),
            // Several keys.
            (&["MSET", "a", "1", "b", "2"], "OK"),
            (&["MGET", "a", "nokey", "b"], "1\n\n2"),
            (
                &["MSET", "a", "1", "b"],
                "ERR wrong number of arguments for 'mset' command",
            ),
            (&["EXISTS", "a", "a", "nokey"], "2"),
            (&["DEL", "a", "b", "nokey"], "2"),
            (&["EXISTS", "a", "b"], "0"),
            // Expiry.
            (&["EXPIRE", "greeting", "100"], "1"),
            (&["TTL", "greeting"], "~100"),
            (&["EXPIRE", "greeting", "50", "GT"], "0"),
            (&["EXPIRE", "greeting", "50", "LT"], "1"),
            (&["EXPIRE", "greeting", "10", "NX"], "0"),
            (&["PERSIST", "greeting"], "1"),
            (&["PERSIST", "greeting"], "0"),
            (&["TTL", "greeting"], "-1"),
            (&["TTL", "nokey"], "-2"),
            (&["EXPIRE", "nokey", "10"], "0"),
            (&["EXPIRE", "greeting", "soon"], not_int),
            (&["EXPIRE", "greeting", "-1"], "1"),
            (&["EXISTS", "greeting"], "0"),
            // Connection and server.
            (&["SELECT", "0"], "OK"),
            (&["SELECT", "1"], "ERR DB index is out of range"),
            (&["CONFIG", "GET", "save"], "save"),
            (&["CONFIG", "GET", "appendonly"], "appendonly\nno"),
            (&["CONFIG", "GET", "nothing*"], ""),
            (&["COMMAND", "DOCS"], ""),
            (&["PUBLISH", "nobody", "listens"], "0"),
            (&["UNSUBSCRIBE"], "unsubscribe\n\n0"),
            (
                &["NOSUCH", "x", "y"],
                "ERR unknown command 'NOSUCH', with args beginning with: 'x' 'y' ",
            ),
            (&["QUIT"], "OK"),
        ],
    );
    // PTTL's reply depends on the clock; it is checked within a range instead.
    let pttl: i64 = {
        cli(server.port, &["SET", "p", "v", "PX", "100000"]);
        cli(server.port, &["PTTL", "p"]).parse().unwrap()
    };
    assert!((90_000..=100_000).contains(&pttl), "PTTL {pttl}");

    // KEYS with every kind of glob pattern.
    cli(server.port, &["FLUSHALL"]);
    cli(
        server.port,
        &[
            "MSET", "hello", "1", "hallo", "1", "hxllo", "1", "hllo", "1", "heeello", "1", "h*llo",
            "1",
        ],
    );
    assert_eq!(cli(server.port, &["DBSIZE"]), "6");
    let keys = |pattern: &str| {
        let out = cli(server.port, &["KEYS", pattern]);
        let mut keys: Vec<String> = out.lines().map(str::to_owned).collect();
        keys.sort();
        keys.join(" ")
    };
    assert_eq!(keys("*"), "h*llo hallo heeello hello hllo hxllo");
    assert_eq!(keys("h?llo"), "h*llo hallo hello hxllo");
    assert_eq!(keys("h*llo"), "h*llo hallo heeello hello hllo hxllo");
    assert_eq!(keys("h[ae]llo"), "hallo hello");
    assert_eq!(keys("h[^e]llo"), "h*llo hallo hxllo");
    assert_eq!(keys("h[a-e]llo"), "hallo hello");
    assert_eq!(keys("h\\*llo"), "h*llo");
    assert_eq!(keys("nothing*"), "");
    assert_eq!(cli(server.port, &["FLUSHALL"]), "OK");
    assert_eq!(cli(server.port, &["DBSIZE"]), "0");
}

#[test]
fn expired_keys_are_removed_by_the_loops_timers() {
    if !have("redis-cli", "expired_keys_are_removed_by_the_loops_timers") {
        return;
    }
    let server = Server::start(&[]);
    assert_eq!(cli(server.port, &["SET", "short", "v", "PX", "200"]), "OK");
    assert_eq!(cli(server.port, &["SET", "long", "v", "EX", "100"]), "OK");
    assert_eq!(cli(server.port, &["GET", "short"]), "v");
    std::thread::sleep(Duration::from_millis(600));
    // Nobody touched `short`: DBSIZE counts keys present, so 1 means its timer
    // removed it (lazy expiry alone would still count it).
    assert_eq!(cli(server.port, &["DBSIZE"]), "1");
    assert_eq!(cli(server.port, &["EXISTS", "short", "long"]), "1");
    assert_eq!(cli(server.port, &["TTL", "short"]), "-2");
}

/// A redis-cli subscriber: its output lines, as they come.
struct Subscriber {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Subscriber {
    fn start(port: u16, args: &[&str]) -> Subscriber {
        let mut child = Command::new("timeout")
            .args(["-k", "5", "30", "redis-cli", "-p", &port.to_string()])
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Subscriber { child, lines }
    }

    /// The next `n` lines, within a bound.
    fn expect(&self, want: &[&str]) {
        for w in want {
            let line = self
                .lines
                .recv_timeout(Duration::from_secs(20))
                .unwrap_or_else(|e| panic!("waiting for {w:?}: {e}"));
            assert_eq!(line, *w);
        }
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn redis_cli_subscribers_get_what_another_redis_cli_publishes() {
    if !have(
        "redis-cli",
        "redis_cli_subscribers_get_what_another_redis_cli_publishes",
    ) {
        return;
    }
    let server = Server::start(&[]);
    let channels = Subscriber::start(server.port, &["SUBSCRIBE", "news", "weather"]);
    channels.expect(&["subscribe", "news", "1", "subscribe", "weather", "2"]);
    let pattern = Subscriber::start(server.port, &["PSUBSCRIBE", "n*"]);
    pattern.expect(&["psubscribe", "n*", "1"]);

    assert_eq!(cli(server.port, &["PUBLISH", "news", "hello"]), "2");
    channels.expect(&["message", "news", "hello"]);
    pattern.expect(&["pmessage", "n*", "news", "hello"]);
    assert_eq!(cli(server.port, &["PUBLISH", "weather", "rain"]), "1");
    channels.expect(&["message", "weather", "rain"]);
    assert_eq!(cli(server.port, &["PUBLISH", "sports", "none"]), "0");

    // A subscriber that leaves is unsubscribed from everything.
    drop(channels);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while cli(server.port, &["PUBLISH", "news", "again"]) != "1" {
        assert!(
            std::time::Instant::now() < deadline,
            "the subscriber stayed"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    pattern.expect(&["pmessage", "n*", "news", "again"]);
}

#[test]
fn redis_benchmark_runs_its_tests_without_an_error() {
    if !have(
        "redis-benchmark",
        "redis_benchmark_runs_its_tests_without_an_error",
    ) {
        return;
    }
    let server = Server::start(&[]);
    let port = server.port.to_string();
    let tests = [
        "PING_INLINE",
        "PING_MBULK",
        "SET",
        "GET",
        "INCR",
        "MSET (10 keys)",
    ];
    let out = bounded(
        120,
        "redis-benchmark",
        &[
            "-p",
            &port,
            "-t",
            "ping,set,get,incr,mset",
            "-n",
            "50000",
            "-c",
            "50",
            "-q",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{out:?}");
    for bad in ["ERR", "rror", "WARNING"] {
        assert!(
            !stdout.contains(bad) && !stderr.contains(bad),
            "{stdout}\n{stderr}"
        );
    }
    // -q prints progress lines ending in \r, then one final line per test.
    let finals: Vec<&str> = stdout
        .split(['\r', '\n'])
        .filter(|l| l.contains("requests per second"))
        .collect();
    for test in tests {
        let line = finals
            .iter()
            .find(|l| l.starts_with(&format!("{test}: ")))
            .unwrap_or_else(|| panic!("no result for {test}:\n{stdout}"));
        let rate: f64 = line[test.len() + 2..]
            .split(' ')
            .next()
            .and_then(|r| r.parse().ok())
            .unwrap_or_else(|| panic!("no rate in {line:?}"));
        assert!(rate > 0.0, "{line}");
    }
    // The keyspace holds what the tests wrote (SET's key, INCR's counter, MSET's).
    assert_ne!(cli(server.port, &["DBSIZE"]), "0");
}

#[path = "mini_redis/raw.rs"]
mod raw;
