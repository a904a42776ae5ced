//! `test_taskgroup_no_create_task_after_failure` to the end of CPython's
//! test_taskgroups.py: tasks offered to a group that is failing, finished or not
//! entered, the parent task's cancellation counter, names, and cancellation that must
//! not leak out of a group. Sibling: `lifecycle.rs`; the index is `main.rs`.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use aloop::{
    create_task, current_task, get_running_loop, sleep, task_group, AnyTask, Event, TaskGroup,
};
use aloop_tests::cpython::{tick, IfCancelled};
use aloop_tests::{record_exceptions, Defer, Log};

use super::{crash_after, error_types, ms, secs, types};

fn cancelling_now() -> u32 {
    current_task().unwrap().unwrap().cancelling()
}

/// A task offered to a group, and whether its future ran and was dropped.
type Offered = (AnyTask, Rc<Cell<bool>>, Rc<Cell<bool>>);

/// Offers a task to `tg` whose future records whether it ran and whether it was dropped.
fn offer(tg: &TaskGroup) -> Offered {
    let ran = Rc::new(Cell::new(false));
    let dropped = Rc::new(Cell::new(false));
    let (r, d) = (ran.clone(), dropped.clone());
    let on_drop = Defer(move || d.set(true));
    let task = tg.create_task(async move {
        let _on_drop = on_drop;
        r.set(true);
        crash_after(ms(1), "ZeroDivisionError").await;
    });
    (task.as_any(), ran, dropped)
}

/// Deliberate difference (aloop's TaskGroup docs): a task offered to a failing group is
/// returned already cancelled and its future never runs; asyncio raises RuntimeError.
async fn taskgroup_no_create_task_after_failure() {
    let late: Rc<RefCell<Option<Offered>>> = Rc::default();
    let slot = late.clone();
    let err = task_group(|g| async move {
        g.create_task(crash_after(ms(1), "ZeroDivisionError"));
        let group = g.clone();
        g.create_task(async move {
            let cancelled = IfCancelled::new(move || *slot.borrow_mut() = Some(offer(&group)));
            sleep(secs(1)).await;
            cancelled.finish();
        });
    })
    .await
    .unwrap_err();
    assert_eq!(error_types(&err), types(&["ZeroDivisionError"]));
    assert_eq!(err.errors().len(), 1);
    let (task, ran, dropped) = late.borrow_mut().take().expect("coro2 was cancelled");
    tick().await;
    assert!(task.cancelled());
    assert!(!ran.get());
    assert!(dropped.get());
}
both_loops!(taskgroup_no_create_task_after_failure:
    taskgroups_task_group_taskgroup_no_create_task_after_failure,
    taskgroups_eager_task_task_group_taskgroup_no_create_task_after_failure);

/// A context manager inside the body raises on exit while a child raises too: both
/// failures are in the group, and the parent task's cancellation count is untouched.
async fn taskgroup_context_manager_exit_raises() {
    let main = create_task(async {
        let err = task_group(|tg| async move {
            let _database = Defer(|| panic!("CustomException"));
            tg.create_task(async { panic!("CustomException") });
            sleep(secs(1)).await;
        })
        .await
        .unwrap_err();
        assert_eq!(cancelling_now(), 0);
        assert_eq!(err.errors().len(), 2);
        assert_eq!(error_types(&err), types(&["CustomException"]));
    });
    main.await.unwrap();
}
both_loops!(taskgroup_context_manager_exit_raises:
    taskgroups_task_group_taskgroup_context_manager_exit_raises,
    taskgroups_eager_task_task_group_taskgroup_context_manager_exit_raises);

/// Deliberate difference, as `test_taskgroup_no_create_task_after_failure`: a task
/// offered to a finished group is returned cancelled and its future is dropped unrun
/// (asyncio raises RuntimeError and closes the coroutine).
async fn taskgroup_finished() {
    let mut kept = None;
    task_group(|tg| {
        kept = Some(tg.clone());
        async {}
    })
    .await
    .unwrap();
    let (task, ran, dropped) = offer(&kept.unwrap());
    tick().await;
    assert!(task.cancelled());
    assert!(!ran.get());
    assert!(dropped.get());
}
both_loops!(taskgroup_finished:
    taskgroups_task_group_taskgroup_finished,
    taskgroups_eager_task_task_group_taskgroup_finished);

/// Deliberate difference (aloop's TaskGroup docs): `TaskGroup::new()` takes tasks before
/// it is joined, the form whose code before `join()` is not part of the group; asyncio
/// raises RuntimeError for a group not entered yet.
async fn taskgroup_not_entered() {
    let tg = TaskGroup::new();
    let t = tg.create_task(async {
        sleep(ms(10)).await;
        7
    });
    tg.join().await.unwrap();
    assert_eq!(t.await.unwrap(), 7);
}
both_loops!(taskgroup_not_entered:
    taskgroups_task_group_taskgroup_not_entered,
    taskgroups_eager_task_task_group_taskgroup_not_entered);

/// `test_taskgroup_finished` again, with the join form of a group.
async fn coro_closed_when_tg_closed() {
    let tg = TaskGroup::new();
    tg.clone().join().await.unwrap();
    let (task, ran, dropped) = offer(&tg);
    tick().await;
    assert!(task.cancelled());
    assert!(!ran.get());
    assert!(dropped.get());
}
both_loops!(coro_closed_when_tg_closed:
    taskgroups_task_group_coro_closed_when_tg_closed,
    taskgroups_eager_task_task_group_coro_closed_when_tg_closed);

