//! Conformance, group B (futures) of /work/shared/conformance/CATALOGUE.md: asyncio's
//! `Future` is aloop's `Promise<T>`; one test per entry, asserting the snippet's output.
//!
//! Hold as-is: B1, B2, B4, B5, B6, B8, B11
//!   (asyncio's `set_exception(e)` is `set_result(Err(e))` on a `Promise<Result<U, E>>`,
//!   as API.md maps it; B1's `exception()` half is folded into `T` likewise and is checked
//!   on a pending `Task`, which has `exception()`).
//! Adapted: B3 (no exceptions: errors are values of `T`), B10 (no exception class
//!   hierarchy: typed errors implementing `std::error::Error`), B12 (an error held as a
//!   value is never "unretrieved"; the report exists only for panicked tasks).

use std::time::Duration;

use aloop::{
    Cancelled, CloseRunningLoop, InvalidStateError, LoopClosed, NoRunningLoop, Promise,
    PromiseError, RunError, TaskError,
};
use aloop_tests::{record_exceptions, stopper, Log};

const ALREADY_DONE: &str = "invalid state: the result is already set or the future was cancelled";

#[test]
fn b1_new_future_is_pending_and_refuses_a_result() {
    let lp = aloop::new_event_loop();
    let fut = lp.create_future::<i32>();
    assert!(!fut.done());
    assert!(!fut.cancelled());
    match fut.result() {
        Err(PromiseError::InvalidState(e)) => assert_eq!(e.to_string(), "Result is not set."),
        other => panic!("expected InvalidState, got {other:?}"),
    }
    assert_eq!(fut.result().unwrap_err().to_string(), "Result is not set.");
    // A task not yet run is pending too: both accessors refuse.
    let task = lp.create_task(async { 1 });
    assert_eq!(
        task.exception().unwrap_err().to_string(),
        "Result is not set."
    );
    assert_eq!(task.result().unwrap_err().to_string(), "Result is not set.");
    lp.close().unwrap();
}

#[test]
fn b2_a_result_is_set_once() {
    let lp = aloop::new_event_loop();
    let fut: Promise<Result<i32, String>> = lp.create_future();
    fut.set_result(Ok(1)).unwrap();
    assert!(fut.done());
    assert_eq!(fut.result(), Ok(Ok(1)));
    // set_result again, then asyncio's set_exception (an Err value): both refused,
    // and the first result stays.
    for again in [Ok(2), Err("ValueError".to_string())] {
        let e: InvalidStateError = fut.set_result(again).unwrap_err();
        assert_eq!(e.to_string(), ALREADY_DONE);
        assert_eq!(fut.result(), Ok(Ok(1)));
    }
    // A cancelled future refuses a result the same way.
    let cancelled = lp.create_future::<i32>();
    assert!(cancelled.cancel());
    assert_eq!(
        cancelled.set_result(1).unwrap_err().to_string(),
        ALREADY_DONE
    );
    lp.close().unwrap();
}

/// Adapted: Rust has no exceptions to set; a failure is `set_result(Err(e))` on a
/// `Promise<Result<U, E>>` (API.md), so `result()` returns the `Err` as a value and there
/// is no StopIteration restriction to mirror.
#[test]
fn b3_set_exception_is_an_err_result() {
    let lp = aloop::new_event_loop();
    let fut: Promise<Result<(), String>> = lp.create_future();
    fut.set_result(Err("ValueError()".into())).unwrap();
    assert_eq!(fut.result(), Ok(Err("ValueError()".to_string())));
    let awaited = lp.run_until_complete(fut.clone()).unwrap();
    assert_eq!(awaited, Ok(Err("ValueError()".to_string())));
    lp.close().unwrap();
}

#[test]
fn b4_done_callbacks_are_scheduled_never_run_inside_set_result() {
    let lp = aloop::new_event_loop();
    let log = Log::new();
    let fut = lp.create_future::<i32>();
    {
        let log = log.clone();
        fut.add_done_callback(move |f| log.push(format!("callback sees {}", f.result().unwrap())));
    }
    fut.set_result(7).unwrap();
    log.push("set_result returned");
    lp.call_soon(stopper(&lp)).unwrap();
    lp.run_forever().unwrap();
    lp.close().unwrap();
    log.assert_eq(&["set_result returned", "callback sees 7"]);
}

#[test]
fn b5_done_callbacks_run_in_registration_order_queued_at_completion() {
    let lp = aloop::new_event_loop();
    let log = Log::new();
    let fut = lp.create_future::<()>();
    for name in ["cb1", "cb2"] {
        let log = log.clone();
        fut.add_done_callback(move |_| log.push(name));
    }
    lp.call_soon(log.pusher("scheduled before set_result"))
        .unwrap();
    fut.set_result(()).unwrap();
    lp.call_soon(log.pusher("scheduled after set_result"))
        .unwrap();
    lp.call_soon(stopper(&lp)).unwrap();
    lp.run_forever().unwrap();
    lp.close().unwrap();
    log.assert_eq(&[
        "scheduled before set_result",
        "cb1",
        "cb2",
        "scheduled after set_result",
    ]);
}

