//! The methods about ending a child and about cancellation: the return code after an
//! exit, `kill` / `terminate` / `send_signal`, a cancelled `wait()`, a cancelled
//! creation. Neighbours: `pipes.rs`, `creation.rs`.

use std::cell::Cell;
use std::os::unix::process::CommandExt;
use std::rc::Rc;
use std::time::Duration;

use aloop::signal::{SIGHUP, SIGKILL, SIGTERM};
use aloop::subprocess::Stdio;
use aloop::{create_subprocess_exec, create_subprocess_shell, create_task, get_running_loop};

use super::{bounded, program_blocked};

/// What CPython's `SubprocessTransportTests.test_proc_exited` observes through the
/// transport: the exit code once the child is gone. Difference (docs/asyncio-mapping.md,
/// `send_signal`): signalling a reaped child does nothing and is `Ok` (its pid may
/// already be someone else's); asyncio raises ProcessLookupError.
#[aloop::test]
async fn subprocess_subprocess_transport_proc_exited() {
    let proc = create_subprocess_shell("exit 6").await.unwrap();
    assert_eq!(bounded(proc.wait()).await.unwrap(), 6);
    assert_eq!(proc.returncode(), Some(6));
    proc.send_signal(SIGTERM).unwrap();
    proc.terminate().unwrap();
    proc.kill().unwrap();
    assert_eq!(proc.returncode(), Some(6));
}

/// The `Debug` form names the pid, and the return code once there is one (CPython's
/// repr: `pid=N running` / `pid=N returncode=6`).
#[aloop::test]
async fn subprocess_subprocess_transport_subprocess_repr() {
    let proc = create_subprocess_shell("read _; exit 6")
        .stdin(Stdio::Pipe)
        .await
        .unwrap();
    let pid = proc.pid();
    let running = format!("{proc:?}");
    assert!(running.contains(&format!("pid: {pid}")), "{running}");
    assert!(running.contains("returncode: None"), "{running}");
    proc.stdin.as_ref().unwrap().write(b"go\n").unwrap();
    assert_eq!(bounded(proc.wait()).await.unwrap(), 6);
    let exited = format!("{proc:?}");
    assert!(exited.contains(&format!("pid: {pid}")), "{exited}");
    assert!(exited.contains("returncode: Some(6)"), "{exited}");
}

#[aloop::test]
async fn subprocess_subprocess_mixin_kill() {
    let proc = program_blocked().await.unwrap();
    proc.kill().unwrap();
    assert_eq!(bounded(proc.wait()).await.unwrap(), -SIGKILL);
}

/// CPython issue 43884: a shell whose own child holds the stdout pipe open. Killing
/// the shell ends `wait()` with -SIGKILL though the pipe is still open. The shell leads
/// a process group of its own, so the orphaned `sleep` is killed at the end too.
#[aloop::test]
async fn subprocess_subprocess_mixin_kill_issue43884() {
    let mut shell = create_subprocess_shell("sleep 10; sleep 10").stdout(Stdio::Pipe);
    shell.as_std_mut().process_group(0);
    let proc = shell.await.unwrap();
    aloop::sleep(Duration::from_millis(200)).await;
    proc.kill().unwrap();
    let returncode = bounded(proc.wait()).await;
    let pgid = proc.pid() as libc::pid_t;
    // SAFETY: killpg takes plain integers; the group is the one the shell led (its pid),
    // and it is signalled only to end the `sleep` left in it.
    unsafe { libc::killpg(pgid, libc::SIGKILL) };
    assert_eq!(returncode.unwrap(), -SIGKILL);
}

#[aloop::test]
async fn subprocess_subprocess_mixin_terminate() {
    let proc = program_blocked().await.unwrap();
    proc.terminate().unwrap();
    assert_eq!(bounded(proc.wait()).await.unwrap(), -SIGTERM);
}

/// SIGHUP to a child that announced it is sleeping. As CPython does, the child gets
/// SIGHUP's default action whatever this process set (a disposition of "ignore" would be
/// inherited): reset between fork and exec here.
#[aloop::test]
async fn subprocess_subprocess_mixin_send_signal() {
    let mut child =
        create_subprocess_exec("sh", ["-c", "echo sleeping; exec sleep 60"]).stdout(Stdio::Pipe);
    // SAFETY: the closure runs in the child between fork and exec and only calls
    // signal(2), which is async-signal-safe.
    unsafe {
        child.as_std_mut().pre_exec(|| {
            libc::signal(libc::SIGHUP, libc::SIG_DFL);
            Ok(())
        });
    }
    let proc = child.await.unwrap();
    let line = bounded(proc.stdout.as_ref().unwrap().readline())
        .await
        .unwrap();
    assert_eq!(line, b"sleeping\n");
    proc.send_signal(SIGHUP).unwrap();
    assert_eq!(bounded(proc.wait()).await.unwrap(), -SIGHUP);
}

/// A task in `wait()` cancelled from a callback ends cancelled; the process is then
/// killed and waited for normally (CPython issue 23140).
#[aloop::test]
async fn subprocess_subprocess_mixin_cancel_process_wait() {
    let proc = program_blocked().await.unwrap();
    let task = create_task(proc.wait());
    let to_cancel = task.as_any();
    get_running_loop()
        .unwrap()
        .call_soon(move || {
            to_cancel.cancel();
        })
        .unwrap();
    let err = bounded(task).await.unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
    proc.kill().unwrap();
    assert_eq!(bounded(proc.wait()).await.unwrap(), -SIGKILL);
}

/// Difference: spawning is not a suspension point (the future of
/// `create_subprocess_exec` is ready at once), so there is no "creation in progress"
/// to cancel. A task cancelled before its first step ends cancelled and starts no
/// child, which is what asyncio's test observes (it kills the half-made child).
#[aloop::test]
async fn subprocess_subprocess_mixin_cancel_make_subprocess_transport_exec() {
    let spawned = Rc::new(Cell::new(false));
    let flag = spawned.clone();
    let task = create_task(async move {
        flag.set(true);
        let proc = program_blocked().await.unwrap();
        proc.kill().unwrap();
        proc.wait().await.unwrap()
    });
    task.cancel();
    let err = bounded(task).await.unwrap_err();
    assert!(err.is_cancelled(), "{err:?}");
    assert!(!spawned.get());
}
