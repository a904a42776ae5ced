//! The combinators (group D of the conformance catalogue) on the aloop loop: one test
//! per catalogue entry, named after its id, then stress tests. Entries whose asyncio
//! behaviour cannot exist in Rust say why in a doc comment starting `Adapted:`.
//!
//! Timings are generous (tens of milliseconds against seconds) and never asserted
//! tightly. Children that panic on purpose print their panic message to stderr.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::{Duration, Instant};

use aloop::{
    as_completed, create_task, gather, gather_all, sleep, task_group, timeout, timeout_at, wait,
    wait_for, Gather, ReturnWhen, TaskError, TaskGroup, Timeout, TimeoutError,
};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

async fn val<T>(x: T, delay_ms: u64) -> T {
    sleep(ms(delay_ms)).await;
    x
}

async fn fail<T>(delay_ms: u64, msg: &'static str) -> T {
    if delay_ms > 0 {
        sleep(ms(delay_ms)).await;
    }
    panic!("{msg}")
}

fn panic_message(e: &TaskError) -> &str {
    match e {
        TaskError::Panicked(p) => p.message(),
        TaskError::Cancelled => "<cancelled>",
    }
}

/// Yields to the loop until `cond` holds (bounded, so a bug fails instead of hanging).
async fn until(cond: impl Fn() -> bool) {
    for _ in 0..100_000 {
        if cond() {
            return;
        }
        sleep(ms(1)).await;
    }
    panic!("condition never held");
}

/// Counts drops, to prove a cancelled future's destructors ran.
struct DropGuard(Rc<Cell<usize>>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}

type Log = Rc<RefCell<Vec<String>>>;

fn log() -> Log {
    Rc::new(RefCell::new(Vec::new()))
}

// ---- gather ---------------------------------------------------------------------------

#[test]
fn d1_gather_results_in_argument_order() {
    aloop::run(async {
        let finished = log();
        let child = |x: &'static str, delay: u64| {
            let finished = finished.clone();
            async move {
                sleep(ms(delay)).await;
                finished.borrow_mut().push(x.to_string());
                x
            }
        };
        let out = gather([child("a", 30), child("b", 10), child("c", 20)]).await;
        assert_eq!(*finished.borrow(), ["b", "c", "a"]);
        assert_eq!(out.unwrap(), ["a", "b", "c"]);
    });
}

