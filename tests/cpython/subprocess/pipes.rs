//! The `SubprocessMixin` methods about a child's standard streams: writing its stdin,
//! reading its stdout and stderr, `communicate`, `/dev/null`, a child that exits
//! before its stdin is fed. Neighbours: `signals.rs`, `creation.rs`.

use std::io;
use std::time::Duration;

use aloop::subprocess::Stdio;
use aloop::{create_subprocess_exec, create_subprocess_shell, create_task};

use super::{bounded, program_cat, program_count_stdin};

/// CPython's `support.PIPE_MAX_SIZE`: more than any pipe buffer holds.
const PIPE_MAX_SIZE: usize = 4 * 1024 * 1024 + 1;

/// Feed stdin by hand (write, drain, close), read stdout to its end, wait.
#[aloop::test]
async fn subprocess_subprocess_mixin_stdin_stdout() {
    let proc = program_cat()
        .stdin(Stdio::Pipe)
        .stdout(Stdio::Pipe)
        .await
        .unwrap();
    let stdin = proc.stdin.as_ref().unwrap();
    stdin.write(b"some data").unwrap();
    bounded(stdin.drain()).await.unwrap();
    stdin.close();
    let data = bounded(proc.stdout.as_ref().unwrap().read_to_eof())
        .await
        .unwrap();
    let exitcode = bounded(proc.wait()).await.unwrap();
    assert_eq!(exitcode, 0);
    assert_eq!(data, b"some data");
}

#[aloop::test]
async fn subprocess_subprocess_mixin_communicate() {
    let mut proc = program_cat()
        .stdin(Stdio::Pipe)
        .stdout(Stdio::Pipe)
        .await
        .unwrap();
    let (stdout, _) = bounded(proc.communicate(Some(b"some data"))).await.unwrap();
    assert_eq!(proc.returncode(), Some(0));
    assert_eq!(stdout, b"some data");
}

/// `communicate()` without input still closes the piped stdin, so `cat` ends.
#[aloop::test]
async fn subprocess_subprocess_mixin_communicate_none_input() {
    let mut proc = program_cat()
        .stdin(Stdio::Pipe)
        .stdout(Stdio::Pipe)
        .await
        .unwrap();
    let (stdout, _) = bounded(proc.communicate(None)).await.unwrap();
    assert_eq!(proc.returncode(), Some(0));
    assert_eq!(stdout, b"");
}

/// A child that exits at once, its stdin piped (CPython's `prepare_broken_pipe_test`).
async fn exited_child_with_stdin() -> aloop::Process {
    let proc = create_subprocess_exec("true", super::NO_ARGS)
        .stdin(Stdio::Pipe)
        .await
        .unwrap();
    // CPython sleeps half a second so the child is gone; waiting for it says so.
    assert_eq!(bounded(proc.wait()).await.unwrap(), 0);
    proc
}

/// More than a pipe holds, to a child that has exited: the write and drain fail with
/// BrokenPipe or ConnectionReset (and nothing kills the test with SIGPIPE).
#[aloop::test]
async fn subprocess_subprocess_mixin_stdin_broken_pipe() {
    let proc = exited_child_with_stdin().await;
    let stdin = proc.stdin.as_ref().unwrap();
    let large = vec![b'x'; PIPE_MAX_SIZE];
    let sent = match stdin.write(&large) {
        Ok(()) => bounded(stdin.drain()).await,
        Err(e) => Err(e),
    };
    let err = sent.expect_err("writing to an exited child must fail");
    assert!(
        matches!(
            err.kind(),
            io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
        ),
        "{err:?}"
    );
    assert_eq!(bounded(proc.wait()).await.unwrap(), 0);
}

/// `communicate` ignores the broken pipe while feeding stdin.
#[aloop::test]
async fn subprocess_subprocess_mixin_communicate_ignore_broken_pipe() {
    let mut proc = exited_child_with_stdin().await;
    let large = vec![b'x'; PIPE_MAX_SIZE];
    let (out, err) = bounded(proc.communicate(Some(&large))).await.unwrap();
    assert!(out.is_empty() && err.is_empty());
    assert_eq!(bounded(proc.wait()).await.unwrap(), 0);
}

