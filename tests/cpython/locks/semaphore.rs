//! `SemaphoreTests` of CPython's test_locks.py on `aloop::Semaphore` and
//! `BoundedSemaphore`. Siblings: `lock.rs`, `event.rs`, `condition.rs`, `barrier.rs`;
//! the index is `main.rs`.
//!
//! asyncio's bare `acquire()` / `release()` pair is `acquire().await.forget()` /
//! `release()` here; asyncio's `_value` is `value()`.

use std::time::Duration;

use aloop::{create_task, get_running_loop, task_group, BoundedSemaphore, Semaphore};
use aloop_tests::cpython::{gather_tasks, leak, tick};
use aloop_tests::Log;

/// acquire (keeping the permit), log `tag`, return `true`.
fn taker(
    sem: &'static Semaphore,
    result: &Log,
    tag: &'static str,
) -> impl std::future::Future<Output = bool> {
    let result = result.clone();
    async move {
        sem.acquire().await.forget();
        result.push(tag);
        true
    }
}

#[test]
fn locks_semaphore_initial_value_zero() {
    assert!(Semaphore::new(0).locked());
}

/// repr() text is Python's; the Debug form carries the same state (asyncio's waiter
/// count is private here).
#[aloop::test]
async fn locks_semaphore_repr() {
    let sem = Semaphore::new(1);
    let debug = format!("{sem:?}");
    assert!(
        debug.contains("value: 1") && debug.contains("locked: false"),
        "{debug}"
    );
    sem.acquire().await.forget();
    let debug = format!("{sem:?}");
    assert!(
        debug.contains("value: 0") && debug.contains("locked: true"),
        "{debug}"
    );
}

#[aloop::test]
async fn locks_semaphore_acquire() {
    let sem = leak(Semaphore::new(3));
    let result = Log::new();
    sem.acquire().await.forget();
    sem.acquire().await.forget();
    assert!(!sem.locked());

    let t1 = create_task(taker(sem, &result, "1"));
    let t2 = create_task(taker(sem, &result, "2"));
    let t3 = create_task(taker(sem, &result, "3"));
    tick().await;
    result.assert_eq(&["1"]);
    assert!(sem.locked());
    assert_eq!(sem.value(), 0);

    let t4 = create_task(taker(sem, &result, "4"));
    // Each release goes straight to a waiter (t2, then t3): the count stays 0.
    sem.release();
    sem.release();
    assert_eq!(sem.value(), 0);

    tick().await;
    assert_eq!(sem.value(), 0);
    assert_eq!(result.len(), 3);
    assert!(sem.locked());

    assert!(t1.done() && t1.result().unwrap().unwrap());
    let race = [t2, t3, t4];
    let done = race
        .iter()
        .filter(|t| t.done() && t.result().unwrap().unwrap())
        .count();
    assert_eq!(done, 2);

    sem.release();
    for r in gather_tasks(race).await {
        assert!(r.unwrap());
    }
}

/// asyncio checks that no live waiter is left in `_waiters`; here: the next release
/// raises the count instead of going to the cancelled waiter.
#[aloop::test]
async fn locks_semaphore_acquire_cancel() {
    let sem = leak(Semaphore::new(1));
    sem.acquire().await.forget();
    let acquire = create_task(async move { sem.acquire().await.forget() });
    let cancel = acquire.as_any();
    get_running_loop()
        .unwrap()
        .call_soon(move || {
            cancel.cancel();
        })
        .unwrap();
    assert!(acquire.await.unwrap_err().is_cancelled());
    sem.release();
    assert_eq!(sem.value(), 1);
}

#[aloop::test]
async fn locks_semaphore_acquire_cancel_before_awoken() {
    let sem = leak(Semaphore::new(0));
    let [t1, t2, t3, t4] = [0; 4].map(|_| create_task(async move { sem.acquire().await.forget() }));
    tick().await;

    t1.cancel();
    t2.cancel();
    sem.release();
    tick().await;
    tick().await;
    assert_eq!([&t3, &t4].iter().filter(|t| t.done()).count(), 1);
    assert!(t3.done());
    assert!(!t4.done());

    t3.cancel();
    t4.cancel();
    tick().await;
}

