//! The task being polled on this thread: `current_task()`, the guard a task step (or
//! its cleanup) holds, and "the current task now awaits this" for cancel forwarding,
//! which promises, combinators and `Task`'s own `poll` report through here.

use std::cell::Cell;
use std::ptr::NonNull;
use std::rc::Rc;

use aloop_executor::TaskRef;

use super::any_task::AnyTask;
use super::await_target::{AwaitTarget, CancelTarget};
use super::meta::TaskMeta;
use super::wait_note::WaitKind;
use crate::error::NoRunningLoop;
use crate::running::is_loop_running;

thread_local! {
    /// The task whose step is running, if any.
    static CURRENT_TASK: Cell<Option<CurrentTask>> = const { Cell::new(None) };
}

/// The task whose step (or cleanup) is running: an uncounted pointer, valid while its
/// `TaskGuard` lives, since a task's cell outlives its own poll and drop.
#[derive(Clone, Copy)]
pub(super) struct CurrentTask {
    pub(super) meta: NonNull<TaskMeta>,
    /// Takes a counted reference (knows the task's output type, hence the cell layout).
    pub(super) task_ref: unsafe fn(NonNull<TaskMeta>) -> TaskRef,
}

impl CurrentTask {
    fn meta(&self) -> &TaskMeta {
        // SAFETY: a CurrentTask is only reachable while its task's guard is alive, and
        // the task's cell outlives that.
        unsafe { self.meta.as_ref() }
    }
}

/// Makes `task` the current task until dropped (restoring the previous one, so that
/// nested polls — a task polled from inside another — stay correct).
pub(super) struct TaskGuard {
    prev: Option<CurrentTask>,
}

impl TaskGuard {
    pub(super) fn enter(task: CurrentTask) -> TaskGuard {
        TaskGuard {
            prev: CURRENT_TASK.with(|c| c.replace(Some(task))),
        }
    }
}

impl Drop for TaskGuard {
    fn drop(&mut self) {
        CURRENT_TASK.with(|c| c.set(self.prev));
    }
}

/// The task whose step is running (asyncio's `current_task`): `Ok(None)` in a plain
/// callback, `Err(NoRunningLoop)` outside a loop.
///
/// ```
/// let lp = aloop::new_event_loop();
/// let name = lp.run_until_complete(async {
///     aloop::current_task().unwrap().unwrap().get_name()
/// });
/// assert!(name.unwrap().starts_with("Task-"));
/// ```
pub fn current_task() -> Result<Option<AnyTask>, NoRunningLoop> {
    if !is_loop_running() {
        return Err(NoRunningLoop);
    }
    Ok(CURRENT_TASK.with(|c| c.get()).map(|task| {
        // SAFETY: `task_ref` matches the task's type, and the task is alive (its guard
        // is on this thread's stack).
        AnyTask::from_raw(unsafe { (task.task_ref)(task.meta) })
    }))
}

/// A reference to the task whose step is running, if any.
pub(super) fn current_task_ref() -> Option<TaskRef> {
    CURRENT_TASK.with(|c| c.get()).map(|task| {
        // SAFETY: as in `current_task`.
        unsafe { (task.task_ref)(task.meta) }
    })
}

/// Records that the current task is now waiting on `target`, so that cancelling the task
/// cancels `target` too (asyncio forwards `cancel()` to the awaited future).
pub(crate) fn set_awaiting<C: CancelTarget + 'static>(target: Rc<C>) {
    set_awaiting_target(Some(AwaitTarget::other(target)));
}

/// As [`set_awaiting`], for any kind of target (another task included).
pub(super) fn set_awaiting_target(target: Option<AwaitTarget>) {
    if let Some(task) = CURRENT_TASK.with(|c| c.get()) {
        task.meta().set_awaiting(target);
    }
}

/// Whether `meta` is the current task's (a task polling its own handle).
pub(super) fn is_current(meta: &TaskMeta) -> bool {
    CURRENT_TASK
        .with(|c| c.get())
        .is_some_and(|task| std::ptr::eq(task.meta.as_ptr(), meta))
}

/// The running task's current leaf future waits on `kind` (see `wait_note.rs`);
/// `starts`: this poll begins the wait. Nothing outside a task. Not inlined: the leaves'
/// `Pending` paths call it, and their hot paths stay as small as they were.
#[inline(never)]
pub(crate) fn note_wait(kind: WaitKind, starts: bool) {
    if let Some(task) = CURRENT_TASK.with(|c| c.get()) {
        task.meta().note_wait(kind, starts, None);
    }
}

/// `note_wait` for a sleep ending at `until`.
#[inline(never)]
pub(crate) fn note_sleep(starts: bool, until: std::time::Instant) {
    if let Some(task) = CURRENT_TASK.with(|c| c.get()) {
        task.meta().note_wait(WaitKind::Sleep, starts, Some(until));
    }
}

/// The wait hook aloop lends `aloop-sync` on its loops' threads
/// (`aloop_sync::set_wait_hook`).
pub(crate) fn sync_wait_hook(on: aloop_sync::WaitingOn, starts: bool) {
    note_wait(WaitKind::Sync(on), starts);
}

/// Forgets what the current task waits on (used by `shield`).
pub(crate) fn clear_awaiting() {
    set_awaiting_target(None);
}
