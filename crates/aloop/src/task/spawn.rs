//! `spawn_on`, which makes a task: the user's future wrapped in `TaskFuture` (current
//! task, panics caught, outcome published, cleanup on cancel), its `TaskRecord<T>` in
//! the same executor cell, registered with the loop and queued to start.

use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::pin::Pin;
use std::ptr::{addr_of, NonNull};
use std::rc::Rc;
use std::task::{Context, Poll};

use aloop_executor::{Runnable, Schedule, TaskRef};

use super::current::{CurrentTask, TaskGuard};
use super::meta::{TaskMeta, MUST_CANCEL};
use super::options::TaskOptions;
use super::record::TaskRecord;
use super::task_handle::Task;
use crate::error::{PanicPayload, TaskError};
use crate::loop_state::{LoopState, Ready, Remote};
use crate::running::push_if_running;

/// Where a woken task's step goes: straight onto the ready queue when the wake happens
/// on the loop's own thread while it runs (no atomics beyond the task's own), through
/// the cross-thread queue otherwise. Zero-sized: the loop is read from the task's meta,
/// so no cell carries a scheduler.
struct TaskScheduler;

impl Schedule for TaskScheduler {
    fn schedule(&self, runnable: Runnable) {
        // SAFETY: every task this schedules was spawned by `spawn_on`, whose metadata is
        // a `TaskRecord`, `repr(C)` with its `TaskMeta` first. `shared` is an `Arc`
        // (`Sync`), written once at the spawn; it is read through the raw pointer.
        let shared = unsafe { &*addr_of!((*runnable.metadata::<TaskMeta>().as_ptr()).shared) };
        if let Err(runnable) = push_if_running(shared.id(), runnable) {
            // A closed loop gives the item back and it is dropped here: on the loop's
            // thread that cancels the task; elsewhere close() already aborted it.
            let _ = shared.push(Remote::Task(runnable));
        }
    }
}

/// Makes a counted reference from the current-task pointer (see `CurrentTask`).
///
/// # Safety
/// `meta` is the `TaskMeta` of a live task whose metadata type is `TaskRecord<T>`.
unsafe fn task_ref_of<T>(meta: NonNull<TaskMeta>) -> TaskRef {
    // SAFETY: `TaskMeta` is the first field of the `repr(C)` `TaskRecord<T>`, so the
    // pointers coincide; the rest is the caller's promise.
    unsafe { TaskRef::from_metadata(meta.cast::<TaskRecord<T>>()) }
}

fn current_of<T: 'static>(ptr: NonNull<TaskRecord<T>>) -> CurrentTask {
    CurrentTask {
        meta: ptr.cast::<TaskMeta>(),
        task_ref: task_ref_of::<T>,
    }
}

/// The record of the task whose future the executor is polling or dropping: the one
/// this `TaskFuture` belongs to (the executor marks it around both; see
/// `aloop_executor::current_metadata`), so the future keeps no pointer of its own.
fn own_record<T>() -> NonNull<TaskRecord<T>> {
    // SAFETY: called only from `TaskFuture`'s poll and drop, which the executor runs
    // with this task marked; every `TaskFuture<F>` is spawned by `spawn_on` with a
    // `TaskRecord<F::Output>` as metadata.
    let record = unsafe { aloop_executor::current_metadata::<TaskRecord<T>>() };
    record.expect("aloop: a task's future was polled or dropped outside its executor")
}

/// The future the executor runs: the user's future plus the bookkeeping that makes it an
/// asyncio task. The executor polls and drops it only as part of its own task, so it
/// finds its record there (`own_record`).
///
/// The user's future is there until the task is done: the record's done flag, set by
/// `complete` right after the future is dropped, says whether it still is. (An
/// `Option` would say it too, but a future has no spare bit pattern to spell `None`
/// with, so the `Option` cost every task a word.)
struct TaskFuture<F: Future>
where
    F::Output: 'static,
{
    /// Structurally pinned: polled through a pin, dropped where it lies.
    future: ManuallyDrop<F>,
}

impl<F: Future> TaskFuture<F>
where
    F::Output: 'static,
{
    fn new(future: F) -> Self {
        TaskFuture {
            future: ManuallyDrop::new(future),
        }
    }

    /// Drops the user's future in place, catching a panic from its destructor.
    ///
    /// # Safety
    /// The future is still there (the task is not done), and the caller completes the
    /// record next, which marks it gone.
    unsafe fn drop_future(&mut self) -> Result<(), PanicPayload> {
        let future = &mut self.future;
        // SAFETY: dropped once (the caller's promise), in place, as its pin requires.
        catch_unwind(AssertUnwindSafe(|| unsafe { ManuallyDrop::drop(future) }))
            .map_err(PanicPayload::new)
    }
}

