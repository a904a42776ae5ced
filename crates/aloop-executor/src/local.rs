//! `LocalExecutor`: a single-threaded executor built from the crate's parts: a plain
//! `VecDeque` run queue for wakes on the owning thread, a `ConcurrentQueue` for wakes from
//! other threads, and thread parking when there is nothing to do.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use concurrent_queue::ConcurrentQueue;

use crate::{spawn_local, Runnable, Task, TaskRef};

thread_local! {
    /// The executor whose `run_until` is on this thread's stack: its id and local queue.
    static ACTIVE: Cell<(usize, *const RefCell<VecDeque<Runnable>>)> =
        const { Cell::new((0, std::ptr::null())) };
}

/// The cross-thread half: wakes from other threads and the sleeping owner.
struct Remote {
    id: usize,
    queue: ConcurrentQueue<Runnable>,
    owner: Thread,
    /// Set while the owner is about to park or parked, so wakers know to unpark it.
    sleeping: AtomicBool,
}

impl Remote {
    fn push(&self, runnable: Runnable) {
        let local = ACTIVE.with(|a| a.get());
        if local.0 == self.id {
            // SAFETY: ACTIVE holds this executor's queue only while its `run_until` is on
            // this thread's stack, which keeps the queue alive; the RefCell is never
            // borrowed across a poll, so this borrow cannot conflict.
            unsafe { (*local.1).borrow_mut().push_back(runnable) };
            return;
        }
        // The queue is unbounded and only closed when the executor is dropped; a push
        // after that hands the runnable back, and dropping it here is the cancellation.
        let _ = self.queue.push(runnable);
        self.unpark();
    }

    fn unpark(&self) {
        if self.sleeping.swap(false, Ordering::AcqRel) {
            self.owner.unpark();
        }
    }
}

impl Wake for Remote {
    fn wake(self: Arc<Self>) {
        self.unpark();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.unpark();
    }
}

static NEXT_ID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);

/// A single-threaded executor for `!Send` futures.
///
/// Tasks run in FIFO order of their wake-ups; a task that wakes itself (a yield) goes to
/// the back. Wakers are `Send`: a wake from another thread queues the task through a
/// lock-free queue and unparks the executor's thread.
///
/// ```
/// use aloop_executor::LocalExecutor;
///
/// let ex = LocalExecutor::new();
/// let (tx, rx) = std::sync::mpsc::channel();
/// let task = ex.spawn(async move { tx.send(5).unwrap(); "ok" });
/// assert_eq!(ex.run_until(task).unwrap(), "ok");
/// assert_eq!(rx.recv().unwrap(), 5);
/// ```
pub struct LocalExecutor {
    local: Rc<RefCell<VecDeque<Runnable>>>,
    remote: Arc<Remote>,
    tasks: RefCell<Vec<TaskRef>>,
}

impl LocalExecutor {
    /// Creates an executor owned by the current thread.
    pub fn new() -> Self {
        LocalExecutor {
            local: Rc::new(RefCell::new(VecDeque::new())),
            remote: Arc::new(Remote {
                id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
                queue: ConcurrentQueue::unbounded(),
                owner: thread::current(),
                sleeping: AtomicBool::new(false),
            }),
            tasks: RefCell::new(Vec::new()),
        }
    }

    /// Spawns a task; it starts when the executor next runs.
    pub fn spawn<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let remote = self.remote.clone();
        let (runnable, task) = spawn_local(future, move |r| remote.push(r));
        self.local.borrow_mut().push_back(runnable);
        let mut tasks = self.tasks.borrow_mut();
        if tasks.len() == tasks.capacity() {
            // Prune before growing, so the registry stays proportional to live tasks.
            tasks.retain(|t| !t.is_finished());
        }
        tasks.push(task.task_ref());
        task
    }

    /// Runs one queued task step, if any. Returns whether one ran.
    pub fn try_tick(&self) -> bool {
        self.drain_remote();
        let next = self.local.borrow_mut().pop_front();
        match next {
            Some(runnable) => {
                let _active = ActiveGuard::enter(self);
                runnable.run();
                true
            }
            None => false,
        }
    }

    fn drain_remote(&self) {
        while let Ok(r) = self.remote.queue.pop() {
            self.local.borrow_mut().push_back(r);
        }
    }

    /// Runs tasks until `future` completes, parking the thread when nothing is ready.
    pub fn run_until<F: Future>(&self, future: F) -> F::Output {
        let mut future = pin!(future);
        let waker = Waker::from(self.remote.clone());
        let main_woken = Arc::new(AtomicBool::new(true));
        let main_waker = Waker::from(Arc::new(MainWaker {
            flag: main_woken.clone(),
            inner: waker,
        }));
        let mut cx = Context::from_waker(&main_waker);
        loop {
            if main_woken.swap(false, Ordering::AcqRel) {
                let _active = ActiveGuard::enter(self);
                if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                    return out;
                }
            }
            // Run the steps queued so far, then give the main future its turn again: a
            // main future that keeps yielding must not starve the tasks.
            self.drain_remote();
            let batch = self.local.borrow().len();
            if batch > 0 {
                for _ in 0..batch {
                    self.try_tick();
                }
                continue;
            }
            // Announce the sleep, then re-check: a wake between the check and the park
            // either sees `sleeping` and unparks, or its work is found by the re-check.
            self.remote.sleeping.store(true, Ordering::Release);
            if self.remote.queue.is_empty() && !main_woken.load(Ordering::Acquire) {
                thread::park();
            }
            self.remote.sleeping.store(false, Ordering::Release);
        }
    }
}

impl Default for LocalExecutor {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for LocalExecutor {
    fn drop(&mut self) {
        // Drop every unfinished future here, on the owning thread, before anything can
        // reach them from elsewhere.
        for task in self.tasks.take() {
            task.abort();
        }
        self.remote.queue.close();
        let queued: Vec<Runnable> = self.local.borrow_mut().drain(..).collect();
        drop(queued);
        while let Ok(r) = self.remote.queue.pop() {
            drop(r);
        }
    }
}

struct MainWaker {
    flag: Arc<AtomicBool>,
    inner: Waker,
}

impl Wake for MainWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.flag.store(true, Ordering::Release);
        self.inner.wake_by_ref();
    }
}

/// Makes an executor the thread's active one for the duration of a poll or step.
struct ActiveGuard {
    prev: (usize, *const RefCell<VecDeque<Runnable>>),
}

impl ActiveGuard {
    fn enter(ex: &LocalExecutor) -> Self {
        let me = (ex.remote.id, Rc::as_ptr(&ex.local));
        ActiveGuard {
            prev: ACTIVE.with(|a| a.replace(me)),
        }
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        ACTIVE.with(|a| a.set(self.prev));
    }
}
