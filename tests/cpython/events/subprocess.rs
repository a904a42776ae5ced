//! `SubprocessTestsMixin` of test_events.py. CPython drives `loop.subprocess_exec` /
//! `subprocess_shell` with a `SubprocessProtocol`; aloop has no protocol-level
//! subprocess API, only `create_subprocess_exec` / `_shell` and their `Process` with
//! stream pipes, so each test checks the same observable behaviour through a `Process`
//! (*difference* in form: pipe data is read from the streams instead of arriving in
//! `pipe_data_received`, and `transp.close()`, which kills a child still running, is an
//! explicit `kill()`). CPython's helper scripts (`echo.py`, `echo2.py`, `echo3.py`) are
//! `cat` and small `sh` scripts. Every wait is bounded. Neighbours: `signals.rs`.

use std::future::Future;
use std::os::unix::process::CommandExt;
use std::time::Duration;

use aloop::signal::{SIGHUP, SIGKILL, SIGTERM};
use aloop::subprocess::Stdio;
use aloop::{create_subprocess_exec, create_subprocess_shell, Process, StreamReader};

/// `echo2.py`: reads one chunk of 4 bytes, writes it to stdout and to stderr.
const ECHO2: &str = "data=$(head -c 4); printf 'OUT:%s' \"$data\"; printf 'ERR:%s' \"$data\" >&2";

/// `echo3.py`, line by line: echoes each line to stdout; once stdout is gone, reports
/// the broken pipe on stderr.
const ECHO3: &str = "trap '' PIPE; while IFS= read -r line; do \
                     printf 'OUT:%s' \"$line\" 2>/dev/null || printf 'ERR:BrokenPipeError' >&2; \
                     done";

async fn within<T>(fut: impl Future<Output = T>) -> T {
    aloop::timeout(Some(Duration::from_secs(20)), fut)
        .await
        .expect("the child did not answer within 20 s")
}

/// Reads from `r` until `want` bytes came or the stream ended.
async fn read_at_least(r: &StreamReader, want: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < want {
        let chunk = within(r.read(1024)).await.unwrap();
        if chunk.is_empty() {
            break;
        }
        got.extend_from_slice(&chunk);
    }
    got
}

/// `cat` with every stream a pipe (CPython's `subprocess_exec` defaults).
async fn echo() -> Process {
    create_subprocess_exec("cat", [] as [&str; 0])
        .stdin(Stdio::Pipe)
        .stdout(Stdio::Pipe)
        .stderr(Stdio::Pipe)
        .await
        .unwrap()
}

async fn killed(p: &Process) -> i32 {
    p.kill().unwrap();
    within(p.wait()).await.unwrap()
}

#[aloop::test]
async fn events_subprocess_subprocess_exec() {
    let p = echo().await;
    p.stdin
        .as_ref()
        .unwrap()
        .write(b"Python The Winner")
        .unwrap();
    let out = read_at_least(p.stdout.as_ref().unwrap(), 17).await;
    assert_eq!(killed(&p).await, -SIGKILL);
    assert_eq!(out, b"Python The Winner");
}

#[aloop::test]
async fn events_subprocess_subprocess_interactive() {
    let p = echo().await;
    let (stdin, stdout) = (p.stdin.as_ref().unwrap(), p.stdout.as_ref().unwrap());
    stdin.write(b"Python ").unwrap();
    assert_eq!(read_at_least(stdout, 7).await, b"Python ");
    stdin.write(b"The Winner").unwrap();
    assert_eq!(read_at_least(stdout, 10).await, b"The Winner");
    assert_eq!(killed(&p).await, -SIGKILL);
}

/// `echo Python`: its output, an empty stderr, exit status 0, every pipe closed.
#[aloop::test]
async fn events_subprocess_subprocess_shell() {
    let mut p = create_subprocess_shell("echo Python")
        .stdin(Stdio::Pipe)
        .stdout(Stdio::Pipe)
        .stderr(Stdio::Pipe)
        .await
        .unwrap();
    p.stdin.as_ref().unwrap().close();
    let (out, err) = within(p.communicate(None)).await.unwrap();
    assert_eq!(p.returncode(), Some(0));
    assert_eq!(out.strip_suffix(b"\n").unwrap_or(&out), b"Python");
    assert_eq!(err, b"");
}

#[aloop::test]
async fn events_subprocess_subprocess_exitcode() {
    let p = create_subprocess_shell("exit 7").await.unwrap();
    assert_eq!(within(p.wait()).await.unwrap(), 7);
}

/// With no pipes asked for, there is no pipe to get; the exit status comes through.
#[aloop::test]
async fn events_subprocess_subprocess_close_after_finish() {
    let p = create_subprocess_shell("exit 7").await.unwrap();
    assert!(p.stdin.is_none());
    assert!(p.stdout.is_none());
    assert!(p.stderr.is_none());
    assert_eq!(within(p.wait()).await.unwrap(), 7);
    assert_eq!(p.returncode(), Some(7));
}

