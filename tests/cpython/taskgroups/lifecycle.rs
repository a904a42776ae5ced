//! `test_taskgroup_01` to `test_taskgroup_12` of CPython's test_taskgroups.py: results,
//! failures of children and body, cancellation from outside. Siblings:
//! `nesting_and_growth.rs`, `misuse.rs`; the index and helpers are in `main.rs`.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

use aloop::{create_task, get_running_loop, sleep, task_group, AnyTask};
use aloop_tests::cpython::{ticks, IfCancelled};
use aloop_tests::{record_exceptions, Log};

use super::{bump, crash_after, error_types, finally_panics, ms, secs, types};

async fn taskgroup_01() {
    let (t1, t2) = task_group(|g| async move {
        let t1 = g.create_task(async {
            sleep(ms(100)).await;
            42
        });
        let t2 = g.create_task(async {
            sleep(ms(200)).await;
            11
        });
        (t1, t2)
    })
    .await
    .unwrap();
    assert_eq!(t1.result().unwrap().unwrap(), 42);
    assert_eq!(t2.result().unwrap().unwrap(), 11);
}
both_loops!(taskgroup_01:
    taskgroups_task_group_taskgroup_01,
    taskgroups_eager_task_task_group_taskgroup_01);

async fn taskgroup_02() {
    let (t1, t2) = task_group(|g| async move {
        let t1 = g.create_task(async {
            sleep(ms(100)).await;
            42
        });
        sleep(ms(150)).await;
        let t2 = g.create_task(async {
            sleep(ms(200)).await;
            11
        });
        (t1, t2)
    })
    .await
    .unwrap();
    assert_eq!(t1.result().unwrap().unwrap(), 42);
    assert_eq!(t2.result().unwrap().unwrap(), 11);
}
both_loops!(taskgroup_02:
    taskgroups_task_group_taskgroup_02,
    taskgroups_eager_task_task_group_taskgroup_02);

/// A child cancelled on its own is not a failure: the group goes on.
async fn taskgroup_03() {
    let (t1, t2) = task_group(|g| async move {
        let t1 = g.create_task(async {
            sleep(secs(1)).await;
            42
        });
        sleep(ms(150)).await;
        t1.cancel();
        let t2 = g.create_task(async {
            sleep(ms(200)).await;
            11
        });
        (t1, t2)
    })
    .await
    .unwrap();
    assert!(t1.cancelled());
    assert_eq!(t2.result().unwrap().unwrap(), 11);
}
both_loops!(taskgroup_03:
    taskgroups_task_group_taskgroup_03,
    taskgroups_eager_task_task_group_taskgroup_03);

async fn taskgroup_04() {
    let num = Rc::new(Cell::new(0));
    let t2_cancel = Rc::new(Cell::new(false));
    let t2: Rc<RefCell<Option<AnyTask>>> = Rc::default();
    let (n, c, slot) = (num.clone(), t2_cancel.clone(), t2.clone());
    let runner = async move {
        let n2 = n.clone();
        task_group(|g| async move {
            g.create_task(crash_after(ms(100), "ZeroDivisionError"));
            let foo2 = g.create_task(async move {
                let cancelled = IfCancelled::new(move || c.set(true));
                sleep(secs(1)).await;
                cancelled.finish();
                n2.set(n2.get() + 1);
            });
            *slot.borrow_mut() = Some(foo2.as_any());
        })
        .await?;
        n.set(n.get() + 10);
        Ok::<(), aloop::TaskGroupError>(())
    };
    let err = create_task(runner).await.unwrap().unwrap_err();
    assert_eq!(error_types(&err), types(&["ZeroDivisionError"]));
    assert_eq!(num.get(), 0);
    assert!(t2_cancel.get());
    assert!(t2.borrow().as_ref().unwrap().cancelled());
}
both_loops!(taskgroup_04:
    taskgroups_task_group_taskgroup_04,
    taskgroups_eager_task_task_group_taskgroup_04);

