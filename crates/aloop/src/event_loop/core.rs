//! The loop's state: the ready queue, the timer wheel, the cross-thread queue, and the
//! registry of live tasks. `run_once.rs` drives it; `mod.rs` is the public face.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::{Rc, Weak};
use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use aloop_executor::{Runnable, Schedule, TaskRef};
use aloop_timer::{TimerKey, TimerWheel};
use concurrent_queue::ConcurrentQueue;

use super::driver::Driver;
use crate::current;
use crate::exception::{default_exception_handler, ExceptionContext};
use crate::handle::Callback;
use crate::task::{meta_of, TaskMeta};

/// An entry of the ready queue: a callback, a task step, or a threadsafe `stop()`.
pub(crate) enum Ready {
    Callback(Rc<dyn Callback>),
    Task(Runnable),
    Stop,
}

/// What other threads send to the loop.
pub(crate) enum Remote {
    Task(Runnable),
    Callback(Box<dyn FnOnce() + Send>),
    Stop,
}

/// What the timer wheel holds: a `call_later` callback, or the waker of a `sleep`.
pub(crate) enum TimerEntry {
    Callback(Rc<dyn Callback>),
    Waker(Waker),
}

/// The part of the loop other threads may touch (through `LoopHandle` and wakers).
pub(crate) struct Shared {
    pub(crate) id: usize,
    queue: ConcurrentQueue<Remote>,
    pub(crate) driver: Driver,
    /// Set while the loop is about to block or blocked in the driver: only then does a
    /// remote push need the (syscall-priced) notify.
    polling: AtomicBool,
}

static NEXT_LOOP_ID: AtomicUsize = AtomicUsize::new(1);

impl Shared {
    /// Queues an item for the loop and wakes it if it sleeps. Gives the item back if the
    /// loop is closed.
    pub(crate) fn push(&self, item: Remote) -> Result<(), Remote> {
        self.queue.push(item).map_err(|e| e.into_inner())?;
        // Pairs with the fence in `about_to_block`: either the loop sees the item, or we
        // see that it blocks.
        fence(Ordering::SeqCst);
        if self.polling.swap(false, Ordering::SeqCst) {
            self.driver.notify();
        }
        Ok(())
    }

    /// Announces that the loop will block; returns false if work arrived meanwhile (then
    /// the loop must not block).
    pub(crate) fn about_to_block(&self) -> bool {
        self.polling.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        self.queue.is_empty()
    }

    pub(crate) fn done_blocking(&self) {
        self.polling.store(false, Ordering::Relaxed);
    }

    pub(crate) fn pop(&self) -> Option<Remote> {
        if self.queue.is_empty() {
            return None;
        }
        self.queue.pop().ok()
    }

    pub(crate) fn close(&self) {
        self.queue.close();
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }
}

/// Where a woken task's step goes: straight onto the ready queue when the wake happens on
/// the loop's own thread while it runs (no atomics beyond the task's own), through the
/// cross-thread queue otherwise.
pub(crate) struct LoopScheduler {
    pub(crate) shared: Arc<Shared>,
}

impl Schedule for LoopScheduler {
    fn schedule(&self, runnable: Runnable) {
        if let Err(Ready::Task(runnable)) =
            current::push_if_running(self.shared.id, Ready::Task(runnable))
        {
            // A closed loop gives the item back and it is dropped here: on the loop's
            // thread that cancels the task; elsewhere close() already aborted it.
            let _ = self.shared.push(Remote::Task(runnable));
        }
    }
}

pub(crate) type ExceptionHandler = Rc<dyn Fn(&ExceptionContext)>;

/// Everything the loop owns. Shared (`Rc`) by `EventLoop`, `LoopRef`s, timer handles and
/// tasks; `!Send`, as the loop is.
pub(crate) struct LoopCore {
    pub(crate) shared: Arc<Shared>,
    pub(crate) ready: RefCell<VecDeque<Ready>>,
    pub(crate) timers: RefCell<TimerWheel<TimerEntry>>,
    /// Reused buffer for the timers that expire in one iteration.
    pub(crate) expired: RefCell<Vec<TimerEntry>>,
    pub(crate) running: Cell<bool>,
    pub(crate) stopping: Cell<bool>,
    pub(crate) closed: Cell<bool>,
    pub(crate) debug: Cell<bool>,
    pub(crate) slow_callback_duration: Cell<Duration>,
    pub(crate) exception_handler: RefCell<Option<ExceptionHandler>>,
    pub(crate) tasks: RefCell<TaskRegistry>,
    pub(crate) iteration: Cell<u64>,
    pub(crate) default_executor: RefCell<Option<aloop_blocking::ThreadPoolExecutor>>,
    pub(crate) fd_watches: RefCell<super::fd_watch::FdWatches>,
    pub(crate) self_weak: Weak<LoopCore>,
}

