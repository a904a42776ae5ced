//! Test harness: a single-threaded `LocalPool` driven step by step, standing in for
//! asyncio's loop in the conformance tests, plus a shared output log.
#![allow(dead_code)]

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use futures_executor::{LocalPool, LocalSpawner};
use futures_util::future::{AbortHandle, Abortable};
use futures_util::task::LocalSpawnExt;

/// The `print` of the asyncio snippets: lines in the order they were written.
#[derive(Clone, Default)]
pub struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    pub fn push(&self, line: impl Into<String>) {
        self.0.borrow_mut().push(line.into());
    }
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
}

/// A tiny "loop": spawn tasks, run until nothing can progress, cancel tasks.
pub struct Sim {
    pool: LocalPool,
    spawner: LocalSpawner,
}

/// Handle to a spawned task: `cancel` drops its future at its next poll, like
/// asyncio's `Task.cancel()`; `done` tells whether it finished or was cancelled.
pub struct TaskHandle {
    abort: AbortHandle,
    done: Rc<RefCell<Option<bool>>>,
}

impl TaskHandle {
    pub fn cancel(&self) {
        self.abort.abort();
    }
    /// `Some(true)` if it completed, `Some(false)` if cancelled, `None` if pending.
    pub fn outcome(&self) -> Option<bool> {
        *self.done.borrow()
    }
}

impl Sim {
    pub fn new() -> Self {
        let pool = LocalPool::new();
        let spawner = pool.spawner();
        Sim { pool, spawner }
    }

    pub fn spawn(&self, fut: impl Future<Output = ()> + 'static) -> TaskHandle {
        let (abort, reg) = AbortHandle::new_pair();
        let done = Rc::new(RefCell::new(None));
        let done2 = done.clone();
        self.spawner
            .spawn_local(async move {
                let finished = Abortable::new(fut, reg).await.is_ok();
                *done2.borrow_mut() = Some(finished);
            })
            .expect("spawn");
        TaskHandle { abort, done }
    }

    /// Runs every task until all are blocked (asyncio: `await asyncio.sleep(...)` long
    /// enough for everything runnable to run).
    pub fn run(&mut self) {
        self.pool.run_until_stalled();
    }

    /// Runs `fut` to completion on the pool, with the spawned tasks.
    pub fn block_on<T>(&mut self, fut: impl Future<Output = T>) -> T {
        self.pool.run_until(fut)
    }
}

/// asyncio's `await asyncio.sleep(0)`: yields to the executor exactly once.
pub fn yield_now() -> impl Future<Output = ()> {
    struct YieldNow(bool);
    impl Future for YieldNow {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.0 {
                return Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
    YieldNow(false)
}

/// A stand-in for a short `asyncio.sleep`: a few yields, letting other tasks run.
pub async fn pause() {
    for _ in 0..3 {
        yield_now().await;
    }
}