#[test]
fn b6_add_done_callback_on_a_done_future_schedules_it() {
    let lp = aloop::new_event_loop();
    let log = Log::new();
    let fut = lp.create_future::<&'static str>();
    fut.set_result("r").unwrap();
    {
        let log = log.clone();
        fut.add_done_callback(move |f| log.push(format!("callback got {}", f.result().unwrap())));
    }
    log.push("add_done_callback returned");
    lp.call_soon(stopper(&lp)).unwrap();
    lp.run_forever().unwrap();
    lp.close().unwrap();
    log.assert_eq(&["add_done_callback returned", "callback got r"]);
}

#[test]
fn b8_cancel_returns_true_once_and_false_when_done() {
    let lp = aloop::new_event_loop();
    let log = Log::new();
    let fut = lp.create_future::<i32>();
    {
        let log = log.clone();
        fut.add_done_callback(move |f| {
            log.push(format!("callback: cancelled = {}", f.cancelled()))
        });
    }
    log.push(format!("{} {} {}", fut.cancel(), fut.cancel(), fut.done()));
    let e = fut.result().unwrap_err();
    assert_eq!(e, PromiseError::Cancelled);
    assert_eq!(e.to_string(), "the future was cancelled");
    log.push("result() raised Cancelled");
    let done = lp.create_future::<i32>();
    done.set_result(1).unwrap();
    log.push(done.cancel().to_string());
    lp.call_soon(stopper(&lp)).unwrap();
    lp.run_forever().unwrap();
    lp.close().unwrap();
    log.assert_eq(&[
        "true false true",
        "result() raised Cancelled",
        "false",
        "callback: cancelled = true",
    ]);
}

/// Adapted: Rust has no exception class hierarchy; each failure is its own type (or enum
/// variant) implementing `std::error::Error + Send + Sync`, with the message asyncio uses.
#[test]
fn b10_errors_are_typed_and_implement_std_error() {
    use std::error::Error;
    let errors: Vec<(Box<dyn Error + Send + Sync>, &str)> = vec![
        (Box::new(Cancelled), "the future was cancelled"),
        (Box::new(LoopClosed), "Event loop is closed"),
        (Box::new(NoRunningLoop), "no running event loop"),
        (
            Box::new(CloseRunningLoop),
            "Cannot close a running event loop",
        ),
        (
            Box::new(PromiseError::Cancelled),
            "the future was cancelled",
        ),
        (Box::new(TaskError::Cancelled), "task was cancelled"),
        (
            Box::new(RunError::AlreadyRunning),
            "This event loop is already running",
        ),
        (Box::new(RunError::Closed), "Event loop is closed"),
    ];
    for (e, message) in &errors {
        assert_eq!(e.to_string(), *message);
    }
    // Cancellation and a panic are distinct outcomes of a task (asyncio: CancelledError
    // is not an Exception), and RunError exposes the task's error as its source.
    assert!(TaskError::Cancelled.is_cancelled() && !TaskError::Cancelled.is_panic());
    let run = RunError::Task(TaskError::Cancelled);
    let source = run.source().expect("RunError::Task has a source");
    assert_eq!(source.to_string(), "task was cancelled");
}

#[test]
fn b11_awaiting_a_future_suspends_until_done() {
    let lp = aloop::new_event_loop();
    let log = Log::new();
    let log2 = log.clone();
    lp.run_until_complete(async move {
        let lp = aloop::get_running_loop().unwrap();
        let fut = lp.create_future::<&'static str>();
        let setter = fut.clone();
        lp.call_later(Duration::from_millis(10), move || {
            setter.set_result("value").unwrap()
        })
        .unwrap();
        log2.push(fut.await.unwrap());
        // asyncio's set_exception: an Err value, which the awaiter gets back.
        let fut2: Promise<Result<(), String>> = lp.create_future();
        let setter = fut2.clone();
        lp.call_soon(move || setter.set_result(Err("KeyError('k')".into())).unwrap())
            .unwrap();
        if let Err(e) = fut2.await.unwrap() {
            log2.push(format!("raised {e}"));
        }
    })
    .unwrap();
    lp.close().unwrap();
    log.assert_eq(&["value", "raised KeyError('k')"]);
}

/// Adapted: an error in a `Promise` is a plain value, so dropping one unread reports
/// nothing; the "never retrieved" report exists for a task that panicked, and reading its
/// error first (`exception()`) silences it, as in the snippet.
#[test]
fn b12_only_an_unretrieved_task_panic_is_reported() {
    let lp = aloop::new_event_loop();
    let log = Log::new();
    record_exceptions(&lp, &log);
    let f1: Promise<Result<(), String>> = lp.create_future();
    f1.set_result(Err("lost".into())).unwrap();
    drop(f1);
    lp.run_until_complete(async {
        let lost = aloop::create_task(async { panic!("lost") });
        lost.set_name("f1");
        let seen = aloop::create_task(async { panic!("seen") });
        seen.set_name("f2");
        drop(lost);
        aloop::sleep(Duration::from_millis(10)).await;
        assert!(seen.exception().unwrap().unwrap().is_panic());
        drop(seen);
        aloop::sleep(Duration::ZERO).await;
    })
    .unwrap();
    lp.close().unwrap();
    log.assert_eq(&["handler: Task exception was never retrieved (task f1): panicked: lost"]);
}
