//! `BaseTaskTests` methods of CPython's test_tasks.py about `shield`, and the gather
//! tests (`GatherTestsBase`, `FutureGatherTests`, `CoroutineGatherTests`). Siblings:
//! `task.rs`, `cancel.rs`, `wait.rs`; the index is `main.rs`.
//!
//! `shield` takes a task (`shield(create_task(fut))` is asyncio's `shield(fut)`). In the
//! gather tests, a "future" child is a promise awaited as it is, whose failure
//! (`set_exception`) or cancellation is a value in its result; a "coroutine" child
//! awaits the promise and raises: a failure is a panic, a cancelled promise cancels the
//! child's task.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use aloop::{
    create_task, current_task, gather, gather_all, get_running_loop, new_event_loop, shield,
    Promise, TaskError,
};
use aloop_tests::cpython::{tick, ticks};
use aloop_tests::{record_exceptions, Log};

type P = Promise<Result<i32, &'static str>>;

fn promise() -> P {
    get_running_loop().unwrap().create_future()
}

#[aloop::test]
async fn tasks_base_task_shield_result() {
    let inner = promise();
    let outer = create_task(shield(create_task(inner.clone())));
    inner.set_result(Ok(42)).unwrap();
    assert_eq!(outer.await.unwrap().unwrap(), Ok(Ok(42)));
}

#[aloop::test]
async fn tasks_base_task_shield_exception() {
    let inner = promise();
    let outer = create_task(shield(create_task(inner.clone())));
    tick().await;
    inner.set_result(Err("RuntimeError")).unwrap();
    tick().await;
    assert_eq!(outer.await.unwrap().unwrap(), Ok(Err("RuntimeError")));
}

/// The shielded task is cancelled: whoever awaits the shield sees the cancellation.
#[aloop::test]
async fn tasks_base_task_shield_cancel_inner() {
    let inner = create_task(promise());
    let inner_view = inner.as_any();
    let outer = create_task(shield(inner));
    tick().await;
    inner_view.cancel();
    tick().await;
    assert!(outer.await.unwrap().unwrap_err().is_cancelled());
}

/// The task awaiting the shield is cancelled; the shielded task is not.
#[aloop::test]
async fn tasks_base_task_shield_cancel_outer() {
    let inner = create_task(promise());
    let inner_view = inner.as_any();
    let outer = create_task(shield(inner));
    let outer_view = outer.as_any();
    tick().await;
    outer.cancel();
    tick().await;
    assert!(outer_view.cancelled());
    assert!(!inner_view.done());
    inner_view.cancel();
}

#[aloop::test]
async fn tasks_base_task_shield_shortcut() {
    let fut = promise();
    fut.set_result(Ok(42)).unwrap();
    let done = create_task(fut);
    tick().await;
    assert!(done.done());
    assert_eq!(shield(done).await.unwrap(), Ok(Ok(42)));
}

/// Cancelling the outer task does not affect the shielded inner one.
#[aloop::test]
async fn tasks_base_task_shield_effect() {
    let proof = Rc::new(Cell::new(0));
    let waiter = promise();
    let (p, w) = (proof.clone(), waiter.clone());
    let outer = create_task(async move {
        let p2 = p.clone();
        let inner = create_task(async move {
            let _ = w.await;
            p2.set(p2.get() + 1);
        });
        let _ = shield(inner).await;
        p.set(p.get() + 100);
    });
    tick().await;
    outer.cancel();
    assert!(outer.await.unwrap_err().is_cancelled());
    waiter.set_result(Ok(0)).unwrap();
    tick().await;
    assert_eq!(proof.get(), 1);
}

/// A shielded gather: cancelling the outer task leaves the gather to finish.
#[aloop::test]
async fn tasks_base_task_shield_gather() {
    let (child1, child2) = (promise(), promise());
    let parent = create_task(gather([child1.clone(), child2.clone()]));
    let result = Rc::new(RefCell::new(None));
    let r = result.clone();
    parent.add_done_callback(move |t| *r.borrow_mut() = Some(t.result().unwrap()));
    let parent_view = parent.as_any();
    let outer = create_task(shield(parent));
    let outer_view = outer.as_any();
    tick().await;
    outer.cancel();
    tick().await;
    assert!(outer_view.cancelled());
    assert!(!parent_view.done(), "{parent_view:?}");
    child1.set_result(Ok(1)).unwrap();
    child2.set_result(Ok(2)).unwrap();
    // The children, the gather's task, then its done callback.
    ticks(6).await;
    assert!(parent_view.done() && !parent_view.cancelled());
    let gathered = result.borrow_mut().take().expect("the gather finished");
    assert_eq!(gathered.unwrap().unwrap(), [Ok(Ok(1)), Ok(Ok(2))]);
}

