//! What the server tests share (`http_server.rs`, `hyper.rs`): the built example
//! binaries, a server child that is killed when dropped, external clients (curl, wrk)
//! run with a time bound and skipped when missing, and small raw-socket helpers.

#![allow(dead_code)] // each test binary uses part of it

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// An example's binary, next to the test's: cargo builds a package's examples before
/// running its tests; built here if it is missing (a filtered build).
pub fn example_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target_dir = exe.parent().unwrap().parent().unwrap();
    let path = target_dir.join("examples").join(name);
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "aloop-examples", "--example", name])
            .status()
            .unwrap();
        assert!(status.success(), "building the example {name} failed");
    }
    path
}

/// A server example running as a child process; killed (if still running) on drop.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    /// The rest of its stdout, after the "listening on" line.
    pub stdout: BufReader<ChildStdout>,
}

impl Server {
    /// Starts `example` with `args` and reads the address from its first line,
    /// `listening on http://ADDR/ ...`.
    pub fn start(example: &str, args: &[&str]) -> Server {
        let mut child = Command::new(example_binary(example))
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let addr = line
            .strip_prefix("listening on http://")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_else(|| panic!("{example}: unexpected first line {line:?}"))
            .parse()
            .unwrap();
        Server {
            child,
            addr,
            stdout,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends `signal` to the server.
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) to our own child, not yet waited for.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, signal) }, 0);
    }

    /// Waits (bounded) for the server to exit; its exit status and the rest of its
    /// output.
    pub fn wait_exit(&mut self, bound: Duration) -> (std::process::ExitStatus, String) {
        let deadline = Instant::now() + bound;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(Instant::now() < deadline, "the server did not exit");
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut rest = String::new();
        self.stdout.read_to_string(&mut rest).unwrap();
        (status, rest)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether `tool` is installed; if not, says on stderr that `test` is skipped.
pub fn have(tool: &str, test: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!("skipping {test}: `{tool}` is not installed (Debian: apt-get install -y {tool})");
    }
    found
}

/// Runs `cmd` to its end, killing it (and failing) if it takes longer than `bound`.
pub fn run_bounded(cmd: &mut Command, bound: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Readers on threads, so a chatty child cannot block on a full pipe.
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + bound;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} took longer than {bound:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// Deterministic bytes that are not all alike (every value, no period short enough to
/// hide a shifted or repeated block).
pub fn test_bytes(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 24) as u8
        })
        .collect()
}

/// Everything the server sends until it closes (bounded by `bound`).
pub fn read_until_closed(conn: &mut TcpStream, bound: Duration) -> Vec<u8> {
    conn.set_read_timeout(Some(bound)).unwrap();
    let mut all = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => return all,
            Ok(n) => all.extend_from_slice(&buf[..n]),
            // A reset after the answer is a close too.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return all,
            Err(e) => panic!("reading from the server: {e} (got {all:?} so far)"),
        }
    }
}

/// `wrk -t1 -c50 -d2s URL`: asserts it ran, had no socket error and no non-2xx
/// response. Skips (with the reason) without wrk.
pub fn wrk_without_errors(url: &str, test: &str) {
    if !have("wrk", test) {
        return;
    }
    let out = run_bounded(
        Command::new("wrk").args(["-t1", "-c50", "-d2s", url]),
        Duration::from_secs(60),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "wrk failed: {text}");
    assert!(
        !text.contains("Socket errors"),
        "wrk saw socket errors:\n{text}"
    );
    assert!(
        !text.contains("Non-2xx"),
        "wrk saw non-2xx responses:\n{text}"
    );
    let requests: u64 = text
        .lines()
        .find_map(|l| {
            l.trim()
                .split_once(" requests in ")
                .map(|(n, _)| n.parse().ok())
        })
        .flatten()
        .unwrap_or_else(|| panic!("no request count in wrk's output:\n{text}"));
    assert!(requests > 100, "only {requests} requests:\n{text}");
}

/// `curl URL URL` in one invocation: both answered with `body`, over one connection
/// (curl's `%{num_connects}` is 1 for the first transfer, 0 for the reused one).
pub fn curl_keep_alive(url: &str, body: &str, test: &str) {
    if !have("curl", test) {
        return;
    }
    let out = run_bounded(
        Command::new("curl").args([
            "-sS",
            "--max-time",
            "20",
            "-w",
            "\n%{num_connects}\n",
            url,
            url,
        ]),
        Duration::from_secs(30),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        text,
        format!("{body}\n1\n{body}\n0\n"),
        "two answers, one connection"
    );
}

/// `curl -H 'Transfer-Encoding: chunked' --data-binary @FILE URL`: the answer must be
/// the file, byte for byte (the server's echo route).
pub fn curl_chunked_echo(url: &str, len: usize, test: &str) {
    if !have("curl", test) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("aloop-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (sent, got) = (dir.join("sent.bin"), dir.join("got.bin"));
    let data = test_bytes(len);
    std::fs::write(&sent, &data).unwrap();
    let out = run_bounded(
        Command::new("curl")
            .args([
                "-sSv",
                "--max-time",
                "30",
                "-H",
                "Transfer-Encoding: chunked",
                "--data-binary",
            ])
            .arg(format!("@{}", sent.display()))
            .arg("-o")
            .arg(&got)
            .args(["-w", "%{http_code}", url]),
        Duration::from_secs(40),
    );
    assert!(
        out.status.success(),
        "curl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, b"200");
    // curl -v shows the request's headers: the body did go out chunked.
    let sent_headers = String::from_utf8_lossy(&out.stderr);
    assert!(
        sent_headers.contains("> Transfer-Encoding: chunked"),
        "{sent_headers}"
    );
    let echoed = std::fs::read(&got).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(echoed.len(), data.len());
    assert!(echoed == data, "the echoed body differs from the one sent");
}
