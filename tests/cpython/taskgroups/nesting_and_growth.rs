//! `test_taskgroup_13` to `test_taskgroup_task_context` of CPython's test_taskgroups.py:
//! nested groups, cleanup that fails, cancellation from outside, groups that grow while
//! they run. Siblings: `lifecycle.rs`, `misuse.rs`; the index and helpers are in
//! `main.rs`.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use aloop::{create_task, get_running_loop, sleep, task_group, TaskGroup};
use aloop_tests::cpython::IfCancelled;

use super::{bump, crash_after, error_types, finally_panics, ms, secs, types};

/// The outer group's failure cancels the body, and the inner group with it.
async fn taskgroup_13() {
    let r = create_task(task_group(|g1| async move {
        g1.create_task(crash_after(ms(100), "ValueError"));
        task_group(|g2| async move {
            g2.create_task(crash_after(secs(10), "ValueError"));
        })
        .await
    }));
    let err = r.await.unwrap().unwrap_err();
    assert_eq!(error_types(&err), types(&["ValueError"]));
    assert_eq!(err.errors().len(), 1);
}
both_loops!(taskgroup_13:
    taskgroups_task_group_taskgroup_13,
    taskgroups_eager_task_task_group_taskgroup_13);

/// The inner group's failure leaves the body: Python raises the inner ExceptionGroup out
/// of it; in Rust the body panics with the inner `TaskGroupError` as payload, so the
/// outer group holds the inner one.
async fn taskgroup_14() {
    let r = create_task(task_group(|g1| async move {
        g1.create_task(crash_after(secs(10), "ValueError"));
        let inner = task_group(|g2| async move {
            g2.create_task(crash_after(ms(100), "ValueError"));
        })
        .await;
        if let Err(inner) = inner {
            std::panic::panic_any(inner);
        }
    }));
    let err = r.await.unwrap().unwrap_err();
    assert_eq!(err.errors().len(), 1);
    let inner = err.errors()[0].take().unwrap();
    let inner = inner.downcast::<aloop::TaskGroupError>().unwrap();
    assert_eq!(error_types(&inner), types(&["ValueError"]));
}
both_loops!(taskgroup_14:
    taskgroups_task_group_taskgroup_14,
    taskgroups_eager_task_task_group_taskgroup_14);

async fn taskgroup_17() {
    let num = Rc::new(Cell::new(0));
    let cancelled = IfCancelled::new(bump(&num, 10));
    let r = create_task(task_group(|_g| async move {
        sleep(secs(10)).await;
        cancelled.finish();
    }));
    sleep(ms(100)).await;
    assert!(!r.done());
    r.cancel();
    assert!(r.await.unwrap_err().is_cancelled());
    assert_eq!(num.get(), 10);
}
both_loops!(taskgroup_17:
    taskgroups_task_group_taskgroup_17,
    taskgroups_eager_task_task_group_taskgroup_17);

/// The body answers its cancellation with an exception (`raise MyExc` in `except
/// CancelledError`). Deliberate difference: asyncio collects it into an ExceptionGroup;
/// in aloop the group is dropped with `r`'s future, so the panic of the body's cleanup
/// is `r`'s own failure, which its awaiter sees.
async fn taskgroup_18() {
    let num = Rc::new(Cell::new(0));
    let count = bump(&num, 10);
    let cancelled = IfCancelled::new(move || {
        count();
        panic!("MyExc");
    });
    let r = create_task(task_group(|_g| async move {
        sleep(secs(10)).await;
        cancelled.finish();
    }));
    sleep(ms(100)).await;
    assert!(!r.done());
    r.cancel();
    match r.await {
        Err(aloop::TaskError::Panicked(panic)) => assert_eq!(panic.message(), "MyExc"),
        other => panic!("expected the MyExc panic, got {other:?}"),
    }
    assert_eq!(num.get(), 10);
}
both_loops!(taskgroup_18:
    taskgroups_task_group_taskgroup_18,
    taskgroups_eager_task_task_group_taskgroup_18);

/// `runner()` of tests 19, 20a and 21a: a child raising `child_exc` after 0.1 s while the
/// body awaits `nested()`, whose `finally:` raises `finally_exc`.
async fn nested_finally_raises(child_exc: &'static str, finally_exc: &'static str) {
    let err = task_group(|g| async move {
        g.create_task(crash_after(ms(100), child_exc));
        finally_panics(finally_exc).await;
    })
    .await
    .unwrap_err();
    assert_eq!(error_types(&err), types(&[child_exc, finally_exc]));
}

