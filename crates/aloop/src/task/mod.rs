//! `Task<T>`: a future scheduled on the loop, with asyncio's task API (cancel with
//! forwarding to what it awaits, done callbacks, names), and `AnyTask`, its type-erased
//! view for `current_task()` / `all_tasks()`.

mod await_target;
mod core;

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use aloop_executor::TaskRef;

use crate::current;
use crate::error::{InvalidStateError, TaskError};
use crate::event_loop::core::Ready;
use crate::handle::CallbackCell;

pub(crate) use self::await_target::{AwaitTarget, CancelTarget};
pub(crate) use self::core::{meta_of, spawn_on, TaskMeta};
use self::core::{TaskCore, Waiter};

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
    /// A reference to the task's cell, whose metadata is a `TaskCore<T>`.
    raw: TaskRef,
    _output: PhantomData<T>,
}

impl<T> Task<T> {
    /// Wraps a reference to a task made by `spawn_on` with output `T`.
    fn from_raw(raw: TaskRef) -> Self {
        Task {
            raw,
            _output: PhantomData,
        }
    }

    fn core(&self) -> &TaskCore<T> {
        // SAFETY: `Task<T>` is only made from tasks spawned by `spawn_on` for a future
        // with output `T`, whose metadata is exactly a `TaskCore<T>`.
        unsafe { self.raw.metadata::<TaskCore<T>>() }
    }
}

impl<T: 'static> Task<T> {
    /// Requests cancellation (asyncio's `Task.cancel`). Returns `false` if the task is
    /// already done. The future is dropped at the task's next step (its destructors are
    /// its cleanup); whatever task or future it is awaiting is cancelled too, unless it
    /// was wrapped in [`shield`](crate::shield).
    pub fn cancel(&self) -> bool {
        self.core().meta.cancel(&self.raw)
    }

    /// Number of pending cancellation requests (asyncio's `cancelling()`).
    pub fn cancelling(&self) -> u32 {
        self.core().meta.cancelling.get()
    }

    /// Decrements the request count and returns it. As in asyncio, this does not
    /// withdraw a cancellation that is already on its way.
    pub fn uncancel(&self) -> u32 {
        let meta = &self.core().meta;
        let n = meta.cancelling.get().saturating_sub(1);
        meta.cancelling.set(n);
        n
    }

    /// Whether the task finished (with a value, a panic, or by cancellation).
    pub fn done(&self) -> bool {
        self.core().meta.done()
    }

    /// Whether the task finished by cancellation.
    pub fn cancelled(&self) -> bool {
        self.core().meta.ended_cancelled()
    }

    /// The outcome, cloned (asyncio's `result()`), or `InvalidStateError` if the task is
    /// not done yet or its output was already moved out by an `await`.
    pub fn result(&self) -> Result<Result<T, TaskError>, InvalidStateError>
    where
        T: Clone,
    {
        let core = self.core();
        if !core.meta.done() {
            return Err(InvalidStateError::NOT_SET);
        }
        let result = core.peek_outcome(Result::clone);
        core.retrieved();
        result.ok_or(InvalidStateError::TAKEN)
    }

    /// The error the task ended with, if any (asyncio's `exception()`); for a pending
    /// task, `InvalidStateError`.
    pub fn exception(&self) -> Result<Option<TaskError>, InvalidStateError> {
        let core = self.core();
        if !core.meta.done() {
            return Err(InvalidStateError::NOT_SET);
        }
        core.retrieved();
        Ok(core.peek_outcome(|r| r.as_ref().err().cloned()).flatten())
    }

    /// Moves the outcome out if the task is done and nobody took it yet.
    pub fn take_result(&self) -> Option<Result<T, TaskError>> {
        let core = self.core();
        let outcome = core.outcome.take();
        if outcome.is_some() {
            core.retrieved();
        }
        outcome
    }

    /// Schedules `callback` to run (via `call_soon`) once the task is done, in
    /// registration order; on a done task it is scheduled right away, never called
    /// inline. Returns an id for [`Task::remove_done_callback`].
    pub fn add_done_callback(&self, callback: impl FnOnce(&Task<T>) + 'static) -> u64 {
        let core = self.core();
        let id = core.next_callback_id();
        if self.done() {
            if let Some(lp) = core.meta.core.upgrade() {
                let task = self.clone_handle();
                lp.push_ready(Ready::Callback(CallbackCell::new_rc(move || {
                    callback(&task)
                })));
            }
        } else {
            core.add_waiter(Waiter::Callback(id, Box::new(callback)));
        }
        id
    }

    /// Removes a done callback that has not been scheduled yet; returns whether it was
    /// found.
    pub fn remove_done_callback(&self, id: u64) -> bool {
        self.core().remove_callback(id)
    }

    /// The task's name (`Task-N` unless set).
    pub fn get_name(&self) -> String {
        self.core().meta.name()
    }

    /// Renames the task.
    pub fn set_name(&self, name: impl Into<String>) {
        self.core().meta.set_name(name.into());
    }

    /// A type-erased view of this task.
    pub fn as_any(&self) -> AnyTask {
        AnyTask {
            raw: self.raw.clone(),
        }
    }

    /// Another handle to the same task (for callbacks; `Task` itself is not `Clone`, as
    /// its output can be taken only once).
    fn clone_handle(&self) -> Task<T> {
        Task::from_raw(self.raw.clone())
    }
}

// The handle is a pointer; the output is never pinned through it.
impl<T> Unpin for Task<T> {}

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
        self.core().set_awaiter(cx.waker());
        current::set_awaiting_target(Some(AwaitTarget::task(self.raw.clone())));
        Poll::Pending
    }
}

impl<T> PartialEq for Task<T> {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl<T> Eq for Task<T> {}

impl<T> std::hash::Hash for Task<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.raw.task_id().hash(state)
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("name", &self.core().meta.name())
            .field("done", &self.core().meta.done())
            .finish()
    }
}

/// A task of any output type: what [`current_task`](crate::current_task) and
/// [`all_tasks`](crate::all_tasks) return. It can be cancelled, named and inspected, not
/// awaited.
#[derive(Clone)]
pub struct AnyTask {
    /// A reference to a task made by `spawn_on` (its metadata starts with a `TaskMeta`).
    raw: TaskRef,
}

impl AnyTask {
    pub(crate) fn from_raw(raw: TaskRef) -> Self {
        AnyTask { raw }
    }

    fn meta(&self) -> &TaskMeta {
        meta_of(&self.raw)
    }

    /// Requests cancellation, as [`Task::cancel`].
    pub fn cancel(&self) -> bool {
        self.meta().cancel(&self.raw)
    }

    /// Number of pending cancellation requests.
    pub fn cancelling(&self) -> u32 {
        self.meta().cancelling.get()
    }

    /// Decrements the request count, as [`Task::uncancel`].
    pub fn uncancel(&self) -> u32 {
        let meta = self.meta();
        let n = meta.cancelling.get().saturating_sub(1);
        meta.cancelling.set(n);
        n
    }

    /// Whether the task finished.
    pub fn done(&self) -> bool {
        self.meta().done()
    }

    /// Whether the task finished by cancellation.
    pub fn cancelled(&self) -> bool {
        self.meta().ended_cancelled()
    }

    /// The task's name.
    pub fn get_name(&self) -> String {
        self.meta().name()
    }

    /// Renames the task.
    pub fn set_name(&self, name: impl Into<String>) {
        self.meta().set_name(name.into());
    }

    /// A number identifying the task (the `N` of `Task-N`).
    pub fn id(&self) -> u64 {
        self.meta().id
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
