//! The methods about how a child is started: through the shell, in a new session,
//! with its environment, from paths, a program that cannot be started, a loop on
//! another thread. Neighbours: `pipes.rs`, `signals.rs`.

use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::Duration;

use aloop::subprocess::Stdio;
use aloop::{create_subprocess_exec, create_subprocess_shell, create_task, Process};

use super::{bounded, program_cat, tick, NO_ARGS};

#[aloop::test]
async fn subprocess_subprocess_mixin_shell() {
    let proc = create_subprocess_shell("exit 7").await.unwrap();
    assert_eq!(bounded(proc.wait()).await.unwrap(), 7);
}

/// `start_new_session=True` is `setsid()` in the child (through `pre_exec`; std has no
/// stable option for it). On Linux the child also reports that it leads its session.
#[aloop::test]
async fn subprocess_subprocess_mixin_start_new_session() {
    let mut shell = create_subprocess_shell(
        "if [ -r /proc/$$/stat ]; then echo $$ $(cut -d' ' -f6 /proc/$$/stat); fi; exit 8",
    )
    .stdout(Stdio::Pipe);
    // SAFETY: the closure runs in the child between fork and exec and only calls
    // setsid(2), which is async-signal-safe.
    unsafe {
        shell.as_std_mut().pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut proc = shell.await.unwrap();
    let (stdout, _) = bounded(proc.communicate(None)).await.unwrap();
    assert_eq!(proc.returncode(), Some(8));
    let stdout = String::from_utf8(stdout).unwrap();
    let ids: Vec<&str> = stdout.split_whitespace().collect();
    if cfg!(target_os = "linux") {
        assert_eq!(ids.len(), 2, "{stdout:?}");
        assert_eq!(ids[0], ids[1], "the child's pid is its session id");
    }
}

/// A program that does not exist (the Rust form of CPython's mocked `Popen` failure):
/// the OS's error comes back as it is, `NotFound` with ENOENT.
#[aloop::test]
async fn subprocess_subprocess_mixin_popen_error() {
    let err = create_subprocess_exec("/nonexistent/aloop-test-program", NO_ARGS)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound, "{err:?}");
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
}

/// The pipes made for a child that could not be started are closed (CPython issue
/// 35721). Checked by counting this process's descriptors around many failed spawns:
/// other tests running at the same time open a few, far fewer than one per spawn.
#[aloop::test]
async fn subprocess_subprocess_mixin_popen_error_with_stdin_pipe() {
    fn open_fds() -> Option<usize> {
        std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count())
    }
    const SPAWNS: usize = 256;
    let before = open_fds();
    for _ in 0..SPAWNS {
        let err = create_subprocess_exec("/nonexistent/aloop-test-program", NO_ARGS)
            .stdin(Stdio::Pipe)
            .stdout(Stdio::Pipe)
            .stderr(Stdio::Pipe)
            .await
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ENOENT));
    }
    if let (Some(before), Some(after)) = (before, open_fds()) {
        assert!(
            after < before + SPAWNS / 4,
            "{before} descriptors before {SPAWNS} failed spawns, {after} after"
        );
    }
}

/// The program and an argument given as paths (CPython's `os.PathLike`).
#[aloop::test]
async fn subprocess_subprocess_mixin_create_subprocess_exec_with_path() {
    let p = create_subprocess_exec(Path::new("/bin/sh"), ["-c", "exit 0"])
        .await
        .unwrap();
    assert_eq!(bounded(p.wait()).await.unwrap(), 0);
    // `sh -c SCRIPT .`: the path argument is the script's `$0`.
    let args = [Path::new("-c"), Path::new("test -d \"$0\""), Path::new(".")];
    let p = create_subprocess_exec("/bin/sh", args).await.unwrap();
    assert_eq!(bounded(p.wait()).await.unwrap(), 0);
}

/// CPython's `check_stdout_output`: the output, return code 0, and a `wait()` started
/// afterwards is done after one pass of the loop with the same code.
async fn check_stdout_output(mut proc: Process, output: &[u8]) {
    let (stdout, _) = bounded(proc.communicate(None)).await.unwrap();
    assert_eq!(stdout, output);
    assert_eq!(proc.returncode(), Some(0));
    let task = create_task(proc.wait());
    tick().await;
    assert!(task.done());
    assert_eq!(task.take_result().unwrap().unwrap().unwrap(), 0);
}

/// `env` adds to the inherited environment (CPython passes a copy of `os.environ`
/// with one more variable).
#[aloop::test]
async fn subprocess_subprocess_mixin_create_subprocess_env_shell() {
    let proc = create_subprocess_shell("printf %s \"$FOO\"; test -n \"$PATH\"")
        .env("FOO", "bar")
        .stdout(Stdio::Pipe)
        .await
        .unwrap();
    check_stdout_output(proc, b"bar").await;
}

#[aloop::test]
async fn subprocess_subprocess_mixin_create_subprocess_env_exec() {
    let proc = create_subprocess_exec("sh", ["-c", "printf %s \"$FOO\"; test -n \"$PATH\""])
        .env("FOO", "baz")
        .stdout(Stdio::Pipe)
        .await
        .unwrap();
    check_stdout_output(proc, b"baz").await;
}

/// CPython issue 105288: a loop on another thread whose main coroutine ends at once
/// (asyncio's raises TypeError) while a task still runs a child; the run must return,
/// not sleep forever. Watched from this thread for five seconds, as CPython does.
#[test]
fn subprocess_subprocess_mixin_subprocess_wait_not_hang_gh105288() {
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let runner = std::thread::spawn(move || {
        let lp = aloop::new_event_loop();
        let result = lp.run_until_complete(async {
            let _t = create_task(async {
                let mut proc = create_subprocess_exec("true", NO_ARGS).await?;
                proc.communicate(None).await
            });
            "main ended"
        });
        done_tx.send(()).unwrap();
        result.unwrap()
    });
    done_rx
        .recv_timeout(Duration::from_secs(5))
        .expect("watchdog: the loop's run did not return");
    assert_eq!(runner.join().unwrap(), "main ended");
}

/// A child started and awaited by a loop on another thread (`to_thread(aloop::run)`,
/// CPython's `to_thread(asyncio.run, ...)` with the pidfd watcher).
#[aloop::test]
async fn subprocess_generic_watcher_create_subprocess_with_pidfd() {
    let (returncode, stdout) = bounded(aloop::to_thread(|| {
        aloop::run(async {
            let mut proc = program_cat()
                .stdin(Stdio::Pipe)
                .stdout(Stdio::Pipe)
                .await
                .unwrap();
            let (stdout, _) = proc.communicate(Some(b"some data")).await.unwrap();
            (proc.returncode(), stdout)
        })
    }))
    .await
    .unwrap();
    assert_eq!(returncode, Some(0));
    assert_eq!(stdout, b"some data");
}