impl<F: Future> Drop for TaskFuture<F>
where
    F::Output: 'static,
{
    fn drop(&mut self) {
        let ptr = own_record::<F::Output>();
        // SAFETY: the executor drops the future before the metadata (`own_record`).
        let record = unsafe { ptr.as_ref() };
        if record.meta.done() {
            // The future finished and was dropped in its last poll.
            return;
        }
        // Cancelled (or the loop closed): run the future's destructors as the task, so
        // `current_task()` works in cleanup code, then record the cancellation.
        let guard = TaskGuard::enter(current_of(ptr));
        // SAFETY: not done, so the future is there; `complete` follows.
        let dropped = unsafe { self.drop_future() };
        drop(guard);
        let outcome = match dropped {
            Ok(()) => TaskError::Cancelled,
            Err(panic) => TaskError::Panicked(panic),
        };
        record.complete(ptr, Err(outcome));
    }
}

impl<F> Future for TaskFuture<F>
where
    F: Future,
    F::Output: 'static,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let ptr = own_record::<F::Output>();
        // SAFETY: the record outlives the poll (`own_record`).
        let record = unsafe { ptr.as_ref() };
        // The executor polls no more once this returned `Ready`, which it does only
        // when done.
        debug_assert!(!record.meta.done(), "a done task's future was polled");
        // SAFETY: the task is not moved out of: `this` is only used in place.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: the user's future is structurally pinned (never moved, dropped in
        // place), and there while the task is not done.
        let future = unsafe { Pin::new_unchecked(&mut *this.future) };
        record.meta.start_step();
        let guard = TaskGuard::enter(current_of(ptr));
        let polled = catch_unwind(AssertUnwindSafe(|| future.poll(cx)));
        drop(guard);
        let must_cancel = record.meta.flag(MUST_CANCEL);
        let result = match polled {
            Ok(Poll::Pending) => {
                if must_cancel {
                    // Cancelled during this step: what the step began to await goes too.
                    record.meta.forward_cancel();
                }
                return Poll::Pending;
            }
            // Cancelled during its last step: it ends cancelled and its output is
            // dropped, as asyncio's task does.
            Ok(Poll::Ready(_)) if must_cancel => Err(TaskError::Cancelled),
            Ok(Poll::Ready(output)) => Ok(output),
            Err(payload) => Err(TaskError::Panicked(PanicPayload::new(payload))),
        };
        // Drop the finished future before publishing the outcome, as a coroutine's frame
        // is gone by the time its task is done. A destructor that panics makes the
        // outcome that panic.
        // SAFETY: not done, so the future is there; `complete` follows.
        let result = match unsafe { this.drop_future() } {
            Ok(()) => result,
            Err(panic) => Err(TaskError::Panicked(panic)),
        };
        record.complete(ptr, result);
        Poll::Ready(())
    }
}

thread_local! {
    /// Task numbers (`Task-N`) per thread: a loop and its tasks live on one thread, and
    /// a plain counter keeps spawning free of atomics.
    static NEXT_TASK_ID: std::cell::Cell<u64> = const { std::cell::Cell::new(1) };
}

fn next_task_id() -> u64 {
    NEXT_TASK_ID.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    })
}

fn spawn<F>(
    state: &Rc<LoopState>,
    future: F,
    listed: bool,
    eager: bool,
    name: Option<String>,
    created_at: &'static Location<'static>,
) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let meta = TaskMeta::new(next_task_id(), state.shared().clone(), created_at);
    let record: TaskRecord<F::Output> = TaskRecord::new(meta);
    let (runnable, raw) =
        aloop_executor::spawn_local_with(record, |_| TaskFuture::new(future), TaskScheduler);
    let task = Task::from_raw(raw);
    if let Some(name) = name {
        task.set_name(name);
    }
    if state.is_closed() {
        // A closed loop runs nothing: the task ends cancelled at once, its future dropped.
        drop(runnable);
        return task;
    }
    if listed {
        let slot = state.register_task(task.raw().clone());
        task.record().meta.set_slot(slot);
    }
    if eager && state.is_running() {
        // Python 3.12's eager start: the first step runs now, inside the caller, with
        // this task as the current one; a task that finishes here never touches the
        // ready queue, and one that waits is woken onto it like any other.
        runnable.run();
    } else {
        state.push_ready(Ready::Task(runnable));
    }
    task
}