/// A gather of two shields: cancelling the gather's task cancels the shields' tasks, not
/// the shielded ones. (asyncio's gather ends done with CancelledError; aloop's task
/// awaiting it ends cancelled, D4.)
#[aloop::test]
async fn tasks_base_task_gather_shield() {
    let (child1, child2) = (promise(), promise());
    let (t1, t2) = (create_task(child1.clone()), create_task(child2.clone()));
    let (shielded1, shielded2) = (t1.as_any(), t2.as_any());
    let inner1 = create_task(shield(t1));
    let inner2 = create_task(shield(t2));
    let (inner1_view, inner2_view) = (inner1.as_any(), inner2.as_any());
    let parent = create_task(aloop::Gather::from_tasks([inner1, inner2]));
    tick().await;
    parent.cancel();
    tick().await;
    assert!(parent.await.unwrap_err().is_cancelled());
    ticks(2).await;
    assert!(inner1_view.cancelled() && inner2_view.cancelled());
    assert!(!shielded1.cancelled() && !shielded2.cancelled());
    child1.set_result(Ok(1)).unwrap();
    child2.set_result(Ok(2)).unwrap();
    tick().await;
    assert!(shielded1.done() && shielded2.done());
}

/// The two kinds of gather child, as boxed futures of one type.
type Child = Pin<Box<dyn Future<Output = Result<i32, &'static str>>>>;

/// A "future" child: the promise itself; a failure or a cancellation is a value.
fn future_child(p: &P) -> Child {
    let p = p.clone();
    Box::pin(async move { p.await.unwrap_or(Err("cancelled")) })
}

/// A "coroutine" child: `return await fut`; a failure panics, a cancellation cancels
/// the child's own task.
fn coroutine_child(p: &P) -> Child {
    let p = p.clone();
    Box::pin(async move {
        match p.await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(exc)) => panic!("{exc}"),
            Err(aloop::Cancelled) => {
                current_task().unwrap().unwrap().cancel();
                std::future::pending().await
            }
        }
    })
}

/// What a gather of children returned, with failures by name: `Err("ZeroDivisionError")`
/// for a panic, `Err("cancelled")` for a cancelled child.
fn outcomes(
    results: Vec<Result<Result<i32, &'static str>, TaskError>>,
) -> Vec<Result<i32, String>> {
    results
        .into_iter()
        .map(|r| match r {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(e.to_string()),
            Err(TaskError::Cancelled) => Err("cancelled".into()),
            Err(TaskError::Panicked(p)) => Err(p.message().to_string()),
        })
        .collect()
}

/// CPython's `_check_success`: the gather is not done until its last child is, then
/// gives the results in argument order; its done callback runs once.
async fn check_success(child: fn(&P) -> Child, return_exceptions: bool) {
    let (a, b, c) = (promise(), promise(), promise());
    let children = [child(&a), child(&b), child(&c)];
    let calls = Rc::new(Cell::new(0));
    let fut = create_task(async move {
        if return_exceptions {
            outcomes(gather_all(children).await)
        } else {
            outcomes(
                gather(children)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(Ok)
                    .collect(),
            )
        }
    });
    let counter = calls.clone();
    fut.add_done_callback(move |_| counter.set(counter.get() + 1));
    b.set_result(Ok(1)).unwrap();
    a.set_result(Ok(2)).unwrap();
    ticks(5).await;
    assert_eq!(calls.get(), 0);
    assert!(!fut.done());
    c.set_result(Ok(3)).unwrap();
    ticks(5).await;
    assert_eq!(calls.get(), 1);
    assert_eq!(fut.await.unwrap(), [Ok(2), Ok(1), Ok(3)]);
}

#[aloop::test]
async fn tasks_future_gather_success() {
    check_success(future_child, false).await;
}

