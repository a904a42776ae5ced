//! `Task<T>`: a future scheduled on the loop, with asyncio's task API (cancel with
//! forwarding to what it awaits, done callbacks, names), and `AnyTask`, its type-erased
//! view for `current_task()` / `all_tasks()`.
//!
//! A task is two allocations: the executor's cell (which holds the user's future inside a
//! `TaskFuture`) and the `TaskCore<T>` that the handle, the registry and done callbacks
//! share. The output lives in the core so that callbacks can look at it.

use std::cell::{Cell, OnceCell, RefCell};
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;

use crate::current::{self, TaskGuard};
use crate::error::{InvalidStateError, PanicPayload, TaskError};
use crate::event_loop::core::{LoopCore, LoopScheduler, Ready};
use crate::exception::ExceptionContext;
use crate::handle::CallbackCell;

/// Something a task can be waiting on, to which its cancellation is forwarded.
pub(crate) trait CancelTarget {
    fn cancel_from_awaiter(&self);
}

/// What every task core offers without its output type.
pub(crate) trait AnyTaskCore {
    fn meta(&self) -> &TaskMeta;
    fn ended_cancelled(&self) -> bool;
    /// Drops the future now (loop close); completes the task as cancelled.
    fn abort(&self) {
        if let Some(raw) = self.meta().raw.get() {
            raw.abort();
        }
    }
}

/// The part of a task that does not depend on its output type.
pub(crate) struct TaskMeta {
    id: u64,
    name: Cell<Option<Box<str>>>,
    raw: OnceCell<aloop_executor::Task<()>>,
    awaiting: Cell<Option<Rc<dyn CancelTarget>>>,
    cancelling: Cell<u32>,
    /// Index in the loop's registry (u32: a loop with 4 billion live tasks is out of memory first).
    slot: Cell<u32>,
    done: Cell<bool>,
    core: Weak<LoopCore>,
}

impl TaskMeta {
    pub(crate) fn set_awaiting(&self, target: Option<Rc<dyn CancelTarget>>) {
        let old = self.awaiting.replace(target);
        drop(old);
    }

    fn name(&self) -> String {
        let name = self.name.take();
        let shown = match &name {
            Some(n) => n.to_string(),
            None => format!("Task-{}", self.id),
        };
        self.name.set(name);
        shown
    }

    fn set_name(&self, name: String) {
        self.name.set(Some(name.into_boxed_str()));
    }

    /// asyncio's `Task.cancel`: count the request, forward it to what the task awaits,
    /// and have the executor drop the future at the task's next step.
    fn cancel(&self) -> bool {
        if self.done.get() {
            return false;
        }
        self.cancelling.set(self.cancelling.get() + 1);
        let target = self.awaiting.take();
        if let Some(target) = target {
            target.cancel_from_awaiter();
        }
        match self.raw.get() {
            Some(raw) => raw.cancel(),
            None => false,
        }
    }
}

enum Outcome<T> {
    Pending,
    Done(Result<T, TaskError>),
    Taken,
}

type DoneCallback<T> = Box<dyn FnOnce(&Task<T>)>;

/// Whoever waits for the task, in registration order: done callbacks and the waker of
/// the task awaiting the handle. asyncio keeps both in one list (awaiting is a done
/// callback there), so a callback added before the `await` runs before the awaiter.
enum Waiter<T> {
    Waker(Waker),
    Callback(u64, DoneCallback<T>),
}

pub(crate) struct TaskCore<T> {
    meta: TaskMeta,
    outcome: RefCell<Outcome<T>>,
    /// Whether the task ended by cancellation (kept apart from `outcome`, which an
    /// `await` may have taken).
    ended_cancelled: Cell<bool>,
    waiters: RefCell<Vec<Waiter<T>>>,
    next_callback_id: Cell<u32>,
    /// Whether anyone looked at the outcome; a panic nobody saw is reported on drop.
    retrieved: Cell<bool>,
}

impl<T: 'static> TaskCore<T> {
    /// Stores the outcome, unregisters the task, wakes its awaiter and schedules its done
    /// callbacks (never running them inline, as asyncio).
    fn complete(self: &Rc<Self>, result: Result<T, TaskError>) {
        if self.meta.done.replace(true) {
            return;
        }
        self.ended_cancelled
            .set(matches!(result, Err(TaskError::Cancelled)));
        *self.outcome.borrow_mut() = Outcome::Done(result);
        self.meta.set_awaiting(None);
        let core = self.meta.core.upgrade();
        if let Some(core) = &core {
            let removed = core
                .tasks
                .borrow_mut()
                .remove(self.meta.slot.get() as usize);
            drop(removed);
        }
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        for waiter in waiters {
            match waiter {
                Waiter::Waker(waker) => waker.wake(),
                Waiter::Callback(_, cb) => {
                    if let Some(core) = &core {
                        let task = Task { core: self.clone() };
                        core.push_ready(Ready::Callback(CallbackCell::new_rc(move || cb(&task))));
                    }
                }
            }
        }
    }
}