/// Spawns `future` on `state`: registers it and queues its first step behind what is
/// already ready (so it starts on the next iteration, in FIFO order with callbacks).
/// The task's creation site is the caller's (`#[track_caller]` up to the public call).
#[track_caller]
pub(crate) fn spawn_on<F>(state: &Rc<LoopState>, future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn(state, future, true, false, None, Location::caller())
}

/// `spawn_on` with the creation site given (the call was made on another thread, or
/// before a closure).
pub(crate) fn spawn_at<F>(
    state: &Rc<LoopState>,
    future: F,
    created_at: &'static Location<'static>,
) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn(state, future, true, false, None, created_at)
}

/// Spawns `future` eagerly (`create_eager_task`): its first step runs now if the loop
/// is running, else it is queued as `spawn_on` does.
#[track_caller]
pub(crate) fn spawn_eager<F>(state: &Rc<LoopState>, future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn(state, future, true, true, None, Location::caller())
}

/// Spawns `future` with asyncio's `create_task` keyword arguments: its name is set
/// before the first step; `eager_start: None` follows the loop's task factory.
#[track_caller]
pub(crate) fn spawn_with<F>(
    state: &Rc<LoopState>,
    future: F,
    options: TaskOptions,
) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let eager = options.eager_start.unwrap_or_else(|| state.eager_tasks());
    spawn(state, future, true, eager, options.name, Location::caller())
}

/// Spawns the loop's own machinery (a signal handler's watch, the Ctrl-C watch), which
/// asyncio does without tasks: left out of `all_tasks` (so it is not cancelled with the
/// user's tasks either). Whoever spawns it keeps its handle and aborts it, also when
/// the loop closes.
#[cfg(feature = "process")]
#[track_caller]
pub(crate) fn spawn_unlisted<F>(state: &Rc<LoopState>, future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    spawn(state, future, false, false, None, Location::caller())
}

#[cfg(test)]
mod size_probe {
    use crate::task::await_target::AwaitTarget;
    use crate::task::record::TaskRecord;

    #[test]
    fn task_record_stays_small() {
        // Header (24) + TaskRecord + a small future (16), no scheduler, no pointer back
        // from the future: 104 bytes asked, one 112-byte malloc chunk per trivial task
        // (112 asked would cost a 128-byte chunk, 16 more bytes per task).
        let size = std::mem::size_of::<TaskRecord<u64>>();
        assert!(size <= 64, "TaskRecord<u64> grew to {size} bytes");
        // The wrapper adds nothing to the user's future (the executor's stage, a union,
        // adds nothing either: see `aloop_executor`'s `raw.rs`).
        let i = 7u64;
        let future = async move { i };
        let user = std::mem::size_of_val(&future);
        let wrapped = crate::task::spawn::TaskFuture::new(future);
        assert_eq!(std::mem::size_of_val(&wrapped), user);
        // Its drop asks the executor for its record: there is none in this test.
        std::mem::forget(wrapped);
        assert_eq!(std::mem::size_of::<crate::task::spawn::TaskScheduler>(), 0);
        let target = std::mem::size_of::<Option<AwaitTarget>>();
        assert!(target <= 8, "Option<AwaitTarget> grew to {target} bytes");
        let kind = std::mem::size_of::<crate::task::wait_note::WaitKind>();
        assert_eq!(kind, 1, "a wait kind fits in the meta's spare byte");
    }
}

#[cfg(test)]
mod names {
    use crate::loop_state::LoopState;
    use crate::task::spawn::spawn_on;

    #[test]
    fn a_name_lives_as_long_as_its_task() {
        let state = LoopState::new().unwrap();
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let task = spawn_on(&state, async move { i });
                task.set_name(format!("worker-{i}"));
                task
            })
            .collect();
        assert_eq!(state.task_name_count(), 100);
        assert_eq!(tasks[7].get_name(), "worker-7");
        // Done but still held: the name is still there.
        state.stop();
        while state.task_count() > 0 {
            state.run_until_stopped();
            state.stop();
        }
        assert_eq!(tasks[7].get_name(), "worker-7");
        assert_eq!(state.task_name_count(), 100);
        drop(tasks);
        assert_eq!(state.task_name_count(), 0);
    }
}