#[aloop::test]
async fn events_subprocess_subprocess_kill() {
    let p = echo().await;
    assert_eq!(killed(&p).await, -SIGKILL);
}

#[aloop::test]
async fn events_subprocess_subprocess_terminate() {
    let p = echo().await;
    p.terminate().unwrap();
    assert_eq!(within(p.wait()).await.unwrap(), -SIGTERM);
}

/// SIGHUP with its default action ends the child. (CPython resets its own SIGHUP to
/// the default first, as a parent may ignore it; the Rust test harness does not.)
#[aloop::test]
async fn events_subprocess_subprocess_send_signal() {
    let p = echo().await;
    p.send_signal(SIGHUP).unwrap();
    assert_eq!(within(p.wait()).await.unwrap(), -SIGHUP);
}

#[aloop::test]
async fn events_subprocess_subprocess_stderr() {
    let mut p = create_subprocess_shell(ECHO2)
        .stdin(Stdio::Pipe)
        .stdout(Stdio::Pipe)
        .stderr(Stdio::Pipe)
        .await
        .unwrap();
    let (out, err) = within(p.communicate(Some(b"test"))).await.unwrap();
    assert_eq!(out, b"OUT:test");
    assert!(err.starts_with(b"ERR:test"), "{err:?}");
    assert_eq!(p.returncode(), Some(0));
}

/// `stderr=STDOUT`: both go to the stdout pipe, there is no stderr pipe.
#[aloop::test]
async fn events_subprocess_subprocess_stderr_redirect_to_stdout() {
    let mut p = create_subprocess_shell(ECHO2)
        .stdin(Stdio::Pipe)
        .stdout(Stdio::Pipe)
        .stderr(Stdio::Stdout)
        .await
        .unwrap();
    assert!(p.stdout.is_some());
    assert!(p.stderr.is_none());
    let (out, err) = within(p.communicate(Some(b"test"))).await.unwrap();
    assert!(out.starts_with(b"OUT:testERR:test"), "{out:?}");
    assert_eq!(err, b"");
    assert_eq!(p.returncode(), Some(0));
}

/// Closing our end of the child's stdout: the child's next write fails with a broken
/// pipe, which it reports on stderr. (`echo3.py` echoes chunks; the `sh` stand-in
/// echoes lines, so the test sends lines.)
///
/// A line is sent again (every 200 ms) until stderr speaks: a child that another test of
/// this binary forks at that moment holds a copy of our end of the pipe until it execs
/// (the copy is closed then, as `O_CLOEXEC` says), and a write made meanwhile still
/// succeeds. CPython's suite runs one test at a time and never meets that window; here,
/// under load, 2 runs of 20 of this file's tests hung on it.
#[aloop::test]
async fn events_subprocess_subprocess_close_client_stream() {
    const BROKEN: &[u8] = b"ERR:BrokenPipeError";
    let mut p = create_subprocess_shell(ECHO3)
        .stdin(Stdio::Pipe)
        .stdout(Stdio::Pipe)
        .stderr(Stdio::Pipe)
        .await
        .unwrap();
    let stdin = p.stdin.take().unwrap();
    stdin.write(b"test\n").unwrap();
    let stdout = p.stdout.take().unwrap();
    assert_eq!(read_at_least(&stdout, 8).await, b"OUT:test");
    drop(stdout);
    let stderr = p.stderr.as_ref().unwrap();
    let mut err = Vec::new();
    for _ in 0..100 {
        stdin.write(b"xxx\n").unwrap();
        match aloop::timeout(Some(Duration::from_millis(200)), stderr.read(1024)).await {
            Ok(chunk) => {
                err = chunk.unwrap();
                break;
            }
            Err(_) => continue,
        }
    }
    err.extend(read_at_least(stderr, BROKEN.len().saturating_sub(err.len())).await);
    // Each line the child read after the end was gone failed the same way.
    assert!(
        !err.is_empty() && err.chunks(BROKEN.len()).all(|c| c == BROKEN),
        "stderr: {:?}",
        String::from_utf8_lossy(&err)
    );
    assert_eq!(killed(&p).await, -SIGKILL);
}

/// A child in a process group of its own is still waited for. (CPython's
/// `start_new_session=True` is `setsid`; here the child gets a new process group
/// through the builder's `std::process::Command`.)
#[aloop::test]
async fn events_subprocess_subprocess_wait_no_same_group() {
    let mut child = create_subprocess_shell("exit 7");
    child.as_std_mut().process_group(0);
    let p = child.await.unwrap();
    assert_eq!(within(p.wait()).await.unwrap(), 7);
}
