//! Port of CPython's `Lib/test/test_asyncio/test_tasks.py` (see `docs/conformance.md`
//! for the version, and for each method that has no Rust form and why). CPython runs
//! `BaseTaskTests` in eight classes (the C and pure-Python `Task` and `Future`, and
//! subclasses of them: twins of one implementation) and `BaseCurrentLoopTests` in two;
//! aloop has one `Task`, so each method is one Rust test named after the base class:
//! `tasks_base_task_<method>`. `GatherTestsBase` runs in `FutureGatherTests` (children
//! are futures) and `CoroutineGatherTests` (children are coroutines awaiting them), two
//! different forms in aloop too: `tasks_future_gather_<method>` and
//! `tasks_coroutine_gather_<method>`.
//!
//! Files: `task.rs` (creating, naming, running tasks, `current_task`, sleeps, threads),
//! `cancel.rs` (cancellation), `wait.rs` (`wait`, `as_completed`), `shield_gather.rs`
//! (`shield` and the gather tests).
//!
//! asyncio's `Future` is `aloop::Promise`; `set_exception` is `set_result(Err(..))`; an
//! exception raised in a coroutine is a panic named after it; `except CancelledError` is
//! an `IfCancelled` guard (it cannot swallow the cancellation). CPython's `TestLoop`
//! with its time generator is a loop on virtual time.

use std::time::Duration;

mod cancel;
mod shield_gather;
mod task;
mod wait;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A new loop on virtual time (CPython's `new_test_loop`).
fn test_loop() -> aloop::EventLoop {
    let lp = aloop::new_event_loop();
    lp.use_virtual_time();
    lp
}

/// Virtual time elapsed on `lp` since `t0`, as seconds (CPython's `loop.time()`).
fn elapsed(lp: &aloop::LoopRef, t0: std::time::Instant) -> f64 {
    (lp.time() - t0).as_secs_f64()
}

/// `assertAlmostEqual(expected, got)` for virtual times, in seconds.
#[track_caller]
fn assert_time(expected: f64, got: f64) {
    assert!(
        (expected - got).abs() < 1e-6,
        "time {got}, expected {expected}"
    );
}
