//! `BaseTaskTests` methods of CPython's test_tasks.py about cancellation. Siblings:
//! `task.rs`, `wait.rs`, `shield_gather.rs`; the index is `main.rs`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use aloop::{create_task, current_task, get_running_loop, sleep, RunError, TaskError};
use aloop_tests::cpython::{tick, ticks, IfCancelled};

use super::{assert_time, elapsed, ms, secs, test_loop};

#[test]
fn tasks_base_task_cancelling() {
    let lp = aloop::new_event_loop();
    let t = lp.create_task(sleep(secs(10)));
    assert_eq!(t.cancelling(), 0);
    assert!(t.cancel());
    assert_eq!(t.cancelling(), 1);
    // As in asyncio since 3.11: a second request while the first is pending is accepted.
    assert!(t.cancel());
    assert!(lp
        .run_until_complete(t)
        .unwrap()
        .unwrap_err()
        .is_cancelled());
    lp.close().unwrap();
}

#[aloop::test(virtual_time)]
async fn tasks_base_task_cancel() {
    let t = create_task(async {
        sleep(secs(10)).await;
        12
    });
    let view = t.as_any();
    let canceller = view.clone();
    get_running_loop()
        .unwrap()
        .call_soon(move || {
            canceller.cancel();
        })
        .unwrap();
    assert!(t.await.unwrap_err().is_cancelled());
    assert!(view.done());
    assert!(view.cancelled());
    assert!(!view.cancel());
}

#[aloop::test]
async fn tasks_base_task_cancel_yield() {
    let t = create_task(async {
        tick().await;
        tick().await;
        12
    });
    let view = t.as_any();
    tick().await; // start the task
    t.cancel();
    assert!(t.await.unwrap_err().is_cancelled());
    assert!(view.done() && view.cancelled());
    assert!(!view.cancel());
}

/// Deliberate difference: awaiting a cancelled promise gives `Err(Cancelled)` as a value
/// (`Promise`'s await output), so the task goes on and is not cancelled; asyncio raises
/// CancelledError in it and the task ends cancelled.
#[aloop::test]
async fn tasks_base_task_cancel_inner_future() {
    let f = get_running_loop().unwrap().create_future::<()>();
    let awaited = f.clone();
    let t = create_task(async move { awaited.await.map(|()| 12) });
    let view = t.as_any();
    tick().await; // start the task
    f.cancel();
    assert_eq!(t.await.unwrap(), Err(aloop::Cancelled));
    assert!(f.cancelled());
    assert!(!view.cancelled());
}

#[aloop::test]
async fn tasks_base_task_cancel_both_task_and_inner_future() {
    let f = get_running_loop().unwrap().create_future::<()>();
    let awaited = f.clone();
    let t = create_task(async move { awaited.await.map(|()| 12) });
    let view = t.as_any();
    tick().await;
    f.cancel();
    t.cancel();
    assert!(t.await.unwrap_err().is_cancelled());
    assert!(view.done());
    assert!(f.cancelled());
    assert!(view.cancelled());
}

/// A task that cancels itself is cancelled at its next await, at once (the 100 s sleep
/// never starts).
#[aloop::test(virtual_time)]
async fn tasks_base_task_cancel_current_task() {
    let lp = get_running_loop().unwrap();
    let t0 = lp.time();
    let t = create_task(async {
        current_task().unwrap().unwrap().cancel();
        sleep(secs(100)).await;
        12
    });
    let view = t.as_any();
    assert!(!view.cancelled());
    assert!(t.await.unwrap_err().is_cancelled());
    assert!(view.done() && view.cancelled());
    assert!(!view.cancel());
    assert!(lp.time() - t0 < secs(1));
}

/// A task that cancels itself and then returns without awaiting ends cancelled (before
/// commit ea1a1f5 it ended with its value).
#[aloop::test]
async fn tasks_base_task_cancel_at_end() {
    let t = create_task(async {
        current_task().unwrap().unwrap().cancel();
        12
    });
    let view = t.as_any();
    assert!(!view.cancelled());
    assert!(t.await.unwrap_err().is_cancelled());
    assert!(view.done() && view.cancelled());
    assert!(!view.cancel());
}

/// A task that cancelled itself and then awaits a sub-task cancels that sub-task, and the
/// sub-task the future it awaits (bpo-34872; before commit ea1a1f5 the sub-task was left
/// waiting forever).
#[aloop::test]
async fn tasks_base_task_cancel_awaited_task() {
    let fut = get_running_loop().unwrap().create_future::<()>();
    let nested_view = Rc::new(RefCell::new(None));
    let (awaited, slot) = (fut.clone(), nested_view.clone());
    let task = create_task(async move {
        let nested = create_task(awaited);
        *slot.borrow_mut() = Some(nested.as_any());
        tick().await;
        current_task().unwrap().unwrap().cancel();
        let _ = nested.await;
    });
    let view = task.as_any();
    assert!(task.await.unwrap_err().is_cancelled());
    assert!(view.cancelled());
    ticks(2).await;
    assert!(nested_view.borrow().as_ref().unwrap().cancelled());
    assert!(fut.cancelled());
}