/// Adapted: the gather owns the tasks it is given (Rust moves them in), so the sibling's
/// late result is observed through a side channel and its `as_any()` view rather than by
/// awaiting the task again.
#[test]
fn d2_gather_propagates_first_error_and_leaves_others_running() {
    aloop::run(async {
        let slow_result = Rc::new(Cell::new(None));
        let sr = slow_result.clone();
        let slow = create_task(async move {
            let v = val("slow", 50).await;
            sr.set(Some(v));
            v
        });
        let slow_view = slow.as_any();
        let failing = create_task(fail::<&'static str>(10, "first"));
        let err = Gather::from_tasks([slow, failing]).await.unwrap_err();
        assert_eq!(panic_message(&err), "first");
        assert!(!slow_view.done(), "the sibling is still running");
        until(|| slow_view.done()).await;
        assert!(!slow_view.cancelled());
        assert_eq!(slow_result.get(), Some("slow"));
    });
}

#[test]
fn d3_gather_return_exceptions_puts_errors_in_place() {
    aloop::run(async {
        async fn child(x: Option<i32>) -> i32 {
            match x {
                Some(x) => val(x, 0).await,
                None => panic!("k"),
            }
        }
        let out = gather_all([child(Some(1)), child(None), child(Some(3))]).await;
        assert_eq!(out.len(), 3);
        assert_eq!(*out[0].as_ref().unwrap(), 1);
        assert_eq!(panic_message(out[1].as_ref().unwrap_err()), "k");
        assert_eq!(*out[2].as_ref().unwrap(), 3);
    });
}

/// Adapted: the gather future cannot be cancelled apart from its awaiter (the awaiter
/// owns it), so the task awaiting it is cancelled: it ends cancelled (asyncio's gather
/// instead ends done-with-CancelledError, `cancelled() == False`), and both children are
/// cancelled.
#[test]
fn d4_cancelling_gather_cancels_unfinished_children() {
    aloop::run(async {
        let a = create_task(val(1, 10_000));
        let b = create_task(val(2, 10_000));
        let (av, bv) = (a.as_any(), b.as_any());
        let g = create_task(Gather::from_tasks([a, b]));
        sleep(Duration::ZERO).await;
        assert!(g.cancel());
        // Forwarded at once, as asyncio's gather.cancel() cancels its children.
        assert_eq!((av.cancelling(), bv.cancelling()), (1, 1));
        assert!(g.await.unwrap_err().is_cancelled());
        until(|| av.done() && bv.done()).await;
        assert!(av.cancelled() && bv.cancelled());
    });
}

#[test]
fn gather_dropped_before_done_cancels_children_but_not_after() {
    aloop::run(async {
        let g = gather([val(1, 10_000), val(2, 10_000)]);
        assert_eq!(g.len(), 2);
        // No view on the spawned tasks: count their drops instead.
        let dropped = Rc::new(Cell::new(0));
        let d = dropped.clone();
        let g2 = gather((0..3).map(move |_| {
            let guard = DropGuard(d.clone());
            async move {
                let _guard = guard;
                sleep(ms(10_000)).await;
            }
        }));
        drop(g);
        drop(g2);
        until(|| dropped.get() == 3).await;
        // A gather that returned early leaves the rest running (D2), even once dropped.
        let done_flag = Rc::new(Cell::new(false));
        let df = done_flag.clone();
        let slow: Pin<Box<dyn Future<Output = ()>>> = Box::pin(async move {
            sleep(ms(20)).await;
            df.set(true);
        });
        let boom: Pin<Box<dyn Future<Output = ()>>> = Box::pin(fail(0, "early"));
        assert!(gather([slow, boom]).await.is_err());
        until(|| done_flag.get()).await;
    });
}

/// Adapted: the children are moved into the gather, so "a -> 1" is checked through the
/// child's view and a side channel.
#[test]
fn d5_child_cancelled_alone_does_not_cancel_gather_or_siblings() {
    aloop::run(async {
        for return_exceptions in [false, true] {
            let a_result = Rc::new(Cell::new(None));
            let ar = a_result.clone();
            let a = create_task(async move {
                let v = val(1, 10).await;
                ar.set(Some(v));
                v
            });
            let b = create_task(val(2, 10_000));
            let (av, bv) = (a.as_any(), b.as_any());
            let lp = aloop::get_running_loop().unwrap();
            lp.call_soon(move || {
                bv.cancel();
            })
            .unwrap();
            let g = Gather::from_tasks([a, b]);
            if return_exceptions {
                let out = g.return_exceptions().await;
                assert_eq!(*out[0].as_ref().unwrap(), 1);
                assert!(out[1].as_ref().unwrap_err().is_cancelled());
            } else {
                assert!(g.await.unwrap_err().is_cancelled());
                assert!(!av.done(), "the sibling runs on");
                // The awaiting task itself was not cancelled.
                let me = aloop::current_task().unwrap().unwrap();
                assert_eq!(me.cancelling(), 0);
            }
            until(|| av.done()).await;
            assert_eq!(a_result.get(), Some(1));
        }
    });
}

#[test]
fn gather_and_join_macros_take_different_types() {
    aloop::run(async {
        let (n, s, v) = aloop::gather!(val(1, 5), val("two", 1), async { vec![3] })
            .await
            .unwrap();
        assert_eq!((n, s, v), (1, "two", vec![3]));
        let err = aloop::gather!(val(1, 10_000), fail::<&str>(1, "macro"))
            .await
            .unwrap_err();
        assert_eq!(panic_message(&err), "macro");
        let (a, b) = aloop::join!(val('a', 1), fail::<u8>(0, "joined")).await;
        assert_eq!(a.unwrap(), 'a');
        assert_eq!(panic_message(&b.unwrap_err()), "joined");
        assert!(gather(Vec::<std::future::Ready<u8>>::new())
            .await
            .unwrap()
            .is_empty());
    });
}

// ---- wait -----------------------------------------------------------------------------

#[test]
fn d6_wait_first_completed_cancels_nothing() {
    aloop::run(async {
        let fast = create_task(val("fast", 10));
        let slow = create_task(val("slow", 100));
        let (fv, sv) = (fast.as_any(), slow.as_any());
        let (done, pending) = wait([fast, slow], ReturnWhen::FirstCompleted, None).await;
        assert_eq!(done.iter().map(|t| t.as_any()).collect::<Vec<_>>(), [fv]);
        assert_eq!(
            pending.iter().map(|t| t.as_any()).collect::<Vec<_>>(),
            std::slice::from_ref(&sv)
        );
        assert!(!sv.cancelled());
        let slow = pending.into_iter().next().unwrap();
        assert_eq!(slow.await.unwrap(), "slow");
    });
}

#[test]
fn d9_wait_timeout_returns_done_and_pending_cancelling_nothing() {
    aloop::run(async {
        let fast = create_task(val("fast", 10));
        let slow = create_task(val("slow", 200));
        let (fv, sv) = (fast.as_any(), slow.as_any());
        let (done, pending) = wait([fast, slow], ReturnWhen::AllCompleted, ms(50)).await;
        assert_eq!(done.iter().map(|t| t.as_any()).collect::<Vec<_>>(), [fv]);
        assert_eq!(
            pending.iter().map(|t| t.as_any()).collect::<Vec<_>>(),
            std::slice::from_ref(&sv)
        );
        assert!(!sv.cancelled());
        assert_eq!(pending.into_iter().next().unwrap().await.unwrap(), "slow");
    });
}

#[test]
fn wait_first_exception_and_all_completed() {
    aloop::run(async {
        let ok = create_task(val(1, 5));
        let boom = create_task(fail::<i32>(20, "wait"));
        let slow = create_task(val(3, 10_000));
        let (done, pending) = wait([ok, boom, slow], ReturnWhen::FirstException, None).await;
        assert_eq!((done.len(), pending.len()), (2, 1));
        let (done, pending) = wait(pending, ReturnWhen::AllCompleted, ms(1)).await;
        assert_eq!((done.len(), pending.len()), (0, 1));
        let (done, pending) = wait(
            Vec::<aloop::Task<u8>>::new(),
            ReturnWhen::AllCompleted,
            None,
        )
        .await;
        assert!(done.is_empty() && pending.is_empty());
        let all = vec![create_task(val(1, 1)), create_task(val(2, 2))];
        let (done, pending) = wait(all, ReturnWhen::AllCompleted, None).await;
        assert_eq!((done.len(), pending.len()), (2, 0));
    });
}

// ---- wait_for -------------------------------------------------------------------------

#[test]
fn d10_wait_for_cancels_inner_on_timeout_and_waits_for_it() {
    aloop::run(async {
        assert_eq!(
            wait_for(val("in time", 10), Duration::from_secs(1)).await,
            Ok("in time")
        );
        assert_eq!(wait_for(val("no limit", 0), None).await, Ok("no limit"));
        let inner = create_task(val("late", 10_000));
        let iv = inner.as_any();
        assert_eq!(wait_for(inner, ms(10)).await.unwrap_err(), TimeoutError);
        assert!(iv.cancelled(), "the inner task has ended, cancelled");
        // A plain future's cleanup has run by the time wait_for returns.
        let dropped = Rc::new(Cell::new(0));
        let guard = DropGuard(dropped.clone());
        let r = wait_for(
            async move {
                let _guard = guard;
                sleep(ms(10_000)).await;
            },
            ms(5),
        )
        .await;
        assert_eq!((r, dropped.get()), (Err(TimeoutError), 1));
    });
}

/// Adapted: a Rust future cannot swallow its cancellation (cancelling drops it), so the
/// inner never gets to return a value: its cleanup runs and wait_for returns TimeoutError.
#[test]
fn d11_wait_for_inner_cannot_swallow_the_cancellation() {
    aloop::run(async {
        let cleaned = Rc::new(Cell::new(0));
        let guard = DropGuard(cleaned.clone());
        let stubborn = async move {
            let _guard = guard;
            sleep(Duration::from_secs(10)).await;
            "swallowed the cancellation"
        };
        assert_eq!(wait_for(stubborn, ms(10)).await, Err(TimeoutError));
        assert_eq!(cleaned.get(), 1);
    });
}

/// Adapted: Rust cannot tell an already-finished future from one that has not started
/// without polling it, so a zero timeout returns TimeoutError for every future (asyncio
/// returns the result of a future that is already done).
#[test]
fn d12_wait_for_zero_timeout_never_runs_the_future() {
    aloop::run(async {
        let started = Rc::new(Cell::new(false));
        let s = started.clone();
        let instant = async move {
            s.set(true);
            "instant"
        };
        assert_eq!(wait_for(instant, Duration::ZERO).await, Err(TimeoutError));
        assert!(!started.get());
        let ready = std::future::ready("ready");
        assert_eq!(wait_for(ready, Duration::ZERO).await, Err(TimeoutError));
    });
}

#[test]
fn wait_for_resumes_the_inner_panic_in_the_caller() {
    let caught = aloop::try_run(async {
        let _ = wait_for(fail::<u8>(1, "inner panic"), Duration::from_secs(1)).await;
    });
    match caught {
        Err(aloop::RunError::Task(e)) => assert_eq!(panic_message(&e), "inner panic"),
        other => panic!("expected the inner panic, got {other:?}"),
    }
}

#[test]
fn wait_for_propagates_an_outside_cancellation_of_its_inner_task() {
    aloop::run(async {
        let waiter = create_task(wait_for(
            sleep(Duration::from_secs(10)),
            Duration::from_secs(60),
        ));
        sleep(ms(5)).await;
        let me = aloop::current_task().unwrap().unwrap();
        let others = aloop::all_tasks().unwrap();
        let inner = others.iter().find(|t| **t != me && **t != waiter.as_any());
        assert!(inner.unwrap().cancel());
        assert!(waiter.await.unwrap_err().is_cancelled());
        // A cancelled Task given as the inner future is just an output: Ok(Err(Cancelled)).
        let t = create_task(val(1, 10_000));
        t.cancel();
        assert!(wait_for(t, Duration::from_secs(1))
            .await
            .unwrap()
            .unwrap_err()
            .is_cancelled());
    });
}

// ---- as_completed ---------------------------------------------------------------------

#[test]
fn d14_as_completed_yields_in_completion_order() {
    aloop::run(async {
        let mut stream = as_completed([val("slow", 30), val("fast", 10), val("mid", 20)], None);
        let mut order = Vec::new();
        while let Some(item) = stream.next().await {
            order.push(item.unwrap().unwrap());
        }
        assert_eq!(order, ["fast", "mid", "slow"]);
    });
}

#[test]
fn as_completed_timeout_yields_one_timeout_error_per_unfinished_child() {
    aloop::run(async {
        let mut stream = as_completed([val(1, 5), val(2, 10_000), val(3, 10_000)], ms(30));
        assert_eq!(stream.next().await.unwrap().unwrap().unwrap(), 1);
        assert_eq!(stream.next().await.unwrap().unwrap_err(), TimeoutError);
        assert_eq!(stream.next().await.unwrap().unwrap_err(), TimeoutError);
        assert!(stream.next().await.is_none());
        // Dropping the stream cancels the children still running.
        let dropped = Rc::new(Cell::new(0));
        let guard = DropGuard(dropped.clone());
        let stream = as_completed(
            [async move {
                let _guard = guard;
                sleep(ms(10_000)).await;
            }],
            None,
        );
        drop(stream);
        until(|| dropped.get() == 1).await;
    });
}

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
        let out = log();
        let worker = |name: &'static str| {
            let out = out.clone();
            async move {
                for i in 0..3 {
                    out.borrow_mut().push(format!("{name} {i}"));
                    sleep(Duration::ZERO).await;
                }
            }
        };
        gather([worker("a"), worker("b")]).await.unwrap();
        assert_eq!(*out.borrow(), ["a 0", "b 0", "a 1", "b 1", "a 2", "b 2"]);
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

