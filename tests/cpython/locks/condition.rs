//! `ConditionTests` of CPython's test_locks.py on `aloop::Condition`. Siblings:
//! `lock.rs`, `event.rs`, `semaphore.rs`, `barrier.rs`; the index is `main.rs`.
//!
//! In aloop, `wait` and `notify` are methods of the guard the condition's lock hands
//! out, so asyncio's "cannot wait on / notify an un-acquired lock" tests have no Rust
//! form (they do not compile). A task that asyncio leaves holding the lock parks its
//! guard in a `Held`, which the test drops for asyncio's `cond.release()`.

use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use aloop::sync::CondGuard;
use aloop::{create_task, get_running_loop, Condition, Lock};
use aloop_tests::cpython::{leak, tick, Held};
use aloop_tests::Log;

type Guards = Held<CondGuard<'static>>;

/// acquire, wait, log `tag`, then keep the lock (`held`) or release it (`None`).
fn waiter(
    cond: &'static Condition,
    result: &Log,
    held: Option<&Guards>,
    tag: &'static str,
) -> impl Future<Output = bool> + 'static {
    let (result, held) = (result.clone(), held.cloned());
    async move {
        let guard = cond.acquire().await.wait().await;
        result.push(tag);
        match held {
            Some(held) => held.put(guard),
            None => drop(guard),
        }
        true
    }
}

