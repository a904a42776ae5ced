//! `LockTests` of CPython's test_locks.py on `aloop::Lock`. Siblings: `event.rs`,
//! `condition.rs`, `semaphore.rs`, `barrier.rs`; the index is `main.rs`.

use aloop::sync::LockGuard;
use aloop::{create_task, get_running_loop, Lock};
use aloop_tests::cpython::{leak, tick, Held};
use aloop_tests::Log;

/// A task body for `lock`: acquire, log `tag`, keep the lock held after returning
/// (asyncio's coroutine returns without releasing), return `true`.
fn taker(
    lock: &'static Lock,
    held: &Held<LockGuard<'static>>,
    result: &Log,
    tag: &'static str,
) -> impl std::future::Future<Output = bool> + 'static {
    let (held, result) = (held.clone(), result.clone());
    async move {
        let guard = lock.acquire().await;
        result.push(tag);
        held.put(guard);
        true
    }
}

/// repr() text is Python's; the Debug form carries the same state.
#[aloop::test]
async fn locks_lock_repr() {
    let lock = Lock::new();
    assert!(format!("{lock:?}").contains("locked: false"));
    let _guard = lock.acquire().await;
    assert!(format!("{lock:?}").contains("locked: true"));
}

#[aloop::test]
async fn locks_lock_acquire() {
    let lock = leak(Lock::new());
    let held = Held::new();
    let result = Log::new();
    held.put(lock.acquire().await);

    let t1 = create_task(taker(lock, &held, &result, "1"));
    let t2 = create_task(taker(lock, &held, &result, "2"));
    tick().await;
    result.assert_eq(&[]);

    held.release();
    tick().await;
    result.assert_eq(&["1"]);
    tick().await;
    result.assert_eq(&["1"]);

    let t3 = create_task(taker(lock, &held, &result, "3"));
    held.release();
    tick().await;
    result.assert_eq(&["1", "2"]);

    held.release();
    tick().await;
    result.assert_eq(&["1", "2", "3"]);

    for t in [t1, t2, t3] {
        assert!(t.done());
        assert!(t.result().unwrap().unwrap());
    }
}

/// asyncio checks that the cancelled waiter left `_waiters`; the observable side is that
/// releasing afterwards leaves the lock free instead of handing it to the dead waiter.
#[aloop::test]
async fn locks_lock_acquire_cancel() {
    let lock = leak(Lock::new());
    let guard = lock.acquire().await;
    let task = create_task(async move {
        let _g = lock.acquire().await;
    });
    let cancel = task.as_any();
    get_running_loop()
        .unwrap()
        .call_soon(move || {
            cancel.cancel();
        })
        .unwrap();
    assert!(task.await.unwrap_err().is_cancelled());
    drop(guard);
    assert!(!lock.locked());
    assert!(lock.try_acquire().is_some());
}

#[aloop::test]
async fn locks_lock_cancel_race() {
    // A holds the lock until `fa` resolves; B and C queue behind it. Cancelling B while
    // A releases must hand the lock to C, not to the cancelled B.
    let lock = leak(Lock::new());
    let lp = get_running_loop().unwrap();
    let lockit = |blocker: Option<aloop::Promise<()>>| async move {
        let _guard = lock.acquire().await;
        if let Some(b) = blocker {
            b.await.unwrap();
        }
    };
    let fa = lp.create_future::<()>();
    let ta = create_task(lockit(Some(fa.clone())));
    tick().await;
    assert!(lock.locked());
    let tb = create_task(lockit(None));
    tick().await;
    let tc = create_task(lockit(None));
    tick().await;

    fa.set_result(()).unwrap();
    tb.cancel();
    tick().await;
    // Deliberate difference E4 (docs/asyncio-mapping.md): A's release hands the lock
    // straight to C, the first live waiter, so it reads locked until C has run and
    // released it; asyncio reads unlocked in between. C got it either way.
    assert!(lock.locked());
    assert!(ta.done());
    assert!(tb.cancelled());
    tc.await.unwrap();
    assert!(!lock.locked());
}

#[aloop::test]
async fn locks_lock_cancel_release_race() {
    // bpo-32734: cancel the first waiter and release in one callback; exactly one of
    // the remaining waiters may get the lock.
    let lock = leak(Lock::new());
    let lock_count = leak(std::cell::Cell::new(0));
    let call_count = leak(std::cell::Cell::new(0));
    let lockit = || async move {
        call_count.set(call_count.get() + 1);
        let guard = lock.acquire().await;
        lock_count.set(lock_count.get() + 1);
        std::mem::forget(guard); // asyncio's coroutine never releases
    };
    let guard = lock.acquire().await;
    let t1 = create_task(lockit());
    let t2 = create_task(lockit());
    let t3 = create_task(lockit());
    tick().await;

    let t1_any = t1.as_any();
    let mut guard = Some(guard);
    get_running_loop()
        .unwrap()
        .call_soon(move || {
            t1_any.cancel();
            drop(guard.take());
        })
        .unwrap();
    let t1_any = t1.as_any();
    assert!(t1.await.unwrap_err().is_cancelled());

    assert_eq!(lock_count.get(), 1);
    assert_eq!(call_count.get(), 3);
    assert!(t1_any.cancelled() && t2.done());

    t3.cancel();
    tick().await;
    assert!(t3.cancelled());
}

#[aloop::test]
async fn locks_lock_finished_waiter_cancelled() {
    let lock = leak(Lock::new());
    let held = Held::new();
    held.put(lock.acquire().await);
    assert!(lock.locked());

    let tb = create_task(async move { std::mem::forget(lock.acquire().await) });
    tick().await;

    // A second waiter; wake the first and cancel it: the second must get the lock.
    let tc = create_task(async move { std::mem::forget(lock.acquire().await) });
    tb.cancel();
    held.release();
    tick().await;

    assert!(lock.locked());
    assert!(tb.cancelled());
    tc.await.unwrap();
}

#[aloop::test]
async fn locks_lock_release_no_waiters() {
    let lock = Lock::new();
    let guard = lock.acquire().await;
    assert!(lock.locked());
    drop(guard);
    assert!(!lock.locked());
}

/// `async with lock:` is a guard held for a scope.
#[aloop::test]
async fn locks_lock_context_manager() {
    let lock = Lock::new();
    assert!(!lock.locked());
    {
        let _guard = lock.acquire().await;
        assert!(lock.locked());
    }
    assert!(!lock.locked());
}
