//! Helpers for the ports of CPython's asyncio test suite (`tests/cpython/`, see
//! `docs/conformance.md`); the catalogue conformance tests use [`crate::Log`] and
//! [`crate::combinators`] instead.
//!
//! CPython's tests lean on two asyncio habits Rust spells differently: a primitive shared
//! by every task of a test (here leaked to `&'static`, so tasks can borrow it and hand
//! guards to each other), and releasing a lock or permit from a task other than the one
//! that took it (here the taker parks its guard in a [`Held`] and the test drops it).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// Leaks `value` for the rest of the test process: the `&'static` stand-in for an
/// asyncio primitive that every task of a test refers to. Each test leaks a few bytes.
pub fn leak<T>(value: T) -> &'static T {
    Box::leak(Box::new(value))
}

/// `await asyncio.sleep(0)`: yields to the loop exactly once.
pub async fn tick() {
    aloop::sleep(Duration::ZERO).await;
}

/// `n` times [`tick`].
pub async fn ticks(n: usize) {
    for _ in 0..n {
        tick().await;
    }
}

/// Guards (lock guards, semaphore permits) parked by the tasks that took them, so the
/// test can release them later as asyncio's `lock.release()` does from any task.
/// Cloning shares the same store.
pub struct Held<G>(Rc<RefCell<Vec<G>>>);

impl<G> Clone for Held<G> {
    fn clone(&self) -> Self {
        Held(self.0.clone())
    }
}

impl<G> Default for Held<G> {
    fn default() -> Self {
        Held(Rc::new(RefCell::new(Vec::new())))
    }
}

impl<G> Held<G> {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parks `guard` (the taker keeps the lock held after it returns).
    pub fn put(&self, guard: G) {
        self.0.borrow_mut().push(guard);
    }

    /// Drops the oldest parked guard: asyncio's `release()`. Panics if none is parked,
    /// as asyncio's `release()` of an unheld lock raises.
    #[track_caller]
    pub fn release(&self) {
        let guard = {
            let mut held = self.0.borrow_mut();
            assert!(!held.is_empty(), "release() with nothing held");
            held.remove(0)
        };
        drop(guard);
    }

    /// Calls `f` with the oldest parked guard (asyncio's `cond.notify()` by whoever holds
    /// the lock). Panics if none is parked.
    #[track_caller]
    pub fn with_first<R>(&self, f: impl FnOnce(&G) -> R) -> R {
        let held = self.0.borrow();
        f(held.first().expect("nothing held"))
    }

    /// How many guards are parked.
    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }

    /// Whether no guard is parked.
    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }
}

/// Runs its closure when dropped unless [`finish`](IfCancelled::finish) was called
/// first: a coroutine's `except CancelledError:` clause. A future dropped at an `await`
/// (its task cancelled, or a timeout or task group dropping it) never reaches `finish`.
pub struct IfCancelled<F: FnOnce()>(Option<F>);

impl<F: FnOnce()> IfCancelled<F> {
    /// Arms `on_cancel`.
    pub fn new(on_cancel: F) -> Self {
        IfCancelled(Some(on_cancel))
    }

    /// The code got past the awaits: disarms the clause.
    pub fn finish(mut self) {
        self.0 = None;
    }
}

impl<F: FnOnce()> Drop for IfCancelled<F> {
    fn drop(&mut self) {
        if let Some(on_cancel) = self.0.take() {
            on_cancel();
        }
    }
}

/// `asyncio.gather(*tasks, return_exceptions=True)` over tasks already created: each
/// task's outcome, in order.
pub async fn gather_tasks<T: 'static>(
    tasks: impl IntoIterator<Item = aloop::Task<T>>,
) -> Vec<Result<T, aloop::TaskError>> {
    aloop::Gather::from_tasks(tasks).return_exceptions().await
}

/// How long one wait of a ported test may take before the test fails instead of
/// hanging CI (CPython's `support.LONG_TIMEOUT` is longer; nothing comes near it).
pub const LIMIT: Duration = Duration::from_secs(30);

/// Awaits `f`, failing the test if it takes longer than [`LIMIT`].
pub async fn bounded<F: std::future::IntoFuture>(f: F) -> F::Output {
    aloop::timeout(LIMIT, f)
        .await
        .expect("the wait took longer than the test's limit")
}

/// Polls `done` every millisecond until it holds, within [`LIMIT`] (CPython's
/// `test_utils.run_until`).
pub async fn until(mut done: impl FnMut() -> bool) {
    bounded(async {
        while !done() {
            aloop::sleep(Duration::from_millis(1)).await;
        }
    })
    .await;
}

/// Runs `f` (which makes its own loop: a loop is `!Send`) on a thread of its own and
/// fails the test if it has not returned within `secs` seconds, so a loop that failed
/// to stop cannot hang CI. A panic in `f` is raised again here.
#[track_caller]
pub fn on_thread_within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(value) => {
            worker.join().unwrap();
            value
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the sender is dropped only after sending"),
        },
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("the loop did not return within {secs} s")
        }
    }
}