fn waiters_in_debug(cond: &Condition) -> String {
    let debug = format!("{cond:?}");
    let at = debug.find("waiters: ").expect("Debug shows the waiters") + "waiters: ".len();
    debug[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect()
}

#[aloop::test]
async fn locks_condition_wait() {
    let cond = leak(Condition::new());
    let (result, held) = (Log::new(), Guards::new());
    let tasks = ["1", "2", "3"].map(|tag| create_task(waiter(cond, &result, Some(&held), tag)));
    tick().await;
    result.assert_eq(&[]);
    assert!(!cond.locked());

    let guard = cond.acquire().await;
    guard.notify(1);
    held.put(guard);
    tick().await;
    result.assert_eq(&[]);
    assert!(cond.locked());

    held.release();
    tick().await;
    result.assert_eq(&["1"]);
    assert!(cond.locked());

    held.with_first(|g| g.notify(2));
    tick().await;
    result.assert_eq(&["1"]);
    assert!(cond.locked());

    held.release();
    tick().await;
    result.assert_eq(&["1", "2"]);
    assert!(cond.locked());

    held.release();
    tick().await;
    result.assert_eq(&["1", "2", "3"]);
    assert!(cond.locked());

    for t in tasks {
        assert!(t.done());
        assert!(t.result().unwrap().unwrap());
    }
}

/// Deliberate difference (docs/asyncio-mapping.md, sync primitives): asyncio's
/// cancelled `wait()` re-acquires the lock before raising, so the lock ends up held; in
/// aloop the guard went into the wait and is dropped with it, so the lock ends up free.
/// Both leave no waiter behind.
#[aloop::test]
async fn locks_condition_wait_cancel() {
    let cond = leak(Condition::new());
    let guard = cond.acquire().await;
    let wait = create_task(async move { drop(guard.wait().await) });
    let cancel = wait.as_any();
    get_running_loop()
        .unwrap()
        .call_soon(move || {
            cancel.cancel();
        })
        .unwrap();
    assert!(wait.await.unwrap_err().is_cancelled());
    assert_eq!(waiters_in_debug(cond), "0");
    assert!(!cond.locked());
}

/// Deliberate difference, as in `locks_condition_wait_cancel`: asyncio's waiter ends
/// holding the lock, whether it was cancelled or not. Here it was notified, then
/// cancelled while waiting to re-acquire; its destructor passes the lock on (to nobody),
/// so the lock ends free.
#[aloop::test]
async fn locks_condition_wait_cancel_contested() {
    let cond = leak(Condition::new());
    let held = Guards::new();
    let guard = cond.acquire().await;
    assert!(cond.locked());
    let held2 = held.clone();
    let wait_task = create_task(async move { held2.put(guard.wait().await) });
    tick().await;
    assert!(!cond.locked());

    // Notify, but contest the lock before cancelling.
    let guard = cond.acquire().await;
    assert!(cond.locked());
    guard.notify(1);
    let lp = get_running_loop().unwrap();
    let cancel = wait_task.as_any();
    lp.call_soon(move || {
        cancel.cancel();
    })
    .unwrap();
    lp.call_soon(move || drop(guard)).unwrap();
    let outcome = wait_task.await;
    // The lock is held exactly when the waiter got through and parked its guard.
    assert_eq!(cond.locked(), outcome.is_ok());
    assert_eq!(held.len(), usize::from(outcome.is_ok()));
    assert!(outcome.unwrap_err().is_cancelled());
}

#[aloop::test]
async fn locks_condition_wait_cancel_after_notify() {
    // bpo-32841: a waiter cancelled between its notification and its re-acquire.
    let cond = leak(Condition::new());
    let waited = leak(Cell::new(false));
    let waiter = create_task(async move {
        let guard = cond.acquire().await;
        waited.set(true);
        let _guard = guard.wait().await;
    });
    tick().await; // start waiting

    let guard = cond.acquire().await;
    guard.notify(1);
    tick().await; // the waiter gets to its acquire
    waiter.cancel();
    tick().await; // the cancellation is delivered
    drop(guard);
    tick().await;

    assert!(waiter.cancelled());
    assert!(waited.get());
}

#[aloop::test]
async fn locks_condition_wait_for() {
    let cond = leak(Condition::new());
    let presult = leak(Cell::new(false));
    let result = Log::new();
    let r = result.clone();
    let t = create_task(async move {
        let guard = cond.acquire().await.wait_for(|| presult.get()).await;
        r.push("1");
        drop(guard);
        true
    });
    tick().await;
    result.assert_eq(&[]);

    let guard = cond.acquire().await;
    guard.notify(1);
    drop(guard);
    tick().await;
    result.assert_eq(&[]);

    presult.set(true);
    let guard = cond.acquire().await;
    guard.notify(1);
    drop(guard);
    tick().await;
    result.assert_eq(&["1"]);
    assert!(t.done());
    assert!(t.result().unwrap().unwrap());
}

#[aloop::test]
async fn locks_condition_notify() {
    let cond = leak(Condition::new());
    let result = Log::new();
    let tasks = ["1", "2", "3"].map(|tag| create_task(waiter(cond, &result, None, tag)));
    tick().await;
    result.assert_eq(&[]);

    let guard = cond.acquire().await;
    assert_eq!(guard.notify(1), 1);
    drop(guard);
    tick().await;
    result.assert_eq(&["1"]);

    let guard = cond.acquire().await;
    guard.notify(1);
    guard.notify(2048);
    drop(guard);
    tick().await;
    result.assert_eq(&["1", "2", "3"]);

    for t in tasks {
        assert!(t.done());
        assert!(t.result().unwrap().unwrap());
    }
}

#[aloop::test]
async fn locks_condition_notify_all() {
    let cond = leak(Condition::new());
    let result = Log::new();
    let tasks = ["1", "2"].map(|tag| create_task(waiter(cond, &result, None, tag)));
    tick().await;
    result.assert_eq(&[]);

    let guard = cond.acquire().await;
    guard.notify_all();
    drop(guard);
    tick().await;
    result.assert_eq(&["1", "2"]);
    for t in tasks {
        assert!(t.done());
        assert!(t.result().unwrap().unwrap());
    }
}

/// repr() text is Python's; the Debug form carries the same state. asyncio appends
/// mocks to `_waiters`; here two real waiters wait.
#[aloop::test]
async fn locks_condition_repr() {
    let cond = leak(Condition::new());
    assert!(format!("{cond:?}").contains("locked: false"));
    let guard = cond.acquire().await;
    assert!(format!("{cond:?}").contains("locked: true"));
    drop(guard);

    let result = Log::new();
    let t1 = create_task(waiter(cond, &result, None, "1"));
    tick().await;
    assert_eq!(waiters_in_debug(cond), "1");
    let t2 = create_task(waiter(cond, &result, None, "2"));
    tick().await;
    assert_eq!(waiters_in_debug(cond), "2");

    cond.acquire().await.notify_all();
    t1.await.unwrap();
    t2.await.unwrap();
    assert_eq!(waiters_in_debug(cond), "0");
}

#[aloop::test]
async fn locks_condition_context_manager() {
    let cond = Condition::new();
    assert!(!cond.locked());
    {
        let _guard = cond.acquire().await;
        assert!(cond.locked());
    }
    assert!(!cond.locked());
}

/// `Condition(lock)` is `Condition::with_lock(Arc<Lock>)`; `Condition()` makes its own
/// lock, reachable through `inner_lock()` (asyncio's `_lock`).
#[aloop::test]
async fn locks_condition_explicit_lock() {
    async fn f(cond: Condition) {
        let lock = cond.inner_lock().clone();
        assert!(!lock.locked() && !cond.locked());
        {
            let _g = cond.acquire().await;
            assert!(lock.locked() && cond.locked());
        }
        assert!(!lock.locked() && !cond.locked());
        {
            let _g = lock.acquire().await;
            assert!(lock.locked() && cond.locked());
        }
        assert!(!lock.locked() && !cond.locked());
    }
    f(Condition::new()).await;
    f(Condition::with_lock(Arc::new(Lock::new()))).await;
    let lock = Arc::new(Lock::new());
    let cond = Condition::with_lock(lock.clone());
    assert!(Arc::ptr_eq(cond.inner_lock(), &lock));
    f(cond).await;
}

#[aloop::test(virtual_time)]
async fn locks_condition_timeout_in_block() {
    let cond = leak(Condition::new());
    let guard = cond.acquire().await;
    let timed_out = aloop::wait_for(guard.wait(), Duration::from_millis(500)).await;
    assert!(timed_out.is_err());
    assert!(!cond.locked());
}