/// A child writing more than twice the reader's limit: `communicate` still returns all
/// of it. (CPython also checks with mocks that the pipe transport was paused and
/// resumed; aloop's reader pulls from the pipe only when read, so the bytes it is not
/// ready for wait in the kernel and there is no pause to observe.)
#[aloop::test]
async fn subprocess_subprocess_mixin_pause_reading() {
    let limit = 10;
    let size = limit * 2 + 1;
    let mut proc = create_subprocess_exec("sh", ["-c", &format!("head -c {size} /dev/zero")])
        .stdin(Stdio::Pipe)
        .stdout(Stdio::Pipe)
        .limit(limit)
        .await
        .unwrap();
    let (stdout, _) = bounded(proc.communicate(None)).await.unwrap();
    assert_eq!(stdout, vec![0u8; size]);
}

/// Our end of the child's stdin pipe must not be inherited by the child, or it would
/// never read end-of-file and `communicate` would hang (asyncio issue #209; CPython
/// passes `close_fds=False`, std marks every descriptor close-on-exec).
#[aloop::test]
async fn subprocess_subprocess_mixin_stdin_not_inheritable() {
    let mut proc = program_count_stdin()
        .stdin(Stdio::Pipe)
        .stdout(Stdio::Pipe)
        .stderr(Stdio::Pipe)
        .await
        .unwrap();
    let (stdout, _) = bounded(proc.communicate(Some(b"abc"))).await.unwrap();
    assert_eq!(stdout.trim_ascii_end(), b"3");
    assert_eq!(bounded(proc.wait()).await.unwrap(), 0);
}

#[aloop::test]
async fn subprocess_subprocess_mixin_empty_input() {
    let mut proc = program_count_stdin()
        .stdin(Stdio::Pipe)
        .stdout(Stdio::Pipe)
        .stderr(Stdio::Pipe)
        .await
        .unwrap();
    let (stdout, _) = bounded(proc.communicate(Some(b""))).await.unwrap();
    assert_eq!(stdout.trim_ascii_end(), b"0");
    assert_eq!(bounded(proc.wait()).await.unwrap(), 0);
}

#[aloop::test]
async fn subprocess_subprocess_mixin_devnull_input() {
    let mut proc = program_count_stdin()
        .stdin(Stdio::DevNull)
        .stdout(Stdio::Pipe)
        .stderr(Stdio::Pipe)
        .await
        .unwrap();
    assert!(proc.stdin.is_none());
    let (stdout, _) = bounded(proc.communicate(None)).await.unwrap();
    assert_eq!(stdout.trim_ascii_end(), b"0");
    assert_eq!(bounded(proc.wait()).await.unwrap(), 0);
}

/// Difference (docs/asyncio-mapping.md, `communicate`): a stream that is not a pipe
/// gives an empty `Vec` (asyncio: `None`); the `Process` has no reader for it.
#[aloop::test]
async fn subprocess_subprocess_mixin_devnull_output() {
    let mut proc = program_count_stdin()
        .stdin(Stdio::Pipe)
        .stdout(Stdio::DevNull)
        .stderr(Stdio::Pipe)
        .await
        .unwrap();
    assert!(proc.stdout.is_none());
    let (stdout, _) = bounded(proc.communicate(Some(b"abc"))).await.unwrap();
    assert!(stdout.is_empty());
    assert_eq!(bounded(proc.wait()).await.unwrap(), 0);
}

/// Difference: as `devnull_output`, for stderr.
#[aloop::test]
async fn subprocess_subprocess_mixin_devnull_error() {
    let mut proc = create_subprocess_exec("sh", ["-c", "wc -c | tr -d ' ' >&2"])
        .stdin(Stdio::Pipe)
        .stdout(Stdio::Pipe)
        .stderr(Stdio::DevNull)
        .await
        .unwrap();
    assert!(proc.stderr.is_none());
    let (stdout, stderr) = bounded(proc.communicate(Some(b"abc"))).await.unwrap();
    assert!(stderr.is_empty());
    assert!(stdout.is_empty());
    assert_eq!(bounded(proc.wait()).await.unwrap(), 0);
}