/// Adapted: the body "raises" by panicking.
#[test]
fn d25_task_group_collects_every_failure_including_the_body() {
    aloop::run(async {
        let err = task_group(|tg| async move {
            tg.create_task(fail::<()>(10, "a"));
            tg.create_task(fail::<()>(10, "b"));
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

// ---- stress ---------------------------------------------------------------------------

#[test]
fn stress_gather_100_000_tasks() {
    aloop::run(async {
        let n = 100_000u64;
        let out = gather((0..n).map(|i| async move {
            sleep(Duration::ZERO).await;
            i * 2
        }))
        .await
        .unwrap();
        assert_eq!(out.len(), n as usize);
        assert!(out.iter().enumerate().all(|(i, v)| *v == 2 * i as u64));
    });
}

#[test]
fn stress_as_completed_10_000_sleeps_in_deadline_order() {
    aloop::run(async {
        // A fixed-seed LCG: reproducible delays of 1..=300 ms.
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next_delay = move || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            1 + (seed >> 33) % 300
        };
        let sleeps: Vec<_> = (0..10_000)
            .map(|_| {
                let s = sleep(ms(next_delay()));
                async move {
                    let deadline = s.deadline();
                    s.await;
                    deadline
                }
            })
            .collect();
        let mut stream = as_completed(sleeps, None);
        let mut deadlines = Vec::with_capacity(10_000);
        while let Some(item) = stream.next().await {
            deadlines.push(item.unwrap().unwrap().unwrap());
        }
        assert_eq!(deadlines.len(), 10_000);
        let mut sorted = deadlines.clone();
        sorted.sort();
        assert!(deadlines == sorted, "completion order is deadline order");
    });
}

#[test]
fn stress_cancelling_task_group_with_10_000_sleeping_children() {
    aloop::run(async {
        let n = 10_000;
        let started = Rc::new(Cell::new(0usize));
        let dropped = Rc::new(Cell::new(0usize));
        let (s, d) = (started.clone(), dropped.clone());
        let owner = create_task(task_group(move |tg| async move {
            for _ in 0..n {
                let (s, guard) = (s.clone(), DropGuard(d.clone()));
                tg.create_task(async move {
                    let _guard = guard;
                    s.set(s.get() + 1);
                    sleep(Duration::from_secs(60)).await;
                });
            }
            std::future::pending::<()>().await;
        }));
        until(|| started.get() == n).await;
        let t0 = Instant::now();
        owner.cancel();
        assert!(owner.await.unwrap_err().is_cancelled());
        until(|| dropped.get() == n).await;
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "took {:?}",
            t0.elapsed()
        );
    });
}
