//! The `test_interrupt_*` methods of CPython's test_runners.py (`RunnerTests`; the rest
//! is in `runners.rs`): SIGINT while `Runner::run` runs. The runner takes Ctrl-C only on
//! the main thread, so this target has its own `main` (`harness = false`) and runs each
//! test in turn on that thread, raising a real SIGINT where CPython calls
//! `_thread.interrupt_main()`. KeyboardInterrupt out of `runner.run` is
//! `RunError::Interrupted`.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use aloop::{create_task, current_task, sleep, RunError, Runner, TaskError};
use aloop_tests::Defer;

/// CPython's `interrupt_self()`: SIGINT to this process, on this (the main) thread.
fn interrupt_self() {
    // SAFETY: raise(3) has no memory-safety preconditions; it only sends a signal.
    unsafe { libc::raise(libc::SIGINT) };
}

/// Whether SIGINT has its default action here: the runner takes Ctrl-C only then (a
/// shell starting the tests in the background without job control ignores it).
fn sigint_is_default() -> bool {
    // SAFETY: a zeroed sigaction is a valid out-parameter; a null new action only
    // queries the current one.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(libc::SIGINT, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_DFL
    }
}

/// How long a test waits for the SIGINT before giving up (and failing) instead of
/// hanging.
const GIVE_UP: Duration = Duration::from_secs(10);

/// The main task loops on `sleep(0)` (never waiting on a future): SIGINT cancels it, its
/// cleanup runs, and the run reports the interrupt.
fn runners_runner_interrupt_call_soon() {
    let runner = Runner::new().unwrap();
    let cleaned_up = Rc::new(Cell::new(false));
    let c = cleaned_up.clone();
    runner
        .get_loop()
        .call_later(Duration::from_millis(100), interrupt_self)
        .unwrap();
    let result = runner.run(async move {
        let _cleanup = Defer(move || c.set(true));
        let start = Instant::now();
        while start.elapsed() < GIVE_UP {
            sleep(Duration::ZERO).await;
        }
    });
    assert!(matches!(result, Err(RunError::Interrupted)), "{result:?}");
    assert!(cleaned_up.get());
}

/// The main task waits on a future: SIGINT cancels both.
fn runners_runner_interrupt_wait() {
    let runner = Runner::new().unwrap();
    let lp = runner.get_loop();
    let fut = lp.create_future::<()>();
    lp.call_later(Duration::from_millis(100), interrupt_self)
        .unwrap();
    let give_up = fut.clone();
    lp.call_later(GIVE_UP, move || drop(give_up.set_result(())))
        .unwrap();
    let awaited = fut.clone();
    let result = runner.run(awaited);
    assert!(matches!(result, Err(RunError::Interrupted)), "{result:?}");
    assert!(fut.cancelled());
}

/// The main task was cancelled by another task before the SIGINT: the run reports the
/// cancellation, not an interrupt.
fn runners_runner_interrupt_cancelled_task() {
    let runner = Runner::new().unwrap();
    let result = runner.run(async {
        let main = current_task().unwrap().unwrap();
        create_task(async move {
            sleep(Duration::ZERO).await;
            main.cancel();
            interrupt_self();
        });
        sleep(Duration::from_secs(10)).await;
    });
    assert!(
        matches!(result, Err(RunError::Task(TaskError::Cancelled))),
        "{result:?}"
    );
}

fn main() {
    if !sigint_is_default() {
        eprintln!("cpython_runners_sigint: skipped: SIGINT is not at its default action here, so no runner takes Ctrl-C");
        return;
    }
    let tests: [(&str, fn()); 3] = [
        (
            "runners_runner_interrupt_call_soon",
            runners_runner_interrupt_call_soon,
        ),
        (
            "runners_runner_interrupt_wait",
            runners_runner_interrupt_wait,
        ),
        (
            "runners_runner_interrupt_cancelled_task",
            runners_runner_interrupt_cancelled_task,
        ),
    ];
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut failed = Vec::new();
    for (name, test) in tests {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        match std::panic::catch_unwind(test) {
            Ok(()) => println!("test {name} ... ok"),
            Err(_) => {
                println!("test {name} ... FAILED");
                failed.push(name);
            }
        }
    }
    if !failed.is_empty() {
        println!("failed: {failed:?}");
        std::process::exit(101);
    }
}
