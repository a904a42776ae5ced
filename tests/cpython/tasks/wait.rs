//! `BaseTaskTests` methods of CPython's test_tasks.py about `wait` and `as_completed`,
//! on virtual time (CPython's `TestLoop`). Siblings: `task.rs`, `cancel.rs`,
//! `shield_gather.rs`; the index is `main.rs`.
//!
//! `wait` takes tasks (the same output type) and hands them back in `(done, pending)`;
//! tasks are told apart by their `as_any()` id.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use aloop::{
    as_completed, create_task, get_running_loop, sleep, wait, AnyTask, ReturnWhen, Task,
    TimeoutError,
};
use aloop_tests::cpython::tick;

use super::{assert_time, elapsed, ms, secs};

/// The ids of `tasks`, to compare `done` / `pending` with the tasks made.
fn ids<T: 'static>(tasks: &[Task<T>]) -> BTreeSet<u64> {
    tasks.iter().map(|t| t.as_any().id()).collect()
}

fn id_set(views: &[&AnyTask]) -> BTreeSet<u64> {
    views.iter().map(|v| v.id()).collect()
}

/// `new_task(loop, asyncio.sleep(d))`.
fn sleeper(d: std::time::Duration) -> Task<()> {
    create_task(sleep(d))
}

/// Waiting for all, twice: the second wait, on tasks already done, takes no time.
#[aloop::test(virtual_time)]
async fn tasks_base_task_wait() {
    let lp = get_running_loop().unwrap();
    let t0 = lp.time();
    let (a, b) = (sleeper(ms(100)), sleeper(ms(150)));
    let expected = id_set(&[&a.as_any(), &b.as_any()]);
    let (done, pending) = wait([b, a], ReturnWhen::AllCompleted, None).await;
    assert_eq!(ids(&done), expected);
    assert!(pending.is_empty());
    assert_time(0.15, elapsed(&lp, t0));
    let (done, pending) = wait(done, ReturnWhen::AllCompleted, None).await;
    assert_eq!((done.len(), pending.len()), (2, 0));
    assert_time(0.15, elapsed(&lp, t0));
}

/// Deliberate difference (mapping doc): `wait` on nothing returns two empty lists at once
/// (asyncio: ValueError). An invalid `return_when` cannot be written (an enum).
#[aloop::test]
async fn tasks_base_task_wait_errors() {
    let (done, pending) = wait(Vec::<Task<()>>::new(), ReturnWhen::AllCompleted, None).await;
    assert!(done.is_empty() && pending.is_empty());
}

#[aloop::test(virtual_time)]
async fn tasks_base_task_wait_first_completed() {
    let lp = get_running_loop().unwrap();
    let t0 = lp.time();
    let (a, b) = (sleeper(secs(10)), sleeper(ms(100)));
    let (va, vb) = (a.as_any(), b.as_any());
    let (done, pending) = wait([b, a], ReturnWhen::FirstCompleted, None).await;
    assert_eq!(ids(&done), id_set(&[&vb]));
    assert_eq!(ids(&pending), id_set(&[&va]));
    assert!(!va.done());
    assert!(vb.done());
    done[0].result().unwrap().unwrap();
    assert_time(0.1, elapsed(&lp, t0));
}

/// Tasks that finish in the same iteration as the first one are in `done` too.
#[aloop::test]
async fn tasks_base_task_wait_really_done() {
    let a = create_task(async {
        tick().await;
    });
    let b = create_task(async {
        tick().await;
        tick().await;
    });
    let (done, pending) = wait([b, a], ReturnWhen::FirstCompleted, None).await;
    assert_eq!(
        (done.len(), pending.len()),
        (2, 0),
        "b finished before wait looked"
    );
    for t in &done {
        t.result().unwrap().unwrap();
    }
}

/// A task that has already failed ends a FIRST_EXCEPTION wait at once.
#[aloop::test(virtual_time)]
async fn tasks_base_task_wait_first_exception() {
    let lp = get_running_loop().unwrap();
    let t0 = lp.time();
    let a = sleeper(secs(10));
    let b = create_task(async { panic!("ZeroDivisionError") });
    let (va, vb) = (a.as_any(), b.as_any());
    let (done, pending) = wait([b, a], ReturnWhen::FirstException, None).await;
    assert_eq!(ids(&done), id_set(&[&vb]));
    assert_eq!(ids(&pending), id_set(&[&va]));
    assert_time(0.0, elapsed(&lp, t0));
}

#[aloop::test(virtual_time)]
async fn tasks_base_task_wait_first_exception_in_wait() {
    let lp = get_running_loop().unwrap();
    let t0 = lp.time();
    let a = sleeper(secs(10));
    let b = create_task(async {
        sleep(ms(10)).await;
        panic!("ZeroDivisionError");
    });
    let (va, vb) = (a.as_any(), b.as_any());
    let (done, pending) = wait([b, a], ReturnWhen::FirstException, None).await;
    assert_eq!(ids(&done), id_set(&[&vb]));
    assert_eq!(ids(&pending), id_set(&[&va]));
    assert_time(0.01, elapsed(&lp, t0));
}

