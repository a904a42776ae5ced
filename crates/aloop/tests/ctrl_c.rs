//! Ctrl-C in `aloop::run`, `try_run` and `Runner::run`, as asyncio 3.11: the first
//! SIGINT cancels the main task (its cleanup runs) and the run reports
//! `RunError::Interrupted`; a second SIGINT during the cleanup ends the process;
//! SIGINT acts as before once the run is over; a loop's own SIGINT handler keeps
//! Ctrl-C for itself.
//!
//! The runner takes Ctrl-C only on the main thread, so this file has its own `main`
//! (`harness = false`): it starts itself as a child process per scenario, with
//! `ALOOP_CTRL_C_SCENARIO` set, and sends the child real SIGINTs.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aloop::{signal, RunError};

const SCENARIO: &str = "ALOOP_CTRL_C_SCENARIO";

/// Prints when dropped: the main task's cleanup.
struct Cleanup {
    block_for: Duration,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        println!("cleanup started");
        std::thread::sleep(self.block_for);
        println!("cleanup finished");
    }
}

async fn main_task(block_for: Duration) -> &'static str {
    let _cleanup = Cleanup { block_for };
    println!("ready");
    aloop::sleep(Duration::from_secs(3600)).await;
    "slept an hour"
}

fn raise_sigint_again() {
    println!("raising SIGINT after the run");
    // SAFETY: raise(3) only sends a signal to this thread.
    unsafe { libc::raise(libc::SIGINT) };
    std::thread::sleep(Duration::from_secs(5));
    println!("survived SIGINT after the run");
}

fn child(scenario: &str) {
    match scenario {
        "try_run" => {
            let result = aloop::try_run(main_task(Duration::ZERO));
            println!("result: {}", describe(&result));
            raise_sigint_again();
        }
        "run" => {
            aloop::run(main_task(Duration::ZERO));
            println!("run returned");
        }
        "second" => {
            let result = aloop::try_run(main_task(Duration::from_secs(30)));
            println!("result: {}", describe(&result));
        }
        "handler" => {
            let result = aloop::try_run(async {
                let lp = aloop::get_running_loop().unwrap();
                let got = std::rc::Rc::new(aloop::Event::new());
                let set = got.clone();
                lp.add_signal_handler(signal::SIGINT, move || {
                    println!("loop handler ran");
                    set.set();
                })
                .unwrap();
                println!("ready");
                got.wait().await;
                "main task went on"
            });
            println!("result: {}", describe(&result));
        }
        other => panic!("unknown scenario {other}"),
    }
}

fn describe(result: &Result<&str, RunError>) -> String {
    match result {
        Ok(v) => format!("ok {v}"),
        Err(RunError::Interrupted) => "interrupted".to_owned(),
        Err(e) => format!("error {e}"),
    }
}

/// Runs `scenario` in a child, sends it SIGINT after it printed `ready` (and again
/// after `second_after`, if given), and returns its output and how it ended.
fn run_child(scenario: &str, second_after: Option<&str>) -> (String, std::process::ExitStatus) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.env(SCENARIO, scenario).stdout(Stdio::piped());
    // A shell without job control starts background commands with SIGINT ignored,
    // and the child would inherit that; Ctrl-C handling needs the default.
    // SAFETY: between fork and exec only async-signal-safe calls: sigaction(2) via
    // signal(3) with SIG_DFL.
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let pid = child.id() as libc::pid_t;
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let mut wait_for = |what: &str, seen: &mut String| loop {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            panic!("{scenario}: the child ended before printing {what:?}:\n{seen}");
        }
        seen.push_str(&line);
        if line.trim_end() == what {
            return;
        }
    };
    wait_for("ready", &mut seen);
    // SAFETY: kill(2) to our own child, which has not been waited for yet.
    unsafe { libc::kill(pid, libc::SIGINT) };
    if let Some(marker) = second_after {
        wait_for(marker, &mut seen);
        // SAFETY: as above.
        unsafe { libc::kill(pid, libc::SIGINT) };
    }
    out.read_to_string(&mut seen).unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("{scenario}: the child did not end:\n{seen}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    (seen, status)
}

fn check(name: &str, ok: bool, out: &str, status: std::process::ExitStatus) {
    if ok {
        println!("test ctrl_c::{name} ... ok");
    } else {
        panic!("ctrl_c::{name} failed: status {status:?}, output:\n{out}");
    }
}

fn main() {
    if let Ok(scenario) = std::env::var(SCENARIO) {
        return child(&scenario);
    }
    // cargo test passes filters and flags; this file runs all of its scenarios.
    let (out, status) = run_child("try_run", None);
    check(
        "try_run_reports_interrupted_after_the_cleanup_and_restores_sigint",
        out.contains("cleanup finished\nresult: interrupted\n")
            && !out.contains("survived")
            && status.signal() == Some(libc::SIGINT),
        &out,
        status,
    );

    let (out, status) = run_child("run", None);
    check(
        "run_cleans_up_then_ends_the_process_by_sigint",
        out.contains("cleanup finished")
            && !out.contains("run returned")
            && status.signal() == Some(libc::SIGINT),
        &out,
        status,
    );

    let (out, status) = run_child("second", Some("cleanup started"));
    check(
        "a_second_sigint_during_cleanup_ends_the_process",
        !out.contains("cleanup finished") && status.signal() == Some(libc::SIGINT),
        &out,
        status,
    );

    let (out, status) = run_child("handler", None);
    check(
        "a_loop_sigint_handler_keeps_ctrl_c_for_itself",
        out.contains("loop handler ran\n")
            && out.contains("result: ok main task went on")
            && status.success(),
        &out,
        status,
    );
    println!("\ntest result: ok. 4 passed");
}
