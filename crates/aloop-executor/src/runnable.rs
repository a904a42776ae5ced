//! `Runnable`: the permission to run one step of a task, as held by a run queue.

use std::fmt;
use std::ptr::NonNull;

use crate::raw::{self, Header};
use crate::state::COMPLETE;
use crate::thread_id;

/// One scheduled step of a task. Exactly one exists while a task is queued.
///
/// It is `Send` so that a wake on another thread can carry it through a cross-thread queue
/// to the owning thread; [`Runnable::run`] must then be called on that owning thread.
/// Dropping it without running cancels the task (its future is dropped), when that
/// happens on the owning thread.
pub struct Runnable {
    ptr: NonNull<Header>,
}

// SAFETY: a Runnable only touches the atomic state from a foreign thread; the future is
// polled or dropped only after checking that the current thread is the owner.
unsafe impl Send for Runnable {}
// SAFETY: `&Runnable` exposes nothing but the task's identity.
unsafe impl Sync for Runnable {}

impl Runnable {
    /// # Safety
    /// The caller transfers one reference to the new runnable.
    pub(crate) unsafe fn from_raw(ptr: NonNull<Header>) -> Runnable {
        Runnable { ptr }
    }

    /// Polls the task once. Returns `true` if the task woke itself during the poll and was
    /// queued again (through its scheduler) before this call returned.
    ///
    /// A panic inside the future is caught and becomes the task's output
    /// ([`TaskError::Panicked`](crate::TaskError::Panicked)).
    ///
    /// # Panics
    /// If called on a thread other than the one that spawned the task: its future may be
    /// `!Send`, so polling it elsewhere would be unsound.
    pub fn run(self) -> bool {
        let ptr = self.ptr;
        // SAFETY: we hold a reference.
        let header = unsafe { ptr.as_ref() };
        assert!(
            header.owner == thread_id::current(),
            "aloop-executor: a task must run on the thread that spawned it"
        );
        std::mem::forget(self);
        // SAFETY: the reference moves into `run`, which releases or re-queues it.
        unsafe { (header.vtable.run)(ptr) }
    }

    /// An address identifying the task while it is alive (equal for the same task).
    pub fn task_id(&self) -> usize {
        self.ptr.as_ptr() as usize
    }
}

impl Drop for Runnable {
    fn drop(&mut self) {
        // SAFETY: we hold a reference.
        let header = unsafe { self.ptr.as_ref() };
        let on_owner = header.owner == thread_id::current();
        let complete = header.state.load(std::sync::atomic::Ordering::Acquire) & COMPLETE != 0;
        if on_owner && !complete {
            // A queue discarded this step (e.g. the loop closed): the task ends cancelled.
            // SAFETY: owning thread; the runnable proves no poll is in progress.
            unsafe { (header.vtable.abort)(self.ptr) };
        }
        // SAFETY: releasing the runnable's own reference.
        unsafe { raw::drop_ref(self.ptr) };
    }
}

impl fmt::Debug for Runnable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runnable").field("task", &self.ptr).finish()
    }
}
