//! Child: spawning, pipes through futures-io, exit status and asyncio's returncode,
//! signals, spawn errors, and reaping of dropped children. The facade's tests
//! (`crates/aloop/tests/subprocess*.rs`) cover the streams on top.

use std::io;
use std::time::{Duration, Instant};

use aloop_process::{returncode_of, signum, Child, Command, Stdio};
use aloop_reactor::Reactor;
use futures_util::io::{AsyncReadExt, AsyncWriteExt};

fn block_on<T>(f: impl std::future::Future<Output = io::Result<T>>) -> T {
    Reactor::new().unwrap().block_on(f).unwrap()
}

#[test]
fn exit_codes_and_signals_give_asyncio_returncodes() {
    block_on(async {
        let three = Command::shell("exit 3").spawn()?;
        assert_eq!(returncode_of(three.wait().await?), 3);
        assert_eq!(three.returncode(), Some(3));

        let sleeper = Command::new("sleep").arg("30").spawn()?;
        assert_eq!(sleeper.returncode(), None);
        sleeper.kill()?;
        assert_eq!(returncode_of(sleeper.wait().await?), -9);
        // Once reaped, signalling is a no-op (the pid may be someone else's by now).
        sleeper.terminate()?;
        assert_eq!(sleeper.returncode(), Some(-9));

        let term = Command::new("sleep").arg("30").spawn()?;
        term.send_signal(signum::SIGTERM)?;
        assert_eq!(returncode_of(term.wait().await?), -15);
        Ok(())
    });
}

#[test]
fn pipes_carry_bytes_both_ways_and_stderr_can_join_stdout() {
    block_on(async {
        let mut child = Command::shell("tr a-z A-Z; echo oops >&2")
            .stdin(Stdio::Pipe)
            .stdout(Stdio::Pipe)
            .stderr(Stdio::Stdout)
            .spawn()?;
        assert!(child.stderr.is_none(), "stderr goes with stdout");
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"shout\n").await?;
        stdin.close();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .await?;
        assert_eq!(out, "SHOUT\noops\n");
        assert!(child.wait().await?.success());
        Ok(())
    });
}

#[test]
fn several_waiters_all_get_the_status() {
    block_on(async {
        let child = Command::shell("sleep 0.2; exit 7").spawn()?;
        let (a, b) = futures_util::join!(child.wait(), child.wait());
        assert_eq!(a?.code(), Some(7));
        assert_eq!(b?.code(), Some(7));
        assert_eq!(child.wait().await?.code(), Some(7));
        Ok(())
    });
}

#[test]
fn spawn_errors_keep_what_the_os_said() {
    let reactor = Reactor::new().unwrap();
    let _guard = reactor.enter();
    let err = Command::new("/no/such/program").spawn().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert_eq!(err.raw_os_error(), Some(libc::ENOENT));

    let err = Command::new("true")
        .stdout(Stdio::Stdout)
        .spawn()
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let err = Command::new("true")
        .stdin(Stdio::Stdout)
        .spawn()
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn spawn_without_a_reactor_says_how_to_get_one() {
    let err = Command::new("true").spawn().unwrap_err();
    assert!(err.to_string().contains("no aloop reactor"), "{err}");
}

/// Whether `pid` is still a process (zombie or not) of ours.
fn exists(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists()
}

#[test]
fn a_child_dropped_while_running_is_reaped_when_it_exits() {
    if !std::path::Path::new("/proc/self").exists() {
        return println!("skipped: no /proc to look for zombies in");
    }
    let reactor = Reactor::new().unwrap();
    let _guard = reactor.enter();
    let child: Child = Command::shell("sleep 0.3").spawn().unwrap();
    let pid = child.id();
    drop(child);
    drop(_guard);
    drop(reactor); // nobody polls this reactor any more: the reaper has it
    let deadline = Instant::now() + Duration::from_secs(30);
    while exists(pid) {
        assert!(Instant::now() < deadline, "child {pid} was never reaped");
        std::thread::sleep(Duration::from_millis(20));
    }
}
