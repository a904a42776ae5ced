//! `BaseEventLoopTests` and `RunningLoopTests` of test_base_events.py: scheduling with
//! `call_soon` / `call_later` / `call_at`, running and stopping, closing, and the
//! state `run_until_complete` leaves behind. The neighbours: `handlers.rs` (exception
//! handler, debug mode, executor), `network.rs`, `sendfile.rs`.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use aloop::{new_event_loop, RunError, TaskError};
use aloop_tests::{stopper, Defer, Log};

use super::bounded;

/// The clock resolution CPython's timing tests allow for (`test_utils.CLOCK_RES`).
const CLOCK_RES: Duration = Duration::from_millis(20);

/// A closed loop stays closed through repeated `close()`, and refuses to run.
#[test]
fn base_events_base_event_loop_close() {
    let lp = new_event_loop();
    assert!(!lp.is_closed());
    lp.close().unwrap();
    assert!(lp.is_closed());
    lp.close().unwrap();
    lp.close().unwrap();
    let f = lp.create_future::<()>();
    assert!(matches!(lp.run_forever(), Err(RunError::Closed)));
    assert!(matches!(lp.run_until_complete(f), Err(RunError::Closed)));
}

/// `call_soon` returns a live handle and queues the callback for the next iteration
/// (asyncio's test reads the private `_ready` queue; here the callback has not run yet
/// and runs once the loop does).
#[test]
fn base_events_base_event_loop_call_soon() {
    let lp = new_event_loop();
    let log = Log::new();
    let h = lp.call_soon(log.pusher("cb")).unwrap();
    assert!(!h.cancelled());
    assert!(log.is_empty());
    lp.call_soon(stopper(&lp)).unwrap();
    lp.run_forever().unwrap();
    log.assert_eq(&["cb"]);
}

/// `call_later` returns a timer handle due `delay` from now, which does not run in the
/// next iteration (asyncio: it is in `_scheduled`, not in `_ready`).
#[test]
fn base_events_base_event_loop_call_later() {
    let lp = new_event_loop();
    let log = Log::new();
    let before = lp.time();
    let h = lp
        .call_later(Duration::from_secs(10), log.pusher("late"))
        .unwrap();
    assert!(h.when() >= before + Duration::from_secs(10));
    assert!(h.when() <= lp.time() + Duration::from_secs(10));
    assert!(!h.cancelled());
    lp.call_soon(stopper(&lp)).unwrap();
    lp.run_forever().unwrap();
    assert!(log.is_empty());
}

/// Timers already due run in deadline order: the one due two seconds ago before the one
/// due one second ago. (`call_later` takes a `Duration`, which cannot be negative, so
/// the past deadlines are given to `call_at`.)
#[test]
fn base_events_base_event_loop_call_later_negative_delays() {
    let lp = new_event_loop();
    let log = Log::new();
    let now = lp.time();
    let ago = |s| now.checked_sub(Duration::from_secs(s)).unwrap();
    lp.call_at(ago(1), log.pusher("a")).unwrap();
    lp.call_at(ago(2), log.pusher("b")).unwrap();
    lp.run_until_complete(aloop::sleep(Duration::from_millis(1)))
        .unwrap();
    log.assert_eq(&["b", "a"]);
}

/// `call_at(time() + delay)` runs no earlier than `delay` later on the loop's clock.
#[test]
fn base_events_base_event_loop_time_and_call_at() {
    bounded(30, || {
        let lp = new_event_loop();
        let delay = Duration::from_millis(100);
        let when = lp.time() + delay;
        lp.call_at(when, stopper(&lp)).unwrap();
        let t0 = lp.time();
        lp.run_forever().unwrap();
        let dt = lp.time() - t0;
        assert!(dt + CLOCK_RES >= delay, "{dt:?}");
    });
}

#[test]
fn base_events_base_event_loop_set_debug() {
    let lp = new_event_loop();
    lp.set_debug(true);
    assert!(lp.get_debug());
    lp.set_debug(false);
    assert!(!lp.get_debug());
}

/// A future of another loop is awaited by this one. *Difference*: asyncio refuses
/// (`ValueError`, the future is bound to its loop); a `Promise` is bound to no loop at
/// run time (C20), so the value comes through.
#[test]
fn base_events_base_event_loop_run_until_complete_loop() {
    let lp = new_event_loop();
    let other = new_event_loop();
    let p = lp.create_future::<u32>();
    p.set_result(7).unwrap();
    assert_eq!(other.run_until_complete(p).unwrap().unwrap(), 7);
}