impl<T> AnyTaskCore for TaskCore<T> {
    fn meta(&self) -> &TaskMeta {
        &self.meta
    }

    fn ended_cancelled(&self) -> bool {
        self.ended_cancelled.get()
    }
}

impl<T> CancelTarget for TaskCore<T> {
    fn cancel_from_awaiter(&self) {
        self.meta.cancel();
    }
}

impl<T> Drop for TaskCore<T> {
    fn drop(&mut self) {
        if self.retrieved.get() {
            return;
        }
        if let Outcome::Done(Err(TaskError::Panicked(panic))) = &*self.outcome.borrow() {
            let context = ExceptionContext {
                message: "Task exception was never retrieved".into(),
                panic: Some(panic.clone()),
                task_name: Some(self.meta.name()),
            };
            match self.meta.core.upgrade() {
                Some(core) => core.call_exception_handler(&context),
                None => crate::exception::default_exception_handler(&context),
            }
        }
    }
}

pin_project! {
    /// The future the executor runs: the user's future plus the bookkeeping that makes it
    /// an asyncio task (current task, panics caught, outcome stored, cleanup on cancel).
    pub(crate) struct TaskFuture<F: Future>
    where
        F::Output: 'static,
    {
        #[pin]
        future: Option<F>,
        core: Rc<TaskCore<F::Output>>,
    }

    impl<F: Future> PinnedDrop for TaskFuture<F>
    where
        F::Output: 'static,
    {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            if this.future.is_none() {
                return;
            }
            // Cancelled (or the loop closed): run the future's destructors as the task,
            // so `current_task()` works in cleanup code, then record the cancellation.
            let guard = TaskGuard::enter(this.core.clone());
            let dropped = catch_unwind(AssertUnwindSafe(|| this.future.set(None)));
            drop(guard);
            let outcome = match dropped {
                Ok(()) => TaskError::Cancelled,
                Err(payload) => TaskError::Panicked(PanicPayload::new(payload)),
            };
            this.core.complete(Err(outcome));
        }
    }
}

impl<F> Future for TaskFuture<F>
where
    F: Future,
    F::Output: 'static,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        let Some(future) = this.future.as_mut().as_pin_mut() else {
            return Poll::Ready(());
        };
        this.core.meta.set_awaiting(None);
        let guard = TaskGuard::enter(this.core.clone());
        let polled = catch_unwind(AssertUnwindSafe(|| future.poll(cx)));
        drop(guard);
        let result = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(output)) => Ok(output),
            Err(payload) => Err(TaskError::Panicked(PanicPayload::new(payload))),
        };
        // Drop the finished future before publishing the outcome, as a coroutine's frame
        // is gone by the time its task is done.
        this.future.set(None);
        this.core.complete(result);
        Poll::Ready(())
    }
}

thread_local! {
    /// Task numbers (`Task-N`) per thread: a loop and its tasks live on one thread, and
    /// a plain counter keeps spawning free of atomics.
    static NEXT_TASK_ID: Cell<u64> = const { Cell::new(1) };
}

fn next_task_id() -> u64 {
    NEXT_TASK_ID.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    })
}

/// Spawns `future` on `core`: registers it and queues its first step behind what is
/// already ready (so it starts on the next iteration, in FIFO order with callbacks).
pub(crate) fn spawn_on<F>(core: &Rc<LoopCore>, future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let task_core = Rc::new(TaskCore {
        meta: TaskMeta {
            id: next_task_id(),
            name: Cell::new(None),
            raw: OnceCell::new(),
            awaiting: Cell::new(None),
            cancelling: Cell::new(0),
            slot: Cell::new(u32::MAX),
            done: Cell::new(false),
            core: Rc::downgrade(core),
        },
        outcome: RefCell::new(Outcome::Pending),
        ended_cancelled: Cell::new(false),
        waiters: RefCell::new(Vec::new()),
        next_callback_id: Cell::new(0),
        retrieved: Cell::new(false),
    });
    let wrapped = TaskFuture {
        future: Some(future),
        core: task_core.clone(),
    };
    let scheduler = LoopScheduler {
        shared: core.shared.clone(),
    };
    let (runnable, raw) = aloop_executor::spawn_local(wrapped, scheduler);
    // The core keeps the executor's handle (not a separate reference): cancel and abort
    // go through it, and dropping the core detaches the task.
    let _ = task_core.meta.raw.set(raw);
    let task = Task { core: task_core };
    if core.closed.get() {
        // A closed loop runs nothing: the task ends cancelled at once, its future dropped.
        drop(runnable);
        return task;
    }
    let slot = core.tasks.borrow_mut().insert(task.core.clone());
    task.core.meta.slot.set(slot as u32);
    core.push_ready(Ready::Task(runnable));
    task
}