#[aloop::test(virtual_time)]
async fn tasks_base_task_wait_with_exception() {
    let lp = get_running_loop().unwrap();
    let t0 = lp.time();
    let a = sleeper(ms(100));
    let b = create_task(async {
        sleep(ms(150)).await;
        panic!("ZeroDivisionError");
    });
    let (done, pending) = wait([b, a], ReturnWhen::AllCompleted, None).await;
    assert_eq!((done.len(), pending.len()), (2, 0));
    let errors = done
        .iter()
        .filter(|t| t.exception().unwrap().is_some())
        .count();
    assert_eq!(errors, 1);
    assert_time(0.15, elapsed(&lp, t0));
    let (done, _) = wait(done, ReturnWhen::AllCompleted, None).await;
    assert_eq!(done.len(), 2);
    assert_time(0.15, elapsed(&lp, t0));
}

#[aloop::test(virtual_time)]
async fn tasks_base_task_wait_with_timeout() {
    let lp = get_running_loop().unwrap();
    let t0 = lp.time();
    let (a, b) = (sleeper(ms(100)), sleeper(ms(150)));
    let (va, vb) = (a.as_any(), b.as_any());
    let (done, pending) = wait([b, a], ReturnWhen::AllCompleted, ms(110)).await;
    assert_eq!(ids(&done), id_set(&[&va]));
    assert_eq!(ids(&pending), id_set(&[&vb]));
    assert_time(0.11, elapsed(&lp, t0));
}

/// A task that finishes exactly at the timeout counts as done. The wait runs in a task
/// of its own, made after `a` and `b` (as CPython's `run_until_complete(wait(..))` wraps
/// it), so its timeout is set after their sleeps and fires after them.
#[aloop::test(virtual_time)]
async fn tasks_base_task_wait_concurrent_complete() {
    let lp = get_running_loop().unwrap();
    let t0 = lp.time();
    let (a, b) = (sleeper(ms(100)), sleeper(ms(150)));
    let (va, vb) = (a.as_any(), b.as_any());
    let waiting = create_task(wait([b, a], ReturnWhen::AllCompleted, ms(100)));
    let (done, pending) = waiting.await.unwrap();
    assert_eq!(ids(&done), id_set(&[&va]));
    assert_eq!(ids(&pending), id_set(&[&vb]));
    assert_time(0.1, elapsed(&lp, t0));
}

#[aloop::test(virtual_time)]
async fn tasks_base_task_wait_with_iterator_of_tasks() {
    let lp = get_running_loop().unwrap();
    let t0 = lp.time();
    let (a, b) = (sleeper(ms(100)), sleeper(ms(150)));
    let (done, pending) = wait(vec![b, a].into_iter(), ReturnWhen::AllCompleted, None).await;
    assert_eq!((done.len(), pending.len()), (2, 0));
    assert_time(0.15, elapsed(&lp, t0));
}

#[aloop::test]
async fn tasks_base_task_wait_generator() {
    let tasks = (0..10).map(|i| create_task(async move { i }));
    let (done, pending) = wait(tasks, ReturnWhen::AllCompleted, None).await;
    assert_eq!((done.len(), pending.len()), (10, 0));
}

/// `sleeper(dt, x)` of `test_as_completed`: after `dt`, records `x`, and once `a` and `b`
/// are both recorded moves the clock by 0.14 s (CPython's `advance_time`).
async fn recording_sleeper(
    dt: std::time::Duration,
    x: &'static str,
    completed: Rc<RefCell<Vec<&'static str>>>,
) -> &'static str {
    sleep(dt).await;
    completed.borrow_mut().push(x);
    let c = completed.borrow();
    if c.len() == 2 && c.contains(&"a") && c.contains(&"b") {
        get_running_loop().unwrap().advance(ms(140)).unwrap();
    }
    x
}

#[aloop::test(virtual_time)]
async fn tasks_base_task_as_completed() {
    let lp = get_running_loop().unwrap();
    let t0 = lp.time();
    let completed = Rc::new(RefCell::new(Vec::new()));
    let mut stream = as_completed(
        [(10, "b"), (150, "c"), (10, "a")]
            .map(|(d, x)| recording_sleeper(ms(d), x, completed.clone())),
        None,
    );
    let mut values = Vec::new();
    while let Some(item) = stream.next().await {
        values.push(item.unwrap().unwrap());
    }
    assert_time(0.15, elapsed(&lp, t0));
    assert!(values[..2].contains(&"a") && values[..2].contains(&"b"));
    assert_eq!(values[2], "c");
}

/// The first result arrives, then the timeout ends the rest with TimeoutError.
#[aloop::test(virtual_time)]
async fn tasks_base_task_as_completed_with_timeout() {
    let lp = get_running_loop().unwrap();
    let t0 = lp.time();
    let slow = |d: u64, v: &'static str| async move {
        sleep(ms(d)).await;
        v
    };
    let mut stream = as_completed([slow(100, "a"), slow(150, "b")], ms(120));
    let mut values = Vec::new();
    while stream.remaining() > 0 {
        // CPython moves the clock before awaiting each item after the first.
        if !values.is_empty() {
            lp.advance(ms(20)).unwrap();
        }
        let item = stream.next().await.unwrap();
        values.push(item.map(|r| r.unwrap()));
    }
    assert_eq!(values, [Ok("a"), Err(TimeoutError)]);
    assert_time(0.12, elapsed(&lp, t0));
}

#[aloop::test(virtual_time)]
async fn tasks_base_task_as_completed_with_unused_timeout() {
    let mut stream = as_completed(
        [async {
            sleep(ms(10)).await;
            "a"
        }],
        secs(1),
    );
    assert_eq!(stream.next().await.unwrap().unwrap().unwrap(), "a");
    assert!(stream.next().await.is_none());
}
