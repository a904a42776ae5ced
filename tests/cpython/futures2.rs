//! Port of CPython's `Lib/test/test_asyncio/test_futures2.py` (see `docs/conformance.md`
//! for the version, and for each method with no Rust form). CPython runs `FutureTests`
//! on the C and the pure-Python `Task`; aloop has one, so each method is one Rust test,
//! `futures2_future_<method>`. The tests check that the exception handler runs in the
//! context of what failed; Rust has no contextvars (A21), so here the context is the
//! `ExceptionContext` the handler gets, which names the failing task.

use std::time::Duration;

use aloop::{all_tasks, create_task, get_running_loop, wait_for, ExceptionContext};
use aloop_tests::cpython::tick;
use aloop_tests::Log;

/// Records each context the loop's exception handler gets as `(message, task name)`.
fn record_contexts() -> Log {
    let log = Log::new();
    let sink = log.clone();
    get_running_loop()
        .unwrap()
        .set_exception_handler(Some(move |ctx: &ExceptionContext| {
            let task = ctx.task_name.clone().unwrap_or_else(|| "-".into());
            let panic = ctx.panic.as_ref().map(|p| p.message().to_owned());
            sink.push(format!("{} | task {task} | {panic:?}", ctx.message));
        }));
    log
}

/// A task that fails with nobody to retrieve its failure reaches the handler, which is
/// told which task it was.
#[aloop::test]
async fn futures2_future_task_exc_handler_correct_context() {
    let log = record_contexts();
    let t = create_task(async { panic!("ZeroDivisionError") });
    t.set_name("bar");
    drop(t);
    tick().await;
    log.assert_eq(&["Task exception was never retrieved | task bar | Some(\"ZeroDivisionError\")"]);
}

/// A callback that fails reaches the handler, with no task named.
#[aloop::test]
async fn futures2_future_handle_exc_handler_correct_context() {
    let log = record_contexts();
    get_running_loop()
        .unwrap()
        .call_soon(|| panic!("ZeroDivisionError"))
        .unwrap();
    tick().await;
    log.assert_eq(&["Exception in callback | task - | Some(\"ZeroDivisionError\")"]);
}

/// The `Debug` form of the task list, taken by a task that is in it, terminates (asyncio
/// guards its repr against the recursion).
#[aloop::test]
async fn futures2_future_repr_recursive_repr_for_pending_tasks() {
    let tasks = wait_for(async { all_tasks().unwrap() }, Duration::from_secs(10))
        .await
        .unwrap();
    let debug = format!("{tasks:?}");
    assert!(debug.contains("AnyTask"), "{debug}");
}