/// The child opens `/dev/stdin` by name (Linux): it must be our pipe.
#[cfg(target_os = "linux")]
#[aloop::test]
async fn subprocess_subprocess_mixin_devstdin_input() {
    let mut proc = create_subprocess_exec("sh", ["-c", "wc -c < /dev/stdin | tr -d ' '"])
        .stdin(Stdio::Pipe)
        .stdout(Stdio::Pipe)
        .stderr(Stdio::Pipe)
        .await
        .unwrap();
    let (stdout, _) = bounded(proc.communicate(Some(b"abc"))).await.unwrap();
    assert_eq!(stdout.trim_ascii_end(), b"3");
    assert_eq!(bounded(proc.wait()).await.unwrap(), 0);
}

/// A child writes 256 KiB and exits 1 while we read slowly: everything written before
/// the exit is still read, then end-of-file.
#[aloop::test]
async fn subprocess_subprocess_mixin_read_stdout_after_process_exit() {
    let proc = create_subprocess_exec("sh", ["-c", "head -c 262144 /dev/zero; exit 1"])
        .stdout(Stdio::Pipe)
        .await
        .unwrap();
    let stdout = proc.stdout.as_ref().unwrap();
    let mut total = 0;
    loop {
        let data = bounded(stdout.read(65536)).await.unwrap();
        if data.is_empty() {
            break;
        }
        total += data.len();
        aloop::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(total, 262144);
    assert_eq!(bounded(proc.wait()).await.unwrap(), 1);
}

/// Ten concurrent `wait()`s after `communicate` all give the return code.
#[aloop::test]
async fn subprocess_subprocess_mixin_subprocess_concurrent_wait() {
    let mut proc = program_cat()
        .stdin(Stdio::Pipe)
        .stdout(Stdio::Pipe)
        .await
        .unwrap();
    let (stdout, _) = bounded(proc.communicate(Some(b"some data"))).await.unwrap();
    assert_eq!(stdout, b"some data");
    assert_eq!(proc.returncode(), Some(0));
    let codes = bounded(aloop::gather((0..10).map(|_| proc.wait())))
        .await
        .unwrap();
    let codes: Vec<i32> = codes.into_iter().map(Result::unwrap).collect();
    assert_eq!(codes, [0; 10]);
}

/// The events of CPython's `SubprocessProtocol` through the pipes' readers: each pipe
/// gives its data, then end-of-file (`pipe_data_received`, `pipe_connection_lost`),
/// and the exit is seen (`process_exited`).
#[aloop::test]
async fn subprocess_subprocess_mixin_subprocess_protocol_events() {
    let mut proc = create_subprocess_exec("sh", ["-c", "printf stdout; printf stderr >&2"])
        .stdout(Stdio::Pipe)
        .stderr(Stdio::Pipe)
        .await
        .unwrap();
    let out = proc.stdout.take().unwrap();
    let err = proc.stderr.take().unwrap();
    let read_out = create_task(out.read_to_eof());
    let read_err = create_task(err.read_to_eof());
    assert_eq!(bounded(read_out).await.unwrap().unwrap(), b"stdout");
    assert_eq!(bounded(read_err).await.unwrap().unwrap(), b"stderr");
    assert!(out.at_eof() && err.at_eof());
    assert_eq!(bounded(proc.wait()).await.unwrap(), 0);
}

/// Ten children at once, each `communicate`d in its own task (CPython issue 100133):
/// each gets its own output.
#[aloop::test]
async fn subprocess_subprocess_mixin_subprocess_communicate_stdout() {
    let outputs: Vec<String> = (0..10).map(|i| format!("foo{i}")).collect();
    let runs = outputs.clone().into_iter().map(|out| async move {
        let mut proc = create_subprocess_shell(format!("echo {out}"))
            .stdout(Stdio::Pipe)
            .await
            .unwrap();
        let (stdout, _) = proc.communicate(None).await.unwrap();
        String::from_utf8(stdout).unwrap().trim().to_string()
    });
    let res = bounded(aloop::gather(runs)).await.unwrap();
    assert_eq!(res, outputs);
}