#[aloop::test]
async fn tasks_coroutine_gather_success() {
    check_success(coroutine_child, false).await;
}

#[aloop::test]
async fn tasks_future_gather_result_exception_success() {
    check_success(future_child, true).await;
}

#[aloop::test]
async fn tasks_coroutine_gather_result_exception_success() {
    check_success(coroutine_child, true).await;
}

/// The first failure ends the gather at once; later outcomes change nothing, and the
/// later failure is not reported.
#[aloop::test]
async fn tasks_coroutine_gather_one_exception() {
    let log = Log::new();
    record_exceptions(&get_running_loop().unwrap(), &log);
    let ps: Vec<P> = (0..5).map(|_| promise()).collect();
    let fut = create_task(gather(ps.iter().map(coroutine_child)));
    let calls = Rc::new(Cell::new(0));
    let counter = calls.clone();
    fut.add_done_callback(move |_| counter.set(counter.get() + 1));
    ps[0].set_result(Ok(1)).unwrap();
    ps[1].set_result(Err("ZeroDivisionError")).unwrap();
    ticks(5).await;
    assert!(fut.done());
    assert_eq!(calls.get(), 1);
    match fut.result().unwrap() {
        Ok(Err(TaskError::Panicked(p))) => assert_eq!(p.message(), "ZeroDivisionError"),
        other => panic!("expected the failure, got {other:?}"),
    }
    ps[2].set_result(Ok(3)).unwrap();
    ps[3].cancel();
    ps[4].set_result(Err("RuntimeError")).unwrap();
    ticks(5).await;
    assert_eq!(calls.get(), 1);
    // The later failure counts as seen, as asyncio's `e.exception()` makes it.
    assert!(log.is_empty(), "{:?}", log.events());
}

/// Deliberate difference (B3): a failure set in a promise is a value, so a gather of
/// promises is not failed by it: it waits for every child and gives the failure in place.
#[aloop::test]
async fn tasks_future_gather_one_exception() {
    let ps: Vec<P> = (0..5).map(|_| promise()).collect();
    let fut = create_task(gather(ps.iter().map(future_child)));
    ps[0].set_result(Ok(1)).unwrap();
    ps[1].set_result(Err("ZeroDivisionError")).unwrap();
    ticks(5).await;
    assert!(!fut.done());
    ps[2].set_result(Ok(3)).unwrap();
    ps[3].cancel();
    ps[4].set_result(Err("RuntimeError")).unwrap();
    let results = fut.await.unwrap().unwrap();
    assert_eq!(
        results,
        [
            Ok(1),
            Err("ZeroDivisionError"),
            Ok(3),
            Err("cancelled"),
            Err("RuntimeError")
        ]
    );
}

/// `return_exceptions`: every outcome in argument order, failures in place.
async fn check_return_exceptions(child: fn(&P) -> Child) {
    let (a, b, c, d) = (promise(), promise(), promise(), promise());
    let fut = create_task(gather_all([child(&a), child(&b), child(&c), child(&d)]));
    b.set_result(Ok(1)).unwrap();
    c.set_result(Err("ZeroDivisionError")).unwrap();
    a.set_result(Ok(3)).unwrap();
    ticks(5).await;
    assert!(!fut.done());
    d.set_result(Err("RuntimeError")).unwrap();
    ticks(5).await;
    assert!(fut.done());
    assert_eq!(
        outcomes(fut.await.unwrap()),
        [
            Ok(3),
            Ok(1),
            Err("ZeroDivisionError".into()),
            Err("RuntimeError".into())
        ]
    );
}

#[aloop::test]
async fn tasks_future_gather_return_exceptions() {
    check_return_exceptions(future_child).await;
}

#[aloop::test]
async fn tasks_coroutine_gather_return_exceptions() {
    check_return_exceptions(coroutine_child).await;
}

#[aloop::test]
async fn tasks_future_gather_constructor_empty_sequence_use_running_loop() {
    let empty: Vec<P> = Vec::new();
    assert!(gather(empty).await.unwrap().is_empty());
}

