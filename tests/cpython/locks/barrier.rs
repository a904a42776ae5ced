//! `BarrierTests` of CPython's test_locks.py on `aloop::Barrier`. Siblings: `lock.rs`,
//! `event.rs`, `condition.rs`, `semaphore.rs`; the index is `main.rs`.
//!
//! aloop's barrier has no "draining" state (see `Barrier`'s docs and the deliberate
//! differences of docs/asyncio-mapping.md): the last party to arrive passes without
//! blocking and the next round starts at once, where asyncio keeps newcomers out until
//! every party of the round has left `wait()`. The tests whose outcome depends on that
//! state say so; `reset` and `abort` are plain methods (asyncio's are coroutines).

use std::cell::Cell;
use std::future::Future;

use aloop::sync::BrokenBarrierError;
use aloop::{create_task, Barrier, Task};
use aloop_tests::cpython::{gather_tasks, leak, tick};
use aloop_tests::Log;

const N: usize = 5;

fn make_tasks<T: 'static, F: Future<Output = T> + 'static>(
    n: usize,
    coro: impl Fn() -> F,
) -> Vec<Task<T>> {
    (0..n).map(|_| create_task(coro())).collect()
}

/// Runs `n` tasks of `coro` to the end; every one must succeed.
async fn gather_n<T: 'static, F: Future<Output = T> + 'static>(
    n: usize,
    coro: impl Fn() -> F,
) -> Vec<T> {
    gather_tasks(make_tasks(n, coro))
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect()
}

fn counter() -> &'static Cell<usize> {
    leak(Cell::new(0))
}

fn bump(c: &Cell<usize>) -> usize {
    c.set(c.get() + 1);
    c.get()
}

/// repr() text is Python's; Debug carries parties, waiting count and broken flag (there
/// is no filling/draining/resetting state to show).
#[aloop::test]
async fn locks_barrier_repr() {
    let barrier = leak(Barrier::new(N));
    let debug = |b: &Barrier| format!("{b:?}");
    assert!(debug(barrier).contains("n_waiting: 0"));
    let waiters = make_tasks(2, || barrier.wait());
    tick().await;
    assert!(debug(barrier).contains("n_waiting: 2"));
    assert!(debug(barrier).contains(&format!("parties: {N}")));
    barrier.abort();
    assert!(debug(barrier).contains("broken: true"));
    assert!(barrier.broken());
    for r in gather_tasks(waiters).await {
        assert_eq!(r.unwrap(), Err(BrokenBarrierError));
    }
}

/// Deliberate difference: asyncio raises `ValueError` for fewer than one party; the
/// count is a `usize` here, and 0 is taken as 1 so construction cannot fail.
#[test]
fn locks_barrier_barrier_parties() {
    assert_eq!(Barrier::new(0).parties(), 1);
    assert_eq!(Barrier::new(N).parties(), N);
}

#[aloop::test]
async fn locks_barrier_context_manager() {
    let barrier = leak(Barrier::new(3));
    let mut results = gather_n(3, || async { barrier.wait().await.unwrap() }).await;
    results.sort();
    assert_eq!(results, [0, 1, 2]);
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
}

#[aloop::test]
async fn locks_barrier_filling_one_task() {
    let barrier = Barrier::new(1);
    assert_eq!(barrier.wait().await, Ok(0));
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
}

#[aloop::test]
async fn locks_barrier_filling_one_task_twice() {
    let barrier = leak(Barrier::new(1));
    let t1 = create_task(barrier.wait());
    tick().await;
    assert_eq!(barrier.n_waiting(), 0);
    let t2 = create_task(barrier.wait());
    tick().await;
    assert_eq!(t1.result().unwrap().unwrap(), t2.result().unwrap().unwrap());
    assert_eq!(t1.done(), t2.done());
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
}

