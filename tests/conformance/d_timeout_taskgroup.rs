//! Conformance group D, part 2: shield, sleep(0), asyncio.timeout and TaskGroup on the
//! aloop loop, one test per catalogue entry (named after its id), plus further behaviour
//! tests. Entries whose asyncio behaviour cannot exist in Rust say why in a doc comment
//! starting `Adapted:`.
//!
//! Hold as-is: D16, D18, D21. Adapted: D19, D20, D24, D25 (each says why in its doc
//! comment).
//! Part 1 (gather, wait, wait_for, as_completed) is `d_gather_wait.rs`.
//!
//! Timings are generous (tens of milliseconds against seconds) and never asserted
//! tightly. Children that panic on purpose print their panic message to stderr.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use aloop::{
    create_task, gather, sleep, sleep_until, task_group, timeout, timeout_at, TaskGroup, Timeout,
    TimeoutError,
};
use aloop_tests::combinators::{fail, ms, until, val, DropGuard};
use aloop_tests::Log;

// ---- shield, sleep(0) -----------------------------------------------------------------

#[test]
fn d16_shield_protects_inner_from_caller_cancellation() {
    aloop::run(async {
        let inner = create_task(val("inner finished", 50));
        let iv = inner.as_any();
        let caller = create_task(aloop::shield(inner));
        sleep(ms(10)).await;
        caller.cancel();
        assert!(caller.await.unwrap_err().is_cancelled());
        assert!(!iv.cancelled());
        until(|| iv.done()).await;
        assert!(!iv.cancelled());
    });
}

#[test]
fn d18_sleep_zero_yields_exactly_once_through_gather() {
    aloop::run(async {
        let out = Log::new();
        let worker = |name: &'static str| {
            let out = out.clone();
            async move {
                for i in 0..3 {
                    out.push(format!("{name} {i}"));
                    sleep(Duration::ZERO).await;
                }
            }
        };
        gather([worker("a"), worker("b")]).await.unwrap();
        assert_eq!(out.events(), ["a 0", "b 0", "a 1", "b 1", "a 2", "b 2"]);
    });
}

// ---- timeout --------------------------------------------------------------------------

/// Adapted: the block's "except CancelledError" is its destructor (a drop guard here):
/// at the deadline the block is dropped, then TimeoutError is returned.
#[test]
fn d19_timeout_drops_the_block_and_returns_timeout_error() {
    aloop::run(async {
        let saw = Rc::new(Cell::new(0));
        let guard = DropGuard(saw.clone());
        let t = timeout(ms(10), async move {
            let _guard = guard;
            sleep(Duration::from_secs(10)).await;
        });
        let cm = t.handle();
        assert_eq!(t.await, Err(TimeoutError));
        assert_eq!(saw.get(), 1, "the block saw its cancellation");
        assert!(cm.expired());
    });
}

/// Adapted: a block cannot swallow the expiry (it is dropped, not resumed), so the
/// timeout always returns TimeoutError; what carries over is that the current task is
/// left with no pending cancel request (`cancelling() == 0`) and `expired()` is true.
#[test]
fn d20_timeout_expiry_cannot_be_swallowed() {
    aloop::run(async {
        let t = timeout(ms(10), sleep(Duration::from_secs(10)));
        let cm = t.handle();
        assert_eq!(t.await, Err(TimeoutError));
        assert!(cm.expired());
        assert_eq!(aloop::current_task().unwrap().unwrap().cancelling(), 0);
        // The task goes on normally afterwards.
        sleep(ms(1)).await;
    });
}

#[test]
fn d21_timeout_none_reschedule_and_timeout_at() {
    aloop::run(async {
        let cm = Timeout::new(None);
        let inside = cm.clone();
        let out = cm
            .wrap(async move {
                assert_eq!(inside.when(), None);
                assert!(inside.reschedule(Some(Instant::now() + ms(10))));
                sleep(Duration::from_secs(1)).await;
            })
            .await;
        assert_eq!(out, Err(TimeoutError));
        assert!(
            !cm.reschedule(None),
            "a finished timeout cannot be rescheduled"
        );
        let t = timeout_at(
            Instant::now() + Duration::from_secs(1),
            sleep(Duration::ZERO),
        );
        let cm = t.handle();
        assert_eq!(t.await, Ok(()));
        assert!(!cm.expired());
    });
}

#[test]
fn timeout_reschedule_from_another_task_and_body_without_suspension() {
    aloop::run(async {
        let t = timeout(Duration::from_secs(60), sleep(Duration::from_secs(10)));
        let cm = t.handle();
        let mover = create_task(async move {
            sleep(ms(5)).await;
            cm.reschedule(Some(Instant::now()));
        });
        assert_eq!(t.await, Err(TimeoutError));
        mover.await.unwrap();
        // As in asyncio, the expiry is delivered at a suspension: a block that finishes
        // without suspending is not timed out, even with a zero delay.
        assert_eq!(timeout(Duration::ZERO, async { 5 }).await, Ok(5));
        assert_eq!(
            timeout(Duration::ZERO, sleep(Duration::ZERO)).await,
            Err(TimeoutError)
        );
        // A delay too large for Instant is no deadline, not a panic.
        assert_eq!(timeout(Duration::MAX, async { 6 }).await, Ok(6));
    });
}

