//! Thread-local context: the loop running on this thread and the task being polled.
//! Backs `get_running_loop`, `current_task`, and the fast path that lets a wake on the
//! loop's own thread push straight onto its ready queue.

use std::cell::Cell;
use std::ptr::NonNull;
use std::rc::Rc;

use aloop_executor::TaskRef;

use crate::error::NoRunningLoop;
use crate::event_loop::core::{LoopCore, Ready};
use crate::event_loop::LoopRef;
use crate::task::{AnyTask, AwaitTarget, CancelTarget, TaskMeta};

thread_local! {
    /// The loop inside `run_forever` on this thread, or null.
    static RUNNING: Cell<*const LoopCore> = const { Cell::new(std::ptr::null()) };
    /// The task whose step is running, if any.
    static CURRENT_TASK: Cell<Option<CurrentTask>> = const { Cell::new(None) };
}

/// Marks `core` as this thread's running loop until dropped.
pub(crate) struct LoopGuard {
    core: Rc<LoopCore>,
    /// Sockets created while the loop runs register with its reactor.
    _reactor: aloop_reactor::EnterGuard,
}

impl LoopGuard {
    /// Fails if another loop already runs on this thread.
    pub(crate) fn enter(core: &Rc<LoopCore>) -> Option<LoopGuard> {
        RUNNING.with(|r| {
            if !r.get().is_null() {
                return None;
            }
            r.set(Rc::as_ptr(core));
            core.running.set(true);
            Some(LoopGuard {
                core: core.clone(),
                _reactor: core.shared.driver.reactor.enter(),
            })
        })
    }
}

impl Drop for LoopGuard {
    fn drop(&mut self) {
        RUNNING.with(|r| r.set(std::ptr::null()));
        self.core.running.set(false);
        self.core.stopping.set(false);
    }
}

/// Pushes onto the ready queue of loop `id` if it is the one running on this thread;
/// gives the item back otherwise.
pub(crate) fn push_if_running(id: usize, item: Ready) -> Result<(), Ready> {
    RUNNING.with(|r| {
        let ptr = r.get();
        if ptr.is_null() {
            return Err(item);
        }
        // SAFETY: RUNNING is non-null only while a LoopGuard, which holds an Rc to the
        // core, is alive on this thread.
        let core = unsafe { &*ptr };
        if core.shared.id != id {
            return Err(item);
        }
        core.push_ready(item);
        Ok(())
    })
}

/// The running loop's core, if any.
pub(crate) fn running_core() -> Option<Rc<LoopCore>> {
    RUNNING.with(|r| {
        let ptr = r.get();
        if ptr.is_null() {
            return None;
        }
        // SAFETY: as in `push_if_running`.
        unsafe { &*ptr }.self_weak.upgrade()
    })
}

/// The event loop running on this thread (asyncio's `get_running_loop`).
///
/// ```
/// assert!(aloop::get_running_loop().is_err());
/// let lp = aloop::new_event_loop();
/// let same = lp.run_until_complete(async {
///     aloop::get_running_loop().unwrap().is_running()
/// });
/// assert!(same.unwrap());
/// ```
pub fn get_running_loop() -> Result<LoopRef, NoRunningLoop> {
    running_core().map(LoopRef::from_core).ok_or(NoRunningLoop)
}

/// The task whose step (or cleanup) is running: an uncounted pointer, valid while its
/// `TaskGuard` lives, since a task's cell outlives its own poll and drop.
#[derive(Clone, Copy)]
pub(crate) struct CurrentTask {
    pub(crate) meta: NonNull<TaskMeta>,
    /// Takes a counted reference (knows the task's output type, hence the cell layout).
    pub(crate) task_ref: unsafe fn(NonNull<TaskMeta>) -> TaskRef,
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
pub(crate) struct TaskGuard {
    prev: Option<CurrentTask>,
}

impl TaskGuard {
    pub(crate) fn enter(task: CurrentTask) -> TaskGuard {
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
    if running_core().is_none() {
        return Err(NoRunningLoop);
    }
    Ok(CURRENT_TASK.with(|c| c.get()).map(|task| {
        // SAFETY: `task_ref` matches the task's type, and the task is alive (its guard
        // is on this thread's stack).
        AnyTask::from_raw(unsafe { (task.task_ref)(task.meta) })
    }))
}

/// Records that the current task is now waiting on `target`, so that cancelling the task
/// cancels `target` too (asyncio forwards `cancel()` to the awaited future).
pub(crate) fn set_awaiting<C: CancelTarget + 'static>(target: Rc<C>) {
    set_awaiting_target(Some(AwaitTarget::other(target)));
}

/// As [`set_awaiting`], for any kind of target (another task included).
pub(crate) fn set_awaiting_target(target: Option<AwaitTarget>) {
    if let Some(task) = CURRENT_TASK.with(|c| c.get()) {
        task.meta().set_awaiting(target);
    }
}

/// Forgets what the current task waits on (used by `shield`).
pub(crate) fn clear_awaiting() {
    set_awaiting_target(None);
}