/// A future running on the event loop (asyncio's `Task`).
///
/// Await it for `Result<T, TaskError>`: the output, or why there is none
/// ([`TaskError::Cancelled`], [`TaskError::Panicked`]). Awaiting moves the output out of
/// the task. Dropping the handle does not cancel the task: the loop keeps it alive until
/// it finishes.
///
/// ```
/// let lp = aloop::new_event_loop();
/// let out = lp.run_until_complete(async {
///     let t = aloop::create_task(async { 6 * 7 });
///     assert!(!t.done()); // it starts on the next iteration
///     t.await
/// });
/// assert_eq!(out.unwrap().unwrap(), 42);
/// ```
pub struct Task<T> {
    core: Rc<TaskCore<T>>,
}

impl<T: 'static> Task<T> {
    /// Requests cancellation (asyncio's `Task.cancel`). Returns `false` if the task is
    /// already done. The future is dropped at the task's next step (its destructors are
    /// its cleanup); whatever task or future it is awaiting is cancelled too, unless it
    /// was wrapped in [`shield`](crate::shield).
    pub fn cancel(&self) -> bool {
        self.core.meta.cancel()
    }

    /// Number of pending cancellation requests (asyncio's `cancelling()`).
    pub fn cancelling(&self) -> u32 {
        self.core.meta.cancelling.get()
    }

    /// Decrements the request count and returns it. As in asyncio, this does not
    /// withdraw a cancellation that is already on its way.
    pub fn uncancel(&self) -> u32 {
        let n = self.core.meta.cancelling.get().saturating_sub(1);
        self.core.meta.cancelling.set(n);
        n
    }

    /// Whether the task finished (with a value, a panic, or by cancellation).
    pub fn done(&self) -> bool {
        self.core.meta.done.get()
    }

    /// Whether the task finished by cancellation.
    pub fn cancelled(&self) -> bool {
        self.core.ended_cancelled.get()
    }

    /// The outcome, cloned (asyncio's `result()`), or `InvalidStateError` if the task is
    /// not done yet or its output was already moved out by an `await`.
    pub fn result(&self) -> Result<Result<T, TaskError>, InvalidStateError>
    where
        T: Clone,
    {
        match &*self.core.outcome.borrow() {
            Outcome::Pending => Err(InvalidStateError::NOT_SET),
            Outcome::Taken => Err(InvalidStateError::TAKEN),
            Outcome::Done(r) => {
                self.core.retrieved.set(true);
                Ok(r.clone())
            }
        }
    }

    /// The error the task ended with, if any (asyncio's `exception()`); for a pending
    /// task, `InvalidStateError`.
    pub fn exception(&self) -> Result<Option<TaskError>, InvalidStateError> {
        match &*self.core.outcome.borrow() {
            Outcome::Pending => Err(InvalidStateError::NOT_SET),
            Outcome::Taken => Ok(None),
            Outcome::Done(r) => {
                self.core.retrieved.set(true);
                Ok(r.as_ref().err().cloned())
            }
        }
    }

    /// Moves the outcome out if the task is done and nobody took it yet.
    pub fn take_result(&self) -> Option<Result<T, TaskError>> {
        let mut outcome = self.core.outcome.borrow_mut();
        if !matches!(&*outcome, Outcome::Done(_)) {
            return None;
        }
        self.core.retrieved.set(true);
        match std::mem::replace(&mut *outcome, Outcome::Taken) {
            Outcome::Done(r) => Some(r),
            _ => None,
        }
    }

    /// Schedules `callback` to run (via `call_soon`) once the task is done, in
    /// registration order; on a done task it is scheduled right away, never called
    /// inline. Returns an id for [`Task::remove_done_callback`].
    pub fn add_done_callback(&self, callback: impl FnOnce(&Task<T>) + 'static) -> u64 {
        let id = self.core.next_callback_id.get();
        self.core.next_callback_id.set(id.wrapping_add(1));
        let id = u64::from(id);
        if self.done() {
            if let Some(core) = self.core.meta.core.upgrade() {
                let task = Task {
                    core: self.core.clone(),
                };
                core.push_ready(Ready::Callback(CallbackCell::new_rc(move || {
                    callback(&task)
                })));
            }
        } else {
            self.core
                .waiters
                .borrow_mut()
                .push(Waiter::Callback(id, Box::new(callback)));
        }
        id
    }

    /// Removes a done callback that has not been scheduled yet; returns whether it was
    /// found.
    pub fn remove_done_callback(&self, id: u64) -> bool {
        let mut waiters = self.core.waiters.borrow_mut();
        let before = waiters.len();
        waiters.retain(|w| !matches!(w, Waiter::Callback(i, _) if *i == id));
        before != waiters.len()
    }

    /// The task's name (`Task-N` unless set).
    pub fn get_name(&self) -> String {
        self.core.meta.name()
    }

    /// Renames the task.
    pub fn set_name(&self, name: impl Into<String>) {
        self.core.meta.set_name(name.into());
    }

    /// A type-erased view of this task.
    pub fn as_any(&self) -> AnyTask {
        AnyTask {
            core: self.core.clone(),
        }
    }
}