// ---- TaskGroup ------------------------------------------------------------------------

/// Adapted: "sibling cancelled" is the sibling's destructor; the failures come back as a
/// `TaskGroupError` of panic payloads (asyncio's ExceptionGroup).
#[test]
fn d24_task_group_failure_cancels_siblings_and_body() {
    aloop::run(async {
        let sibling_dropped = Rc::new(Cell::new(0));
        let body_dropped = Rc::new(Cell::new(0));
        let (sd, bd) = (sibling_dropped.clone(), body_dropped.clone());
        let err = task_group(|tg| async move {
            let _body_guard = DropGuard(bd);
            let guard = DropGuard(sd);
            tg.create_task(async move {
                let _guard = guard;
                sleep(Duration::from_secs(10)).await;
            });
            tg.create_task(fail::<()>(10, "boom"));
            sleep(Duration::from_secs(10)).await;
        })
        .await
        .unwrap_err();
        assert_eq!(sibling_dropped.get(), 1);
        assert_eq!(body_dropped.get(), 1);
        let messages: Vec<_> = err.errors().iter().map(|p| p.message()).collect();
        assert_eq!(messages, ["boom"]);
        assert_eq!(
            err.to_string(),
            "unhandled errors in a TaskGroup (1 sub-exception)"
        );
    });
}

/// Adapted: the body "raises" by panicking, and the two tasks sleep until one deadline.
/// The snippet's two `sleep(0.01)` end a few microseconds apart, and both are due when
/// asyncio's loop wakes because its wake-ups are late by more than that (the poll's
/// timeout is rounded up to a millisecond, plus the kernel's timer slack). aloop's
/// timers fire at their own deadlines: two deadlines that far apart could fall on either
/// side of one wake-up, and the second task would be cancelled before it failed.
#[test]
fn d25_task_group_collects_every_failure_including_the_body() {
    aloop::run(async {
        let at = Instant::now() + ms(10);
        let err = task_group(|tg| async move {
            tg.create_task(async move {
                sleep_until(at).await;
                panic!("a")
            });
            tg.create_task(async move {
                sleep_until(at).await;
                panic!("b")
            });
        })
        .await
        .unwrap_err();
        let mut messages: Vec<_> = err.errors().iter().map(|p| p.message()).collect();
        messages.sort();
        assert_eq!(messages, ["a", "b"]);
        let err = task_group(|tg| async move {
            tg.create_task(sleep(Duration::from_secs(10)));
            sleep(Duration::ZERO).await;
            panic!("body");
        })
        .await
        .unwrap_err();
        let messages: Vec<_> = err.errors().iter().map(|p| p.message()).collect();
        assert_eq!(messages, ["body"]);
    });
}

#[test]
fn task_group_join_form_and_cancelling_its_awaiter() {
    aloop::run(async {
        let tg = TaskGroup::new();
        let a = tg.create_task(val(1, 5));
        let b = tg.create_task(val(2, 1));
        tg.clone().join().await.unwrap();
        assert_eq!(a.await.unwrap() + b.await.unwrap(), 3);
        let late = tg.create_task(async { 3 });
        assert!(
            late.await.unwrap_err().is_cancelled(),
            "a joined group takes no new task"
        );
        // A child's own cancellation is not a failure.
        let tg = TaskGroup::new();
        let c = tg.create_task(val(1, 10_000));
        c.cancel();
        tg.join().await.unwrap();
        // Cancelling the task awaiting the group cancels the group's tasks.
        let dropped = Rc::new(Cell::new(0));
        let d = dropped.clone();
        let owner = create_task(async move {
            let tg = TaskGroup::new();
            for _ in 0..3 {
                let guard = DropGuard(d.clone());
                tg.create_task(async move {
                    let _guard = guard;
                    sleep(Duration::from_secs(10)).await;
                });
            }
            tg.join().await
        });
        sleep(ms(5)).await;
        owner.cancel();
        assert!(owner.await.unwrap_err().is_cancelled());
        until(|| dropped.get() == 3).await;
        // Dropping the last handle cancels the unfinished tasks.
        let tg = TaskGroup::new();
        let guard = DropGuard(dropped.clone());
        tg.create_task(async move {
            let _guard = guard;
            sleep(Duration::from_secs(10)).await;
        });
        drop(tg);
        until(|| dropped.get() == 4).await;
        let out = task_group(|tg| async move { tg.create_task(val(7, 1)).await.unwrap() }).await;
        assert_eq!(out.unwrap(), 7);
    });
}