async fn cancel_children_on_child_error() {
    let num = Rc::new(Cell::new(0));
    let t2_cancel = Rc::new(Cell::new(false));
    let runner_cancel = Rc::new(Cell::new(false));
    let (n, c, rc) = (num.clone(), t2_cancel.clone(), runner_cancel.clone());
    let runner = async move {
        let n2 = n.clone();
        task_group(|g| async move {
            for _ in 0..3 {
                g.create_task(crash_after(ms(100), "ZeroDivisionError"));
            }
            g.create_task(async move {
                let cancelled = IfCancelled::new(move || c.set(true));
                sleep(secs(5)).await;
                cancelled.finish();
                n2.set(n2.get() + 1);
            });
            let cancelled = IfCancelled::new(move || rc.set(true));
            sleep(secs(10)).await;
            cancelled.finish();
        })
        .await?;
        n.set(n.get() + 10);
        Ok::<(), aloop::TaskGroupError>(())
    };
    let err = create_task(runner).await.unwrap().unwrap_err();
    // CPython notes that the three crashes may race: one to three of them are reported.
    assert!((1..=3).contains(&err.errors().len()));
    assert_eq!(error_types(&err), types(&["ZeroDivisionError"]));
    assert_eq!(num.get(), 0);
    assert!(t2_cancel.get());
    assert!(runner_cancel.get());
}
both_loops!(cancel_children_on_child_error:
    taskgroups_task_group_cancel_children_on_child_error,
    taskgroups_eager_task_task_group_cancel_children_on_child_error);

/// `runner()` of `test_cancellation` and `test_taskgroup_07`: five children that count
/// their cancellation, and (for 07) a body that waits and counts its own, by 10.
fn five_cancellable_children(
    num: &Rc<Cell<u32>>,
    body_waits: bool,
) -> impl Future<Output = Result<(), aloop::TaskGroupError>> + 'static {
    let num = num.clone();
    task_group(move |g| async move {
        for _ in 0..5 {
            let cancelled = IfCancelled::new(bump(&num, 1));
            g.create_task(async move {
                sleep(secs(5)).await;
                cancelled.finish();
            });
        }
        if body_waits {
            let cancelled = IfCancelled::new(bump(&num, 10));
            sleep(secs(10)).await;
            cancelled.finish();
        }
    })
}

async fn cancellation() {
    let num = Rc::new(Cell::new(0));
    let r = create_task(five_cancellable_children(&num, false));
    sleep(ms(100)).await;
    assert!(!r.done());
    r.cancel();
    assert!(r.await.unwrap_err().is_cancelled());
    assert_eq!(num.get(), 5);
}
both_loops!(cancellation:
    taskgroups_task_group_cancellation,
    taskgroups_eager_task_task_group_cancellation);

async fn taskgroup_07() {
    let num = Rc::new(Cell::new(0));
    let r = create_task(five_cancellable_children(&num, true));
    sleep(ms(100)).await;
    assert!(!r.done());
    r.cancel();
    assert!(r.await.unwrap_err().is_cancelled());
    assert_eq!(num.get(), 15);
}
both_loops!(taskgroup_07:
    taskgroups_task_group_taskgroup_07,
    taskgroups_eager_task_task_group_taskgroup_07);

/// Cancels `r` (which runs a group whose children raise in their `finally:`) and checks
/// aloop's outcome: `r` ends cancelled, and the `expected` panics of the children's
/// cleanup, which no group is left to collect, each reach the exception handler as a task
/// exception never retrieved.
///
/// Deliberate difference (cancellation cannot be caught): asyncio 3.13 raises those
/// failures out of `r` as an ExceptionGroup instead of the CancelledError. In aloop `r`'s
/// future, the group with it, is dropped at `r`'s next step, before any child has run its
/// cleanup, so nothing is left to turn the cancellation into a failure; the panics are
/// still reported, not lost.
async fn cancel_and_expect_reports<T: std::fmt::Debug + 'static>(
    r: aloop::Task<T>,
    expected: usize,
) {
    let lp = get_running_loop().unwrap();
    let log = Log::new();
    record_exceptions(&lp, &log);
    sleep(ms(100)).await;
    assert!(!r.done());
    r.cancel();
    assert!(r.await.unwrap_err().is_cancelled());
    ticks(5).await;
    let reports = log.events();
    assert_eq!(reports.len(), expected, "{reports:?}");
    for report in reports {
        assert!(
            report.contains("never retrieved") && report.contains("ZeroDivisionError"),
            "{report}"
        );
    }
}