/// A `run_until_complete` ended early leaves no trace: its future's done callback is
/// removed, so when that future finishes during the next run it does not stop it.
/// *Difference*: CPython ends the first run with an exception (`SystemExit`) raised by a
/// callback; aloop's callbacks cannot raise past the loop (A19), so the first run is
/// ended by `stop()` from a callback instead.
#[test]
fn base_events_base_event_loop_run_until_complete_loop_orphan_future_close_loop() {
    bounded(30, || {
        let lp = new_event_loop();
        lp.call_soon(stopper(&lp)).unwrap();
        let first = lp.run_until_complete(aloop::sleep(Duration::from_millis(100)));
        assert!(matches!(first, Err(RunError::Stopped)), "{first:?}");
        // The first sleep ends halfway through this one.
        lp.run_until_complete(aloop::sleep(Duration::from_millis(200)))
            .unwrap();
    });
}

/// A task that fails inside `run_until_complete` hands its failure to the caller and
/// leaves no pending `stop()`: the next `run_forever` runs until its own stop.
/// *Difference*: asyncio's failure is a `KeyboardInterrupt` escaping the loop; aloop's is
/// a panic in the task, returned as `RunError::Task(TaskError::Panicked)`.
#[test]
fn base_events_base_event_loop_run_until_complete_baseexception() {
    bounded(30, || {
        let lp = new_event_loop();
        let r = lp.run_until_complete(async { panic!("interrupt") });
        assert!(
            matches!(r, Err(RunError::Task(TaskError::Panicked(_)))),
            "{r:?}"
        );
        let called = Rc::new(Cell::new(false));
        let func = {
            let (lp2, called) = (lp.clone_ref(), called.clone());
            move || {
                lp2.stop();
                called.set(true);
            }
        };
        let lp2 = lp.clone_ref();
        lp.call_soon(move || {
            lp2.call_soon(func).unwrap();
        })
        .unwrap();
        lp.run_forever().unwrap();
        assert!(called.get());
    });
}

/// The failure `run_until_complete` returns was retrieved: nothing reaches the exception
/// handler, not even when the loop closes. *Difference*: as
/// `test_run_until_complete_baseexception`, a panic stands for `KeyboardInterrupt`.
#[test]
fn base_events_base_event_loop_run_forever_keyboard_interrupt() {
    let lp = new_event_loop();
    let log = Log::new();
    aloop_tests::record_exceptions(&lp, &log);
    let r = lp.run_until_complete(async { panic!("interrupt") });
    assert!(r.is_err());
    lp.close().unwrap();
    assert!(log.is_empty(), "{:?}", log.events());
}

/// `loop.call_soon(loop.stop); loop.run_forever()` runs what was queued once.
#[test]
fn base_events_base_event_loop_run_once() {
    let lp = new_event_loop();
    let count = Rc::new(Cell::new(0));
    let c = count.clone();
    lp.call_soon(move || c.set(c.get() + 1)).unwrap();
    lp.call_soon(stopper(&lp)).unwrap();
    lp.run_forever().unwrap();
    assert_eq!(count.get(), 1);
}

/// `stop()` before `run_forever()` makes it return after one iteration, without
/// waiting for the timer that is pending (asyncio checks that its selector was polled
/// with a zero timeout).
#[test]
fn base_events_base_event_loop_run_forever_pre_stopped() {
    bounded(10, || {
        let lp = new_event_loop();
        let log = Log::new();
        lp.call_later(Duration::from_secs(60), log.pusher("timer"))
            .unwrap();
        lp.stop();
        lp.run_forever().unwrap();
        assert!(log.is_empty());
    });
}

/// `create_task` on a closed loop gives up the coroutine at once. *Difference*: asyncio
/// raises `RuntimeError` and closes the coroutine without a "never awaited" warning;
/// aloop returns a task that is already cancelled, and drops the future at once (its
/// destructor runs: the coroutine's `close()`).
#[test]
fn base_events_base_event_loop_create_task_error_closes_coro() {
    let lp = new_event_loop();
    lp.close().unwrap();
    let dropped = Rc::new(Cell::new(false));
    let d = dropped.clone();
    let guard = Defer(move || d.set(true));
    let task = lp.create_task(async move {
        let _guard = guard;
    });
    assert!(task.done());
    assert!(task.cancelled());
    assert!(dropped.get());
}

/// A task's name is what it was given. aloop's `create_task` takes no `name=`: the name
/// is given with `set_name` right after, before the task first runs.
#[test]
fn base_events_base_event_loop_create_named_task_with_default_factory() {
    let lp = new_event_loop();
    let task = lp.create_task(async {});
    task.set_name("test_task");
    assert_eq!(task.get_name(), "test_task");
    lp.run_until_complete(task).unwrap().unwrap();
    lp.close().unwrap();
}

/// `run_forever` of a loop inside a task of another running loop is refused.
#[test]
fn base_events_running_loop_running_loop_within_a_loop() {
    let lp = new_event_loop();
    let outer = new_event_loop();
    let r = outer
        .run_until_complete(async move {
            let r = lp.run_forever();
            lp.close().unwrap();
            r
        })
        .unwrap();
    assert!(matches!(r, Err(RunError::AnotherLoopRunning)), "{r:?}");
    let msg = r.unwrap_err().to_string();
    assert!(msg.contains("while another loop is running"), "{msg}");
}