/// C20, a deliberate difference: the children may be promises of different loops on the
/// same thread (asyncio: ValueError).
#[aloop::test]
async fn tasks_future_gather_constructor_heterogenous_futures() {
    let other = new_event_loop();
    let fut1 = promise();
    let fut2: P = other.create_future();
    fut1.set_result(Ok(1)).unwrap();
    fut2.set_result(Ok(2)).unwrap();
    let results = gather([fut1, fut2]).await.unwrap();
    assert_eq!(results, [Ok(Ok(1)), Ok(Ok(2))]);
    other.close().unwrap();
}

/// Deliberate difference: a cancelled promise is a value (`Err(Cancelled)`), so it does
/// not end a gather of promises (asyncio ends it with CancelledError as its exception).
#[aloop::test]
async fn tasks_future_gather_one_cancellation() {
    let ps: Vec<P> = (0..5).map(|_| promise()).collect();
    let fut = create_task(gather(ps.iter().map(future_child)));
    ps[0].set_result(Ok(1)).unwrap();
    ps[1].cancel();
    ticks(5).await;
    assert!(!fut.done());
    ps[2].set_result(Ok(3)).unwrap();
    ps[3].cancel();
    ps[4].set_result(Err("RuntimeError")).unwrap();
    let results = fut.await.unwrap().unwrap();
    assert_eq!(
        results,
        [
            Ok(1),
            Err("cancelled"),
            Ok(3),
            Err("cancelled"),
            Err("RuntimeError")
        ]
    );
}

#[aloop::test]
async fn tasks_future_gather_result_exception_one_cancellation() {
    let ps: Vec<P> = (0..6).map(|_| promise()).collect();
    let fut = create_task(gather_all(ps.iter().map(future_child)));
    ps[0].set_result(Ok(1)).unwrap();
    ps[1].set_result(Err("ZeroDivisionError")).unwrap();
    ps[2].cancel();
    ticks(5).await;
    assert!(!fut.done());
    ps[3].set_result(Ok(3)).unwrap();
    ps[4].cancel();
    ps[5].set_result(Err("RuntimeError")).unwrap();
    assert_eq!(
        outcomes(fut.await.unwrap()),
        [
            Ok(1),
            Err("ZeroDivisionError".into()),
            Err("cancelled".into()),
            Ok(3),
            Err("cancelled".into()),
            Err("RuntimeError".into())
        ]
    );
}

/// Cancelling the task awaiting a gather cancels its children and what they await (D4).
#[aloop::test]
async fn tasks_coroutine_gather_cancellation_broadcast() {
    let proof = Rc::new(Cell::new(0));
    let waiter = promise();
    let inner = || {
        let (p, w) = (proof.clone(), waiter.clone());
        create_task(async move {
            let _ = w.await;
            p.set(p.get() + 1);
        })
    };
    let (child1, child2) = (inner(), inner());
    let (v1, v2) = (child1.as_any(), child2.as_any());
    let p = proof.clone();
    let f = create_task(async move {
        let _ = aloop::Gather::from_tasks([child1, child2]).await;
        p.set(p.get() + 100);
    });
    tick().await;
    assert!(f.cancel());
    assert!(f.await.unwrap_err().is_cancelled());
    tick().await;
    assert!(waiter.cancelled());
    assert!(v1.cancelled() && v2.cancelled());
    tick().await;
    assert_eq!(proof.get(), 0);
}

/// The first child's failure fails the gather; the second's, later, counts as seen
/// (asyncio marks it retrieved): nothing is reported to the exception handler.
#[aloop::test]
async fn tasks_coroutine_gather_exception_marking() {
    let log = Log::new();
    record_exceptions(&get_running_loop().unwrap(), &log);
    let (a, b) = (promise(), promise());
    let inner = |p: &P| {
        let p = p.clone();
        async move {
            let _ = p.await;
            panic!("RuntimeError");
        }
    };
    let children = [inner(&a), inner(&b)];
    let f = create_task(async move { gather(children).await.map(|_| ()) });
    tick().await;
    a.set_result(Ok(0)).unwrap();
    tick().await;
    b.set_result(Ok(0)).unwrap();
    ticks(3).await;
    match f.await.unwrap() {
        Err(TaskError::Panicked(p)) => assert_eq!(p.message(), "RuntimeError"),
        other => panic!("expected the failure, got {other:?}"),
    }
    ticks(3).await;
    assert!(log.is_empty(), "{:?}", log.events());
}
