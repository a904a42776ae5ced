//! The task state word: flag bits in the low bits, the reference count above them.
//!
//! One `AtomicUsize` per task. Wakers may live on any thread, so this word is the only
//! part of a task that other threads read or write; every other field of the task cell is
//! owned by the thread that spawned it.

/// A `Runnable` for the task exists (queued, or about to be), or, while `RUNNING`, the
/// task was woken during its poll and must be queued again when the poll returns.
pub(crate) const SCHEDULED: usize = 1 << 0;
/// The future is being polled right now.
pub(crate) const RUNNING: usize = 1 << 1;
/// The future is gone: it finished, panicked, or was cancelled. The output (if any) is in
/// the cell until the handle takes or drops it.
pub(crate) const COMPLETE: usize = 1 << 2;
/// `cancel()` was called; the next step drops the future instead of polling it.
pub(crate) const CANCEL_REQUESTED: usize = 1 << 3;
/// The `Task<T>` handle is alive. It is tracked apart from the count so that its drop
/// can release the output on the owning thread first.
pub(crate) const HANDLE: usize = 1 << 4;
/// The task completed by cancellation (its output is `Err(TaskError::Cancelled)`).
pub(crate) const CANCELLED: usize = 1 << 5;

/// The last reference was released on a foreign thread while the cell still held
/// owner-only state, and the cell was sent back to its owner to be freed there. Set
/// once: if that trip fails too (the scheduler is gone), the cell is leaked.
pub(crate) const ORPHANED: usize = 1 << 6;

/// The cell holds the task's output: stored at completion while a `Task<T>` handle
/// exists, cleared when the handle takes or drops it. The cell's stage has no tag of its
/// own (`raw.rs`): this bit and `COMPLETE` say what it holds. Written only on the owning
/// thread.
pub(crate) const OUTPUT: usize = 1 << 7;

/// One reference (a waker, a runnable, or a `TaskRef`).
pub(crate) const REF_ONE: usize = 1 << 8;
/// Mask selecting the reference count.
pub(crate) const REF_MASK: usize = !(REF_ONE - 1);

/// Number of references encoded in a state word.
pub(crate) fn refs(state: usize) -> usize {
    state >> REF_ONE.trailing_zeros()
}