#[aloop::test]
async fn locks_barrier_filling_task_by_task() {
    let barrier = leak(Barrier::new(3));
    let t1 = create_task(barrier.wait());
    tick().await;
    assert_eq!(barrier.n_waiting(), 1);
    let t2 = create_task(barrier.wait());
    tick().await;
    assert_eq!(barrier.n_waiting(), 2);
    let t3 = create_task(barrier.wait());
    tick().await;
    for r in gather_tasks([t1, t2, t3]).await {
        assert!(r.unwrap().is_ok());
    }
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
}

#[aloop::test]
async fn locks_barrier_filling_tasks_wait_twice() {
    let barrier = leak(Barrier::new(N));
    let results = Log::new();
    gather_n(N, || {
        let results = results.clone();
        async move {
            barrier.wait().await.unwrap();
            results.push("first");
            barrier.wait().await.unwrap();
            results.push("second");
        }
    })
    .await;
    let events = results.events();
    assert_eq!(events.len(), 2 * N);
    assert_eq!(events.iter().filter(|e| *e == "first").count(), N);
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
}

#[aloop::test]
async fn locks_barrier_filling_tasks_check_return_value() {
    let barrier = leak(Barrier::new(N));
    let passed = counter();
    let mut res = gather_n(N, || async {
        barrier.wait().await.unwrap();
        bump(passed);
        barrier.wait().await.unwrap()
    })
    .await;
    assert_eq!(passed.get(), N);
    res.sort();
    assert_eq!(res, (0..N).collect::<Vec<_>>());
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
}

#[aloop::test]
async fn locks_barrier_blocking_tasks_while_draining() {
    // After one round, two tasks wait again at once while three first meet on a second
    // barrier: all five must meet again on the first.
    let rewait = 2;
    let barrier = leak(Barrier::new(N));
    let barrier_nowaiting = leak(Barrier::new(N - rewait));
    let rewait_n = leak(Cell::new(rewait));
    gather_n(N, || async {
        barrier.wait().await.unwrap();
        if rewait_n.get() > 0 {
            rewait_n.set(rewait_n.get() - 1);
            barrier.wait().await.unwrap();
        } else {
            barrier_nowaiting.wait().await.unwrap();
            barrier.wait().await.unwrap();
        }
    })
    .await;
    assert!(!barrier.broken());
}

#[aloop::test]
async fn locks_barrier_filling_tasks_cancel_one() {
    let barrier = leak(Barrier::new(3));
    let passed = counter();
    let coro = || async {
        barrier.wait().await.unwrap();
        bump(passed);
    };
    let t1 = create_task(coro());
    tick().await;
    assert_eq!(barrier.n_waiting(), 1);
    let t2 = create_task(coro());
    tick().await;
    assert_eq!(barrier.n_waiting(), 2);

    t1.cancel();
    tick().await;
    assert_eq!(barrier.n_waiting(), 1);
    let t1_any = t1.as_any();
    assert!(t1.await.unwrap_err().is_cancelled());
    assert!(t1_any.cancelled());

    let t3 = create_task(coro());
    tick().await;
    assert_eq!(barrier.n_waiting(), 2);
    let t4 = create_task(coro());
    for r in gather_tasks([t2, t3, t4]).await {
        r.unwrap();
    }
    assert_eq!(passed.get(), 3);
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
}

#[aloop::test]
async fn locks_barrier_reset_barrier() {
    let barrier = leak(Barrier::new(1));
    create_task(async move { barrier.reset() });
    tick().await;
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
}

#[aloop::test]
async fn locks_barrier_reset_barrier_while_tasks_waiting() {
    let barrier = leak(Barrier::new(N));
    let tasks = make_tasks(N - 1, || barrier.wait());
    tick().await;
    create_task(async move { barrier.reset() });
    for r in gather_tasks(tasks).await {
        assert_eq!(r.unwrap(), Err(BrokenBarrierError));
    }
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
}