async fn cancelling_level_preserved() {
    let err = task_group(|tg| async move {
        tg.create_task(crash_after(Duration::ZERO, "RuntimeError"));
    })
    .await
    .unwrap_err();
    assert_eq!(error_types(&err), types(&["RuntimeError"]));
    assert_eq!(cancelling_now(), 0);
}
both_loops!(cancelling_level_preserved:
    taskgroups_task_group_cancelling_level_preserved,
    taskgroups_eager_task_task_group_cancelling_level_preserved);

/// Deliberate difference: asyncio cancels the parent task when the outer group fails,
/// so after the inner group `cancelling()` is 1, the inner group's RuntimeError reaches
/// the body's `except*`, and the body goes on until its next await. aloop's outer group
/// drops the body instead, and the inner group with it: the code after the inner group
/// never runs, `cancelling()` stays 0 throughout, and the inner group's RuntimeError,
/// which nobody received, goes to the exception handler (it was silently lost before
/// commit 40570c9). The outer group fails with ValueError either way.
async fn nested_groups_both_cancelled() {
    let reports = Log::new();
    record_exceptions(&get_running_loop().unwrap(), &reports);
    let log = Log::new();
    let after = log.clone();
    let err = task_group(|outer| async move {
        let inner = task_group(|inner| async move {
            inner.create_task(crash_after(Duration::ZERO, "RuntimeError"));
            outer.create_task(crash_after(Duration::ZERO, "ValueError"));
        })
        .await;
        after.push(format!("after the inner group: {inner:?}"));
    })
    .await
    .unwrap_err();
    assert_eq!(error_types(&err), types(&["ValueError"]));
    log.assert_eq(&[]);
    assert_eq!(cancelling_now(), 0);
    reports
        .assert_eq(&["handler: TaskGroup exception was never retrieved: panicked: RuntimeError"]);
}
both_loops!(nested_groups_both_cancelled:
    taskgroups_task_group_nested_groups_both_cancelled,
    taskgroups_eager_task_task_group_nested_groups_both_cancelled);

/// A child fails while the parent task is being cancelled from outside: the task ends
/// cancelled, and neither sleep (in the group, after it) completes. asyncio also runs
/// the `except* RuntimeError:` block before the second sleep; aloop drops the task's
/// future at its next step, so nothing after the group runs (cancellation cannot be
/// caught).
async fn error_and_cancel() {
    let event = Rc::new(Event::new());
    let log = Log::new();
    let (ev, l) = (event.clone(), log.clone());
    let inner = async move {
        let l2 = l.clone();
        let group = task_group(|tg| async move {
            tg.create_task(async move {
                ev.set();
                tick().await;
                panic!("RuntimeError");
            });
            sleep(secs(1)).await;
            l2.push("sleep in group should have been cancelled");
        })
        .await;
        l.push(format!("after the group: {group:?}"));
        sleep(secs(1)).await;
        l.push("sleep after group should have been cancelled");
    };
    let t = create_task(inner);
    event.wait().await;
    assert_eq!(t.cancelling(), 0);
    t.cancel();
    assert_eq!(t.cancelling(), 1);
    let view = t.as_any();
    assert!(t.await.unwrap_err().is_cancelled());
    assert!(view.cancelled());
    log.assert_eq(&[]);
}
both_loops!(error_and_cancel:
    taskgroups_task_group_error_and_cancel,
    taskgroups_eager_task_task_group_error_and_cancel);

/// The name a task is given at creation (`name=`, here `TaskOptions`) is what it sees
/// as `current_task().get_name()`, also in an eager task's first step.
async fn name() {
    let name = Rc::new(RefCell::new(String::new()));
    let seen = name.clone();
    task_group(|tg| async move {
        let t = tg.create_task_with(
            async move {
                *seen.borrow_mut() = current_task().unwrap().unwrap().get_name();
            },
            aloop::TaskOptions::named("example name"),
        );
        assert_eq!(t.get_name(), "example name");
    })
    .await
    .unwrap();
    assert_eq!(*name.borrow(), "example name");
}
both_loops!(name:
    taskgroups_task_group_name,
    taskgroups_eager_task_task_group_name);

/// A child adds a failing task and then sleeps twice: the failure cancels it at one of
/// the sleeps. asyncio's child catches the CancelledError and records `ran`; an aloop
/// child cannot catch it, so its `except` clause records the cancellation instead.
async fn cancels_task_if_created_during_creation() {
    let cancelled = Rc::new(Cell::new(false));
    let finished = Rc::new(Cell::new(false));
    let (c, f) = (cancelled.clone(), finished.clone());
    let err = task_group(|tg| async move {
        let group = tg.clone();
        tg.create_task(async move {
            group.create_task(async { panic!("MyError") });
            let on_cancel = IfCancelled::new(move || c.set(true));
            tick().await; // eager tasks are cancelled here
            tick().await; // lazy ones here
            on_cancel.finish();
            f.set(true);
        });
    })
    .await
    .unwrap_err();
    assert!(cancelled.get());
    assert!(!finished.get());
    assert_eq!(error_types(&err), types(&["MyError"]));
}
both_loops!(cancels_task_if_created_during_creation:
    taskgroups_task_group_cancels_task_if_created_during_creation,
    taskgroups_eager_task_task_group_cancels_task_if_created_during_creation);

/// After a failed group the current task is not cancelled: it gets past the next await.
async fn cancellation_does_not_leak_out_of_tg() {
    let err = task_group(|tg| async move {
        tg.create_task(async { panic!("MyError") });
    })
    .await
    .unwrap_err();
    assert_eq!(error_types(&err), types(&["MyError"]));
    tick().await;
    assert_eq!(cancelling_now(), 0);
}
both_loops!(cancellation_does_not_leak_out_of_tg:
    taskgroups_task_group_cancellation_does_not_leak_out_of_tg,
    taskgroups_eager_task_task_group_cancellation_does_not_leak_out_of_tg);