impl<T: 'static> Future for Task<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(result) = self.take_result() {
            return Poll::Ready(result);
        }
        assert!(
            !self.done(),
            "aloop: a Task was awaited after its output had been taken"
        );
        let mut waiters = self.core.waiters.borrow_mut();
        let mine = waiters.iter_mut().find_map(|w| match w {
            Waiter::Waker(k) => Some(k),
            Waiter::Callback(..) => None,
        });
        match mine {
            Some(k) => {
                if !k.will_wake(cx.waker()) {
                    *k = cx.waker().clone();
                }
            }
            None => waiters.push(Waiter::Waker(cx.waker().clone())),
        }
        drop(waiters);
        current::set_awaiting(self.core.clone());
        Poll::Pending
    }
}

impl<T> PartialEq for Task<T> {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.core, &other.core)
    }
}

impl<T> Eq for Task<T> {}

impl<T> std::hash::Hash for Task<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        Rc::as_ptr(&self.core).hash(state)
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("name", &self.core.meta.name())
            .field("done", &self.core.meta.done.get())
            .finish()
    }
}

/// A task of any output type: what [`current_task`](crate::current_task) and
/// [`all_tasks`](crate::all_tasks) return. It can be cancelled, named and inspected, not
/// awaited.
#[derive(Clone)]
pub struct AnyTask {
    core: Rc<dyn AnyTaskCore>,
}

impl AnyTask {
    pub(crate) fn from_core(core: Rc<dyn AnyTaskCore>) -> Self {
        AnyTask { core }
    }

    /// Requests cancellation, as [`Task::cancel`].
    pub fn cancel(&self) -> bool {
        self.core.meta().cancel()
    }

    /// Number of pending cancellation requests.
    pub fn cancelling(&self) -> u32 {
        self.core.meta().cancelling.get()
    }

    /// Decrements the request count, as [`Task::uncancel`].
    pub fn uncancel(&self) -> u32 {
        let meta = self.core.meta();
        let n = meta.cancelling.get().saturating_sub(1);
        meta.cancelling.set(n);
        n
    }

    /// Whether the task finished.
    pub fn done(&self) -> bool {
        self.core.meta().done.get()
    }

    /// Whether the task finished by cancellation.
    pub fn cancelled(&self) -> bool {
        self.core.ended_cancelled()
    }

    /// The task's name.
    pub fn get_name(&self) -> String {
        self.core.meta().name()
    }

    /// Renames the task.
    pub fn set_name(&self, name: impl Into<String>) {
        self.core.meta().set_name(name.into());
    }

    /// A number identifying the task (the `N` of `Task-N`).
    pub fn id(&self) -> u64 {
        self.core.meta().id
    }
}

impl PartialEq for AnyTask {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl Eq for AnyTask {}

impl fmt::Debug for AnyTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyTask")
            .field("name", &self.get_name())
            .field("done", &self.done())
            .finish()
    }
}

#[cfg(test)]
mod size_probe {
    #[test]
    fn task_core_stays_small() {
        // With the Rc header, 136 bytes is the most that fits a 160-byte malloc chunk.
        let size = std::mem::size_of::<super::TaskCore<u64>>();
        assert!(size <= 136, "TaskCore<u64> grew to {size} bytes");
    }
}