#[aloop::test]
async fn locks_semaphore_acquire_hang() {
    let sem = leak(Semaphore::new(0));
    let t1 = create_task(async move { sem.acquire().await.forget() });
    let t2 = create_task(async move { sem.acquire().await.forget() });
    tick().await;

    t1.cancel();
    sem.release();
    tick().await;
    tick().await;
    assert!(sem.locked());
    assert!(t2.done());
}

#[aloop::test(virtual_time)]
async fn locks_semaphore_acquire_no_hang() {
    let sem = leak(Semaphore::new(1));
    let t2_cancel = leak(std::cell::OnceCell::<aloop::AnyTask>::new());
    let t1 = create_task(async move {
        {
            let _permit = sem.acquire().await;
            tick().await;
        }
        t2_cancel.get().unwrap().cancel();
    });
    let t2 = create_task(async move {
        let _permit = sem.acquire().await;
        panic!("c2 must not get the semaphore");
    });
    t2_cancel.set(t2.as_any()).unwrap();

    let mut outcome = gather_tasks([t1, t2]).await.into_iter();
    assert!(outcome.next().unwrap().is_ok());
    assert!(outcome.next().unwrap().unwrap_err().is_cancelled());

    let permit = aloop::wait_for(sem.acquire(), Duration::from_secs(1)).await;
    assert!(permit.is_ok());
}

/// asyncio's `ValueError` is `Err(BoundedReleaseError)`.
#[test]
fn locks_semaphore_release_not_acquired() {
    let sem = BoundedSemaphore::new(1);
    assert!(sem.release().is_err());
    assert_eq!(sem.value(), 1);
}

#[aloop::test]
async fn locks_semaphore_release_no_waiters() {
    let sem = Semaphore::new(1);
    sem.acquire().await.forget();
    assert!(sem.locked());
    sem.release();
    assert!(!sem.locked());
}

#[aloop::test(virtual_time)]
async fn locks_semaphore_acquire_fifo_order() {
    let sem = leak(Semaphore::new(1));
    let result = Log::new();
    task_group(|tg| {
        let result = result.clone();
        async move {
            for tag in ["c1", "c2", "c3"] {
                let result = result.clone();
                tg.create_task(async move {
                    for round in 1..=2 {
                        let permit = sem.acquire().await;
                        result.push(format!("{tag}_{round}"));
                        aloop::sleep(Duration::from_millis(10)).await;
                        drop(permit);
                    }
                });
            }
        }
    })
    .await
    .unwrap();
    result.assert_eq(&["c1_1", "c2_1", "c3_1", "c1_2", "c2_2", "c3_2"]);
}

/// Deliberate difference (docs/asyncio-mapping.md, sync primitives): the two releases
/// hand one permit each to c2 and c3 at once. When c2 then releases and re-acquires,
/// nobody is waiting (c3 holds its permit already), so c2 takes the free one and logs 4
/// before c3 has run and logged 3. asyncio counts c3 as a waiter until it has run and
/// makes c2 queue behind it: 1, 2, 3, 4. Nobody is overtaken in either order.
#[aloop::test]
async fn locks_semaphore_acquire_fifo_order_2() {
    let sem = leak(Semaphore::new(1));
    let result = Log::new();
    let t1 = create_task(taker(sem, &result, "1"));
    let r = result.clone();
    let t2 = create_task(async move {
        sem.acquire().await.forget();
        r.push("2");
        sem.release();
        sem.acquire().await.forget();
        r.push("4");
        true
    });
    let t3 = create_task(taker(sem, &result, "3"));
    tick().await;

    sem.release();
    sem.release();
    for r in gather_tasks([t1, t2, t3]).await {
        assert!(r.unwrap());
    }
    result.assert_eq(&["1", "2", "4", "3"]);
}

#[aloop::test]
async fn locks_semaphore_acquire_fifo_order_3() {
    let sem = leak(Semaphore::new(0));
    let result = Log::new();
    let tasks = ["1", "2", "3"].map(|tag| create_task(taker(sem, &result, tag)));
    tick().await;
    tasks[0].cancel();
    tick().await;

    sem.release();
    sem.release();
    let outcome = gather_tasks(tasks).await;
    assert!(outcome[0].as_ref().unwrap_err().is_cancelled());
    result.assert_eq(&["2", "3"]);
}
