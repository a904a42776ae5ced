//! `EventTests` of CPython's test_locks.py on `aloop::Event`. Siblings: `lock.rs`,
//! `condition.rs`, `semaphore.rs`, `barrier.rs`; the index is `main.rs`.

use aloop::{create_task, get_running_loop, Event};
use aloop_tests::cpython::{leak, tick};
use aloop_tests::Log;

/// A task that waits for `ev`, then logs `tag`. asyncio's `wait()` returns `True`;
/// aloop's returns `()`, there being no other outcome.
fn waiter(
    ev: &'static Event,
    result: &Log,
    tag: &'static str,
) -> impl std::future::Future<Output = bool> {
    let result = result.clone();
    async move {
        ev.wait().await;
        result.push(tag);
        true
    }
}

/// repr() text is Python's; the Debug form carries the same state.
#[test]
fn locks_event_repr() {
    let ev = Event::new();
    assert!(format!("{ev:?}").contains("is_set: false"));
    ev.set();
    assert!(format!("{ev:?}").contains("is_set: true"));
}

#[aloop::test]
async fn locks_event_wait() {
    let ev = leak(Event::new());
    assert!(!ev.is_set());
    let result = Log::new();
    let t1 = create_task(waiter(ev, &result, "1"));
    let t2 = create_task(waiter(ev, &result, "2"));
    tick().await;
    result.assert_eq(&[]);

    // t3 is scheduled before set() wakes t1 and t2, so it runs first and finds the
    // event already set.
    let t3 = create_task(waiter(ev, &result, "3"));
    ev.set();
    tick().await;
    result.assert_eq(&["3", "1", "2"]);
    for t in [t1, t2, t3] {
        assert!(t.done());
        assert!(t.result().unwrap().unwrap());
    }
}

#[aloop::test]
async fn locks_event_wait_on_set() {
    let ev = Event::new();
    ev.set();
    ev.wait().await;
}

/// asyncio checks that the cancelled waiter left `_waiters`; here: a later `set()` has
/// nobody to wake and a new waiter still passes.
#[aloop::test]
async fn locks_event_wait_cancel() {
    let ev = leak(Event::new());
    let wait = create_task(ev.wait());
    let cancel = wait.as_any();
    get_running_loop()
        .unwrap()
        .call_soon(move || {
            cancel.cancel();
        })
        .unwrap();
    assert!(wait.await.unwrap_err().is_cancelled());
    ev.set();
    ev.wait().await;
}

#[test]
fn locks_event_clear() {
    let ev = Event::new();
    assert!(!ev.is_set());
    ev.set();
    assert!(ev.is_set());
    ev.clear();
    assert!(!ev.is_set());
}

/// asyncio also counts `_waiters` (1, then 0); the count is private here.
#[aloop::test]
async fn locks_event_clear_with_waiters() {
    let ev = leak(Event::new());
    let result = Log::new();
    let t = create_task(waiter(ev, &result, "1"));
    tick().await;
    result.assert_eq(&[]);

    // set() releases the waiter for good: clearing right after does not take it back.
    ev.set();
    ev.clear();
    assert!(!ev.is_set());
    ev.set();
    ev.set();

    tick().await;
    result.assert_eq(&["1"]);
    assert!(t.done());
    assert!(t.result().unwrap().unwrap());
}