async fn taskgroup_19() {
    let r = create_task(nested_finally_raises("ZeroDivisionError", "MyExc"));
    r.await.unwrap();
}
both_loops!(taskgroup_19:
    taskgroups_task_group_taskgroup_19,
    taskgroups_eager_task_task_group_taskgroup_19);

/// `MyBaseExc` is a BaseException in Python; every panic is alike in Rust, so this is
/// test 19 awaited in place.
async fn taskgroup_20a() {
    nested_finally_raises("ZeroDivisionError", "MyBaseExc").await;
}
both_loops!(taskgroup_20a:
    taskgroups_task_group_taskgroup_20a,
    taskgroups_eager_task_task_group_taskgroup_20a);

async fn taskgroup_21a() {
    nested_finally_raises("MyBaseExc", "TypeError").await;
}
both_loops!(taskgroup_21a:
    taskgroups_task_group_taskgroup_21a,
    taskgroups_eager_task_task_group_taskgroup_21a);

async fn taskgroup_22() {
    let r = create_task(task_group(|g| async move {
        g.create_task(async {
            sleep(secs(1)).await;
            42
        });
        g.create_task(async {
            sleep(secs(2)).await;
            11
        });
    }));
    sleep(ms(50)).await;
    r.cancel();
    assert!(r.await.unwrap_err().is_cancelled());
}
both_loops!(taskgroup_22:
    taskgroups_task_group_taskgroup_22,
    taskgroups_eager_task_task_group_taskgroup_22);

/// Finished children leave the group (asyncio's private `_tasks`; `len()` here).
async fn taskgroup_23() {
    task_group(|g| async move {
        for count in 0..10 {
            sleep(ms(100)).await;
            g.create_task(sleep(ms(300)));
            if count == 5 {
                assert!(g.len() < 5, "{}", g.len());
            }
        }
        sleep(ms(1350)).await;
        assert_eq!(g.len(), 0);
    })
    .await
    .unwrap();
}
both_loops!(taskgroup_23:
    taskgroups_task_group_taskgroup_23,
    taskgroups_eager_task_task_group_taskgroup_23);

/// A child adds tasks to its own group; the group waits for them too (CPython only
/// checks that nothing fails; the elapsed virtual time shows the waiting).
async fn taskgroup_24() {
    let lp = get_running_loop().unwrap();
    let t0 = lp.time();
    task_group(|g| async move {
        let group = g.clone();
        g.create_task(async move {
            sleep(ms(100)).await;
            group.create_task(sleep(ms(100)));
            group.create_task(sleep(ms(200)));
        });
    })
    .await
    .unwrap();
    assert!(lp.time() - t0 >= ms(300));
}
both_loops!(taskgroup_24:
    taskgroups_task_group_taskgroup_24,
    taskgroups_eager_task_task_group_taskgroup_24);

/// `hydra(g)`: counts itself, sleeps 10 ms, then adds two more hydras to the group.
fn hydra(g: TaskGroup, heads: Rc<Cell<u32>>) -> Pin<Box<dyn Future<Output = ()>>> {
    Box::pin(async move {
        heads.set(heads.get() + 1);
        sleep(ms(10)).await;
        let (again, more) = (g.clone(), heads.clone());
        g.create_task(hydra(again, more));
        g.create_task(hydra(g.clone(), heads));
    })
}

async fn taskgroup_25() {
    let heads = Rc::new(Cell::new(0));
    let h = heads.clone();
    let err = task_group(|g| async move {
        g.create_task(hydra(g.clone(), h.clone()));
        g.create_task(async move {
            while h.get() < 10 {
                sleep(ms(15)).await;
            }
            panic!("ZeroDivisionError");
        });
    })
    .await
    .unwrap_err();
    assert_eq!(error_types(&err), types(&["ZeroDivisionError"]));
    assert!(heads.get() >= 10);
}
both_loops!(taskgroup_25:
    taskgroups_task_group_taskgroup_25,
    taskgroups_eager_task_task_group_taskgroup_25);

/// `create_task(coro, name=)` is `create_task` then `set_name`.
async fn taskgroup_task_name() {
    task_group(|g| async move {
        let t = g.create_task(sleep(std::time::Duration::ZERO));
        t.set_name("yolo");
        assert_eq!(t.get_name(), "yolo");
    })
    .await
    .unwrap();
}
both_loops!(taskgroup_task_name:
    taskgroups_task_group_taskgroup_task_name,
    taskgroups_eager_task_task_group_taskgroup_task_name);
