//! `Task<T>`: a future scheduled on the loop, with asyncio's task API (cancel with
//! forwarding to what it awaits, done callbacks, names, the outcome). The typed handle
//! over a task's `TaskRecord<T>` (`record.rs`); `any_task.rs` has the untyped one.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use aloop_executor::TaskRef;

use super::any_task::AnyTask;
use super::await_target::AwaitTarget;
use super::current::{is_current, note_wait, set_awaiting_target};
use super::record::TaskRecord;
use super::wait_note::WaitKind;
use crate::error::{InvalidStateError, TaskError};

/// A future running on the event loop (asyncio's `Task`).
///
/// Await it for `Result<T, TaskError>`: the output, or why there is none
/// ([`TaskError::Cancelled`], [`TaskError::Panicked`]). Awaiting moves the output out of
/// the task. Dropping the handle does not cancel the task: the loop keeps it alive until
/// it finishes. A task that awaits its own handle panics there (it would wait for itself
/// forever; asyncio raises `RuntimeError`).
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
    /// A reference to the task's cell, whose metadata is a `TaskRecord<T>`.
    raw: TaskRef,
    _output: PhantomData<T>,
}

impl<T> Task<T> {
    /// Wraps a reference to a task made by `spawn_on` with output `T`.
    pub(super) fn from_raw(raw: TaskRef) -> Self {
        Task {
            raw,
            _output: PhantomData,
        }
    }

    pub(super) fn record(&self) -> &TaskRecord<T> {
        // SAFETY: `Task<T>` is only made from tasks spawned by `spawn_on` for a future
        // with output `T`, whose metadata is exactly a `TaskRecord<T>`.
        unsafe { self.raw.metadata::<TaskRecord<T>>() }
    }

    /// The reference the handle holds.
    pub(super) fn raw(&self) -> &TaskRef {
        &self.raw
    }

    /// Gives up the typed handle for the untyped reference it holds.
    pub(crate) fn into_raw(self) -> TaskRef {
        self.raw
    }
}

impl<T: 'static> Task<T> {
    /// Requests cancellation (asyncio's `Task.cancel`). Returns `false` if the task is
    /// already done; then, as in asyncio, a panic it ended with is no longer reported as
    /// never retrieved. The future is dropped at the task's next step (its destructors
    /// are its cleanup); whatever task or future it is awaiting is cancelled too, unless
    /// it was wrapped in [`shield`](crate::shield). Requested while the task runs (it
    /// cancels itself), the cancel also reaches what that step starts to await, and a
    /// task that finishes in that same step ends cancelled, its output dropped.
    pub fn cancel(&self) -> bool {
        self.record().meta.cancel(&self.raw)
    }

    /// Number of pending cancellation requests (asyncio's `cancelling()`).
    pub fn cancelling(&self) -> u32 {
        self.record().meta.cancelling()
    }

    /// Decrements the request count and returns it. As in asyncio, this does not
    /// withdraw a cancellation that is already on its way.
    pub fn uncancel(&self) -> u32 {
        self.record().meta.uncancel()
    }

    /// Whether the task finished (with a value, a panic, or by cancellation).
    pub fn done(&self) -> bool {
        self.record().meta.done()
    }

    /// Whether the task finished by cancellation.
    pub fn cancelled(&self) -> bool {
        self.record().meta.ended_cancelled()
    }

    /// The outcome, cloned (asyncio's `result()`), or `InvalidStateError` if the task is
    /// not done yet or its output was already moved out by an `await`.
    pub fn result(&self) -> Result<Result<T, TaskError>, InvalidStateError>
    where
        T: Clone,
    {
        let record = self.record();
        if !record.meta.done() {
            return Err(InvalidStateError::NOT_SET);
        }
        let result = record.peek_outcome(Result::clone);
        record.retrieved();
        result.ok_or(InvalidStateError::TAKEN)
    }

    /// The error the task ended with, if any (asyncio's `exception()`); for a pending
    /// task, `InvalidStateError`.
    pub fn exception(&self) -> Result<Option<TaskError>, InvalidStateError> {
        let record = self.record();
        if !record.meta.done() {
            return Err(InvalidStateError::NOT_SET);
        }
        record.retrieved();
        Ok(record.peek_outcome(|r| r.as_ref().err().cloned()).flatten())
    }

    /// Moves the outcome out if the task is done and nobody took it yet.
    pub fn take_result(&self) -> Option<Result<T, TaskError>> {
        let record = self.record();
        let outcome = record.take_outcome();
        if outcome.is_some() {
            record.retrieved();
        }
        outcome
    }

    /// Schedules `callback` to run (via `call_soon`) once the task is done, in
    /// registration order; on a done task it is scheduled right away, never called
    /// inline. Returns an id for [`Task::remove_done_callback`].
    pub fn add_done_callback(&self, callback: impl FnOnce(&Task<T>) + 'static) -> u64 {
        let record = self.record();
        if !self.done() {
            return record.add_callback(Box::new(move |raw| callback(&Task::from_raw(raw))));
        }
        let id = record.callback_id_for_done_task();
        if let Some(home) = record.meta.home() {
            let task = self.clone_handle();
            home.call_soon(move || callback(&task));
        }
        id
    }

    /// Removes a done callback that has not been scheduled yet; returns whether it was
    /// found.
    pub fn remove_done_callback(&self, id: u64) -> bool {
        self.record().remove_callback(id)
    }

    /// The task's name (`Task-N` unless set).
    pub fn get_name(&self) -> String {
        self.record().meta.name()
    }

    /// Renames the task.
    pub fn set_name(&self, name: impl Into<String>) {
        self.record().meta.set_name(name.into());
    }

    /// A type-erased view of this task.
    pub fn as_any(&self) -> AnyTask {
        AnyTask::from_raw(self.raw.clone())
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
        // It would wait for itself forever; asyncio raises RuntimeError in the task.
        assert!(
            !is_current(&self.record().meta),
            "aloop: a Task cannot await on itself"
        );
        let starts = self.record().set_awaiter(cx.waker());
        set_awaiting_target(Some(AwaitTarget::task(self.raw.clone())));
        note_wait(WaitKind::Task, starts);
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
            .field("name", &self.record().meta.name())
            .field("done", &self.record().meta.done())
            .finish()
    }
}