#[aloop::test]
async fn locks_barrier_reset_barrier_while_tasks_waiting_and_waiting_again() {
    let barrier = leak(Barrier::new(N));
    let (broken, passed) = (counter(), counter());
    let tasks = make_tasks(N - 1, || async {
        if barrier.wait().await.is_err() {
            bump(broken);
        }
        barrier.wait().await.unwrap();
        bump(passed);
    });
    create_task(async move { barrier.reset() });
    tick().await;
    create_task(async move {
        barrier.wait().await.unwrap();
        bump(passed);
    });
    for r in gather_tasks(tasks).await {
        r.unwrap();
    }
    assert!(!barrier.broken());
    assert_eq!(broken.get(), N - 1);
    assert_eq!(passed.get(), N);
    assert_eq!(barrier.n_waiting(), 0);
}

#[aloop::test]
async fn locks_barrier_abort_barrier() {
    let barrier = leak(Barrier::new(1));
    create_task(async move { barrier.abort() });
    tick().await;
    assert_eq!(barrier.n_waiting(), 0);
    assert!(barrier.broken());
}

/// Rust form of a draining-state test. asyncio: the parties still leaving the first
/// round when `abort()` comes (two) fail there, and the two already out fail in their
/// second wait. aloop: all five have left the first round at once, so only the two
/// waiting a second time fail, and none fails in the first wait.
#[aloop::test]
async fn locks_barrier_abort_barrier_when_tasks_half_draining_half_blocking() {
    let barrier = leak(Barrier::new(N));
    let blocking_tasks = N / 2;
    let (broken_first, broken_second, count) = (counter(), counter(), counter());
    gather_n(N, || async move {
        if barrier.wait().await.is_err() {
            bump(broken_first);
        } else if bump(count) > blocking_tasks {
            barrier.abort();
        } else if barrier.wait().await.is_err() {
            bump(broken_second);
        }
    })
    .await;
    assert!(barrier.broken());
    assert_eq!(broken_first.get(), 0);
    assert_eq!(broken_second.get(), blocking_tasks);
    assert_eq!(barrier.n_waiting(), 0);
}

#[aloop::test]
async fn locks_barrier_abort_barrier_when_exception() {
    // The party with index N/2 "raises" inside its `async with barrier` block and aborts.
    let barrier = leak(Barrier::new(N));
    let (passed, broken) = (counter(), counter());
    gather_n(N, || async {
        let body = async {
            let i = barrier.wait().await?;
            if i == N / 2 {
                return Ok(true); // RuntimeError
            }
            barrier.wait().await?;
            bump(passed);
            Ok::<bool, BrokenBarrierError>(false)
        };
        match body.await {
            Err(BrokenBarrierError) => {
                bump(broken);
            }
            Ok(true) => barrier.abort(),
            Ok(false) => {}
        }
    })
    .await;
    assert!(barrier.broken());
    assert_eq!(passed.get(), 0);
    assert_eq!(broken.get(), N - 1);
    assert_eq!(barrier.n_waiting(), 0);
}

#[aloop::test]
async fn locks_barrier_abort_barrier_when_exception_then_resetting() {
    let barrier1 = leak(Barrier::new(N));
    let barrier2 = leak(Barrier::new(N));
    let (passed, broken, last) = (counter(), counter(), counter());
    gather_n(N, || async {
        let body = async {
            let i = barrier1.wait().await?;
            if i == N / 2 {
                return Ok(true); // RuntimeError
            }
            barrier1.wait().await?;
            bump(passed);
            Ok::<bool, BrokenBarrierError>(false)
        };
        match body.await {
            Err(BrokenBarrierError) => {
                bump(broken);
            }
            Ok(true) => barrier1.abort(),
            Ok(false) => {}
        }
        // Everyone leaves barrier1 before the reset, and nobody enters it before.
        if barrier2.wait().await.unwrap() == N / 2 {
            barrier1.reset();
        }
        barrier2.wait().await.unwrap();
        barrier1.wait().await.unwrap();
        bump(last);
    })
    .await;
    assert!(!barrier1.broken());
    assert_eq!(passed.get(), 0);
    assert_eq!(broken.get(), N - 1);
    assert_eq!(last.get(), N);
    assert_eq!(barrier1.n_waiting(), 0);
}