impl LoopCore {
    pub(crate) fn new() -> std::io::Result<Rc<LoopCore>> {
        let driver = Driver::new()?;
        Ok(Rc::new_cyclic(|weak| LoopCore {
            shared: Arc::new(Shared {
                id: NEXT_LOOP_ID.fetch_add(1, Ordering::Relaxed),
                queue: ConcurrentQueue::unbounded(),
                driver,
                polling: AtomicBool::new(false),
            }),
            ready: RefCell::new(VecDeque::new()),
            timers: RefCell::new(TimerWheel::new()),
            expired: RefCell::new(Vec::new()),
            running: Cell::new(false),
            stopping: Cell::new(false),
            closed: Cell::new(false),
            debug: Cell::new(false),
            slow_callback_duration: Cell::new(Duration::from_millis(100)),
            exception_handler: RefCell::new(None),
            tasks: RefCell::new(TaskRegistry::default()),
            iteration: Cell::new(0),
            default_executor: RefCell::new(None),
            fd_watches: RefCell::new(Default::default()),
            self_weak: weak.clone(),
        }))
    }

    pub(crate) fn push_ready(&self, item: Ready) {
        self.ready.borrow_mut().push_back(item);
    }

    pub(crate) fn insert_timer(&self, when: Instant, entry: TimerEntry) -> TimerKey {
        self.timers.borrow_mut().insert(when, entry)
    }

    pub(crate) fn cancel_timer(&self, key: TimerKey) {
        // Take the entry out first and drop it after the borrow ends: its destructor
        // (a closure's captures) may schedule more work.
        let removed = self.timers.borrow_mut().cancel(key);
        drop(removed);
    }

    /// Reports an error nobody could receive, through the handler or the default one.
    pub(crate) fn call_exception_handler(&self, context: &ExceptionContext) {
        let handler = self.exception_handler.borrow().clone();
        match handler {
            None => default_exception_handler(context),
            Some(handler) => {
                let outcome =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(context)));
                if let Err(payload) = outcome {
                    default_exception_handler(&ExceptionContext {
                        message: format!(
                            "Unhandled error in exception handler while handling: {context}"
                        ),
                        panic: Some(crate::error::PanicPayload::new(payload)),
                        task_name: None,
                    });
                }
            }
        }
    }
}

/// The live tasks of a loop (asyncio's `all_tasks`): a dense vector, each task knowing
/// its index, so that registering and unregistering are O(1) with no free list (a
/// removal moves the last task into the hole). Like asyncio's `WeakSet`, it has no
/// order to keep.
#[derive(Default)]
pub(crate) struct TaskRegistry {
    tasks: Vec<TaskRef>,
}

impl TaskRegistry {
    /// Adds a task; returns its index, which the task keeps for `remove`.
    pub(crate) fn insert(&mut self, task: TaskRef) -> u32 {
        self.tasks.push(task);
        // A loop with 4 billion live tasks is out of memory long before this truncates.
        (self.tasks.len() - 1) as u32
    }

    /// Removes the task at `index` if it is `task` (a task never registered, e.g. one
    /// spawned on a closed loop, holds an index past the end).
    pub(crate) fn remove(&mut self, index: u32, task: &TaskMeta) -> Option<TaskRef> {
        let index = index as usize;
        let here = self.tasks.get(index)?;
        if !std::ptr::eq(meta_of(here), task) {
            return None;
        }
        let removed = self.tasks.swap_remove(index);
        if let Some(moved) = self.tasks.get(index) {
            meta_of(moved).set_slot(index as u32);
        }
        Some(removed)
    }

    pub(crate) fn len(&self) -> usize {
        self.tasks.len()
    }

    pub(crate) fn snapshot(&self) -> Vec<TaskRef> {
        self.tasks.clone()
    }
}