async fn taskgroup_08() {
    let r = create_task(task_group(|g| async move {
        for _ in 0..5 {
            g.create_task(finally_panics("ZeroDivisionError"));
        }
        sleep(secs(10)).await;
    }));
    cancel_and_expect_reports(r, 5).await;
}
both_loops!(taskgroup_08:
    taskgroups_task_group_taskgroup_08,
    taskgroups_eager_task_task_group_taskgroup_08);

/// `runner()` of `test_taskgroup_09` / `_10`: two children, then the body raises
/// (after a sleep for 09). Returns the failure and the children.
async fn body_fails(sleep_first: bool) -> (aloop::TaskGroupError, Vec<AnyTask>) {
    let children: Rc<RefCell<Vec<AnyTask>>> = Rc::default();
    let seen = children.clone();
    let err = task_group(|g| async move {
        let t1 = g.create_task(async {
            sleep(secs(1)).await;
            42
        });
        let t2 = g.create_task(async {
            sleep(secs(2)).await;
            11
        });
        seen.borrow_mut().extend([t1.as_any(), t2.as_any()]);
        if sleep_first {
            sleep(ms(100)).await;
        }
        panic!("ZeroDivisionError");
    })
    .await
    .unwrap_err();
    let children = children.borrow().clone();
    (err, children)
}

async fn taskgroup_09() {
    let (err, children) = body_fails(true).await;
    assert_eq!(error_types(&err), types(&["ZeroDivisionError"]));
    assert!(children.iter().all(AnyTask::cancelled));
}
both_loops!(taskgroup_09:
    taskgroups_task_group_taskgroup_09,
    taskgroups_eager_task_task_group_taskgroup_09);

async fn taskgroup_10() {
    let (err, children) = body_fails(false).await;
    assert_eq!(error_types(&err), types(&["ZeroDivisionError"]));
    assert!(children.iter().all(AnyTask::cancelled));
}
both_loops!(taskgroup_10:
    taskgroups_task_group_taskgroup_10,
    taskgroups_eager_task_task_group_taskgroup_10);

/// Deliberate difference, as `test_taskgroup_08` (see `cancel_and_expect_reports`):
/// asyncio 3.13 raises ExceptionGroup(ExceptionGroup(ZeroDivisionError)).
async fn taskgroup_11() {
    let r = create_task(task_group(|_g1| async move {
        task_group(|g2| async move {
            for _ in 0..5 {
                g2.create_task(finally_panics("ZeroDivisionError"));
            }
            sleep(secs(10)).await;
        })
        .await
    }));
    cancel_and_expect_reports(r, 5).await;
}
both_loops!(taskgroup_11:
    taskgroups_task_group_taskgroup_11,
    taskgroups_eager_task_task_group_taskgroup_11);

/// Deliberate difference, as `test_taskgroup_08`.
async fn taskgroup_12() {
    let r = create_task(task_group(|g1| async move {
        g1.create_task(sleep(secs(10)));
        task_group(|g2| async move {
            for _ in 0..5 {
                g2.create_task(finally_panics("ZeroDivisionError"));
            }
            sleep(secs(10)).await;
        })
        .await
    }));
    cancel_and_expect_reports(r, 5).await;
}
both_loops!(taskgroup_12:
    taskgroups_task_group_taskgroup_12,
    taskgroups_eager_task_task_group_taskgroup_12);