/// `stop()` from inside a task ends `run_until_complete` before the task is done
/// ("Event loop stopped before Future completed.").
#[test]
fn tasks_base_task_stop_while_run_in_complete() {
    let lp = test_loop();
    let t0 = lp.time();
    let x = Rc::new(Cell::new(0));
    let (count, stopper) = (x.clone(), lp.clone_ref());
    let t = lp.create_task(async move {
        while count.get() < 10 {
            sleep(ms(100)).await;
            count.set(count.get() + 1);
            if count.get() == 2 {
                stopper.stop();
            }
        }
    });
    let view = t.as_any();
    let steps = lp.run_until_complete(async move {
        let _ = t.await;
    });
    assert!(matches!(steps, Err(RunError::Stopped)), "{steps:?}");
    assert_eq!(
        RunError::Stopped.to_string(),
        "Event loop stopped before Future completed."
    );
    assert!(!view.done());
    assert_eq!(x.get(), 2);
    // CPython's test loop reads 0.3 (its time generator); aloop's clock stops at 0.2.
    let t = elapsed(&lp, t0);
    assert!((0.2..=0.3 + 1e-6).contains(&t), "{t}");
    view.cancel();
    lp.run_until_complete(async {
        tick().await;
    })
    .unwrap();
    assert!(view.cancelled());
    lp.close().unwrap();
}

/// Awaiting a task that is cancelled meanwhile gives `Err(Cancelled)` to the awaiter.
#[aloop::test(virtual_time)]
async fn tasks_base_task_task_cancel_sleeping_task() {
    let lp = get_running_loop().unwrap();
    let t0 = lp.time();
    let sleeper = create_task(sleep(secs(5000)));
    let canceller = sleeper.as_any();
    lp.call_later(ms(100), move || {
        canceller.cancel();
    })
    .unwrap();
    let outcome = match sleeper.await {
        Err(TaskError::Cancelled) => "cancelled",
        _ => "slept in",
    };
    assert_eq!(outcome, "cancelled");
    assert_time(0.1, elapsed(&lp, t0));
}

#[aloop::test]
async fn tasks_base_task_task_cancel_waiter_future() {
    let fut = get_running_loop().unwrap().create_future::<()>();
    let awaited = fut.clone();
    let task = create_task(awaited);
    tick().await;
    task.cancel();
    tick().await;
    assert!(task.await.unwrap_err().is_cancelled());
    assert!(fut.cancelled());
}

/// Deliberate difference (A19): asyncio lets SystemExit raised in the cancellation
/// handler escape the loop; in aloop it is the task's panic, the task ends failed (not
/// cancelled), and the loop runs on.
#[aloop::test(virtual_time)]
async fn tasks_base_task_baseexception_during_cancel() {
    let task = create_task(async {
        let on_cancel = IfCancelled::new(|| panic!("SystemExit"));
        sleep(secs(10)).await;
        on_cancel.finish();
    });
    tick().await;
    task.cancel();
    assert!(!task.done());
    tick().await;
    assert!(task.done());
    assert!(!task.cancelled());
    match task.exception().unwrap() {
        Some(TaskError::Panicked(p)) => assert_eq!(p.message(), "SystemExit"),
        other => panic!("expected the panic, got {other:?}"),
    }
}

/// Cancelling `outer()` cancels `inner()`, which cancels the future it waits on; both
/// `except CancelledError` clauses run (proof 101). Deliberate difference: asyncio's
/// outer catches the cancellation and returns normally; in aloop the task ends
/// cancelled.
#[aloop::test]
async fn tasks_base_task_yield_future_passes_cancel() {
    let proof = Rc::new(Cell::new(0));
    let waiter = get_running_loop().unwrap().create_future::<()>();
    let (p, w) = (proof.clone(), waiter.clone());
    let f = create_task(async move {
        let p2 = p.clone();
        let outer_cancelled = IfCancelled::new(move || p.set(p.get() + 100));
        let inner = async move {
            let inner_cancelled = IfCancelled::new(move || p2.set(p2.get() + 1));
            let _ = w.await;
            inner_cancelled.finish();
            panic!("got past the waiter in inner()");
        };
        inner.await;
        outer_cancelled.finish();
    });
    tick().await;
    f.cancel();
    assert!(f.await.unwrap_err().is_cancelled());
    assert_eq!(proof.get(), 101);
    assert!(waiter.cancelled());
}

/// Cancelling a task that waits in `wait()` leaves the waited task running.
#[aloop::test]
async fn tasks_base_task_yield_wait_does_not_shield_cancel() {
    let proof = Rc::new(Cell::new(0));
    let waiter = get_running_loop().unwrap().create_future::<()>();
    let (p, w) = (proof.clone(), waiter.clone());
    let f = create_task(async move {
        let p2 = p.clone();
        let inner = create_task(async move {
            let _ = w.await;
            p2.set(p2.get() + 1);
        });
        aloop::wait([inner], aloop::ReturnWhen::AllCompleted, None).await;
        p.set(p.get() + 100);
    });
    tick().await;
    f.cancel();
    assert!(f.await.unwrap_err().is_cancelled());
    waiter.set_result(()).unwrap();
    tick().await;
    assert_eq!(proof.get(), 1);
}

/// The task running a gather is cancelled from a callback of the future its only child
/// awaits, after the child has finished. Deliberate difference (D4: a gather is not a
/// future apart from the task awaiting it): asyncio's gathering future refuses the
/// cancel once every child is done and gives `[42]`; aloop's task accepts it, as any
/// pending task does, and ends cancelled; the child has finished all the same.
#[aloop::test]
async fn tasks_base_task_cancel_gather_1() {
    let fut = get_running_loop().unwrap().create_future::<i32>();
    let awaited = fut.clone();
    let child = create_task(async move { awaited.await.unwrap() });
    let child_view = child.as_any();
    let gather_task = create_task(aloop::Gather::from_tasks([child]));
    let view = gather_task.as_any();
    tick().await;
    let cancel_result = Rc::new(Cell::new(None));
    let r = cancel_result.clone();
    fut.add_done_callback(move |_| r.set(Some(view.cancel())));
    fut.set_result(42).unwrap();
    assert!(gather_task.await.unwrap_err().is_cancelled());
    assert_eq!(cancel_result.get(), Some(true));
    assert!(child_view.done() && !child_view.cancelled());
}
