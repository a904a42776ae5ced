//! `Runnable`: the permission to run one step of a task, as held by a run queue.

use std::fmt;
use std::ptr::NonNull;

use crate::header::{self, Header};
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

    /// A pointer to the metadata given to [`spawn_local_with`](crate::spawn_local_with),
    /// valid while this runnable lives: a scheduler can read there where to send the
    /// task, and so need not carry it in every task's cell.
    ///
    /// # Safety
    /// The task was created by `spawn_local_with` with metadata of type `M`, or of a
    /// `#[repr(C)]` type whose first field is an `M`. Off the owning thread the metadata
    /// is shared with the owner: read only fields that are `Sync` and never written
    /// after the spawn, through the raw pointer (never a `&M` to the whole).
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::task::Poll;
    /// use aloop_executor::{spawn_local_with, Runnable};
    ///
    /// // The queue to send the task to lives in its metadata; the scheduler is a
    /// // zero-sized function.
    /// type Queue = Arc<Mutex<Vec<Runnable>>>;
    /// let queue = Queue::default();
    /// let mut yielded = false;
    /// let (runnable, _task) = spawn_local_with(
    ///     queue.clone(),
    ///     move |_| {
    ///         std::future::poll_fn(move |cx| {
    ///             if yielded {
    ///                 return Poll::Ready(());
    ///             }
    ///             yielded = true;
    ///             cx.waker().wake_by_ref();
    ///             Poll::Pending
    ///         })
    ///     },
    ///     |r: Runnable| {
    ///         // SAFETY: the metadata is a `Queue`: an `Arc`, `Sync`, never rewritten.
    ///         let queue = unsafe { r.metadata::<Queue>().as_ref() }.clone();
    ///         queue.lock().unwrap().push(r);
    ///     },
    /// );
    /// runnable.run(); // yields: the waker sends it through the metadata's queue
    /// let again = queue.lock().unwrap().pop().unwrap();
    /// again.run();
    /// assert!(queue.lock().unwrap().is_empty());
    /// ```
    pub unsafe fn metadata<M>(&self) -> NonNull<M> {
        // SAFETY: we hold a reference, so the cell is live.
        let header = unsafe { self.ptr.as_ref() };
        // SAFETY: as above; the type is the caller's promise.
        unsafe { (header.vtable.metadata)(self.ptr) }.cast()
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
        unsafe { header::drop_ref(self.ptr) };
    }
}

impl fmt::Debug for Runnable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runnable").field("task", &self.ptr).finish()
    }
}
