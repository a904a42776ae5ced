//! Port of CPython's `Lib/test/test_asyncio/test_runners.py` (see `docs/conformance.md`
//! for the version, and for each method with no Rust form), except the three
//! `test_interrupt_*` methods, which need SIGINT on the main thread and are in
//! `runners_sigint.rs`. One Rust test per method, `runners_<class>_<method>`.
//!
//! `asyncio.run` is `aloop::run` / `aloop::try_run`; `asyncio.Runner` is
//! `aloop::Runner`, whose `with` block is `close()` (or dropping the runner).

use std::cell::Cell;
use std::panic::catch_unwind;
use std::rc::Rc;
use std::time::Duration;

use aloop::{
    create_task, get_running_loop, sleep, AnyTask, ExceptionContext, RunError, Runner, TaskError,
};
use aloop_tests::cpython::tick;
use aloop_tests::{Defer, Log};

#[test]
fn runners_run_asyncio_run_return() {
    let answer = aloop::run(async {
        tick().await;
        42
    });
    assert_eq!(answer, 42);
}

/// A failure of the main coroutine comes out of the run: the panic is resumed in the
/// caller (`try_run` gives it as a value).
#[test]
fn runners_run_asyncio_run_raises() {
    let payload = catch_unwind(|| {
        aloop::run(async {
            tick().await;
            panic!("spam");
        })
    })
    .unwrap_err();
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"spam"));
    match aloop::try_run(async {
        tick().await;
        panic!("spam");
    }) {
        Err(RunError::Task(TaskError::Panicked(p))) => assert_eq!(p.message(), "spam"),
        other => panic!("expected the panic, got {other:?}"),
    }
}

/// `run(debug=True/False)` is `Runner::builder().debug(..)`; without it the loop is not
/// in debug mode (asyncio also takes it from `PYTHONASYNCIODEBUG` / `-X dev`, which aloop
/// has no counterpart for).
#[test]
fn runners_run_asyncio_run_debug() {
    async fn main(expected: bool) {
        assert_eq!(get_running_loop().unwrap().get_debug(), expected);
    }
    aloop::run(main(false));
    Runner::builder().debug(true).run(main(true));
    Runner::builder().debug(false).run(main(false));
}

#[test]
fn runners_run_asyncio_run_from_running_loop() {
    let inner = aloop::run(async { aloop::try_run(async {}) });
    assert!(
        matches!(inner, Err(RunError::AnotherLoopRunning)),
        "{inner:?}"
    );
}

#[test]
fn runners_run_asyncio_run_cancels_hanging_tasks() {
    let (answer, leftover) = aloop::run(async {
        let leftover = create_task(sleep(Duration::from_millis(100)));
        (123, leftover.as_any())
    });
    assert_eq!(answer, 123);
    assert!(leftover.done());
    assert!(leftover.cancelled());
}

/// A leftover task whose cancellation fails (`1 / 0` in its `except CancelledError`) is
/// reported to the loop's exception handler during the run's shutdown, with the task,
/// once, although a handle outlives the run (as CPython's test keeps `lo_task`).
#[test]
fn runners_run_asyncio_run_reports_hanging_tasks_errors() {
    let log = Log::new();
    let l = log.clone();
    let (answer, leftover) = aloop::run(async move {
        get_running_loop()
            .unwrap()
            .set_exception_handler(Some(move |ctx: &ExceptionContext| {
                l.push(ctx.to_string());
            }));
        let leftover: AnyTask = create_task(async {
            let _on_cancel = Defer(|| panic!("ZeroDivisionError"));
            sleep(Duration::from_millis(100)).await;
        })
        .as_any();
        leftover.set_name("leftover");
        (123, leftover)
    });
    assert_eq!(answer, 123);
    assert!(leftover.done());
    let reports = log.events();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(
        reports[0].contains("(task leftover)")
            && reports[0].contains("ZeroDivisionError")
            && reports[0].contains("during aloop::run() shutdown"),
        "{reports:?}"
    );
}

#[test]
fn runners_runner_non_debug() {
    let runner = Runner::builder().debug(false).build().unwrap();
    assert!(!runner.get_loop().get_debug());
}

#[test]
fn runners_runner_debug() {
    let runner = Runner::builder().debug(true).build().unwrap();
    assert!(runner.get_loop().get_debug());
}

/// Deliberate difference: after `close()`, `get_loop()` gives the closed loop (which
/// refuses work with `LoopClosed`) where asyncio raises "Runner is closed".
#[test]
fn runners_runner_run() {
    let runner = Runner::new().unwrap();
    let done = runner.run(async {
        tick().await;
        "done"
    });
    assert_eq!(done.unwrap(), "done");
    let lp = runner.get_loop();
    runner.close();
    assert!(runner.get_loop().is_closed());
    assert!(lp.is_closed());
}

/// Deliberate difference, as `test_run`.
#[test]
fn runners_runner_explicit_close() {
    let runner = Runner::new().unwrap();
    let lp = runner.get_loop();
    runner.close();
    assert!(runner.get_loop().is_closed());
    assert!(lp.is_closed());
}

#[test]
fn runners_runner_double_close() {
    let runner = Runner::new().unwrap();
    let lp = runner.get_loop();
    runner.close();
    assert!(lp.is_closed());
    runner.close();
    assert!(lp.is_closed());
}

/// A closed runner refuses to run (asyncio: "Runner is closed" on entering the second
/// `with` block), and the refused future never runs.
#[test]
fn runners_runner_second_with_block_raises() {
    let ret = Rc::new(Log::new());
    let f = |arg: &'static str| {
        let ret = ret.clone();
        async move { ret.push(arg) }
    };
    let runner = Runner::new().unwrap();
    runner.run(f("1")).unwrap();
    runner.close();
    assert!(matches!(runner.run(f("2")), Err(RunError::Closed)));
    ret.assert_eq(&["1"]);
}

/// `runner.run()` inside the runner's own running loop is refused ("This event loop is
/// already running"), and the future it was given never runs (asyncio also warns that
/// the coroutine was never awaited).
#[test]
fn runners_runner_recursive_run() {
    let runner = Rc::new(Runner::new().unwrap());
    let g_ran = Rc::new(Cell::new(false));
    let (r, ran) = (runner.clone(), g_ran.clone());
    let inner = runner
        .run(async move { r.run(async move { ran.set(true) }) })
        .unwrap();
    assert!(matches!(inner, Err(RunError::AlreadyRunning)), "{inner:?}");
    assert!(!g_ran.get());
}

/// Ctrl-C handling is for the main thread; a runner on another thread runs normally.
#[test]
fn runners_runner_signal_install_not_supported_ok() {
    let out = std::thread::spawn(|| Runner::new().unwrap().run(async { 7 }).unwrap())
        .join()
        .unwrap();
    assert_eq!(out, 7);
}
