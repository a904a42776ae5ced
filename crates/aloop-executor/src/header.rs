//! The task header: the part of a task cell every handle can see without knowing its
//! types (the state word, the vtable, the owning thread), and everything a handle does
//! through it alone: take and release references, wake (the `Waker` vtable), ask for
//! cancellation. `raw.rs` builds the typed cell around it; `runnable.rs`, `task.rs`
//! and the wakers hold only `NonNull<Header>`.

use std::ptr::NonNull;
use std::sync::atomic::Ordering::{AcqRel, Acquire};
use std::task::{RawWaker, RawWakerVTable};

use crate::state::*;
use crate::sync::AtomicUsize;

/// The part of a task every handle can see without knowing its types.
pub(crate) struct Header {
    pub(crate) state: AtomicUsize,
    pub(crate) vtable: &'static TaskVTable,
    /// The thread that spawned the task; the only one allowed to poll or drop the future.
    pub(crate) owner: usize,
}

/// Typed operations, reached through the header.
pub(crate) struct TaskVTable {
    /// Hands a new `Runnable` (owning one reference) to the task's scheduler.
    pub(crate) schedule: unsafe fn(NonNull<Header>),
    /// Runs one step (`RawTask::run`).
    pub(crate) run: unsafe fn(NonNull<Header>) -> bool,
    /// Drops the future now and completes the task as cancelled (owning thread only).
    pub(crate) abort: unsafe fn(NonNull<Header>),
    /// Moves the output into `*mut Option<Result<T, TaskError>>`.
    pub(crate) take_output: unsafe fn(NonNull<Header>, *mut ()),
    /// Drops an output nobody will read (owning thread only).
    pub(crate) drop_output: unsafe fn(NonNull<Header>),
    /// Frees the cell once no reference and no handle remain.
    pub(crate) dealloc: unsafe fn(NonNull<Header>),
    /// The address of the metadata given to `spawn_local_with`.
    pub(crate) metadata: unsafe fn(NonNull<Header>) -> NonNull<()>,
}

/// Releases one reference, freeing the cell if it was the last and no handle remains.
///
/// # Safety
/// The caller owns the reference it releases.
pub(crate) unsafe fn drop_ref(ptr: NonNull<Header>) {
    // SAFETY: the caller's reference keeps the header alive until the fetch_sub.
    let header = unsafe { ptr.as_ref() };
    let prev = header.state.fetch_sub(REF_ONE, AcqRel);
    if prev & REF_MASK == REF_ONE && prev & HANDLE == 0 {
        // SAFETY: that was the last reference and there is no handle.
        unsafe { (header.vtable.dealloc)(ptr) };
    }
}

/// Takes one more reference.
pub(crate) fn add_ref(header: &Header) {
    let prev = header.state.fetch_add(REF_ONE, AcqRel);
    if refs(prev) > (isize::MAX as usize) >> REF_ONE.trailing_zeros() {
        // Same policy as Arc: a count this large means leaked wakers in a loop.
        std::process::abort();
    }
}

/// Wakes the task. With `owned`, the caller's reference is consumed (by-value wake).
///
/// # Safety
/// The caller holds a reference (owned, or borrowed for the call).
pub(crate) unsafe fn wake(ptr: NonNull<Header>, owned: bool) {
    // SAFETY: the caller holds a reference.
    let header = unsafe { ptr.as_ref() };
    let mut state = header.state.load(Acquire);
    loop {
        if state & (COMPLETE | SCHEDULED) != 0 {
            break;
        }
        if state & RUNNING != 0 {
            // The step in progress will queue the task again when its poll returns.
            match header
                .state
                .compare_exchange_weak(state, state | SCHEDULED, AcqRel, Acquire)
            {
                Ok(_) => break,
                Err(actual) => state = actual,
            }
            continue;
        }
        // The new runnable needs a reference: reuse the caller's when it is owned.
        let next = if owned {
            state | SCHEDULED
        } else {
            (state | SCHEDULED) + REF_ONE
        };
        match header
            .state
            .compare_exchange_weak(state, next, AcqRel, Acquire)
        {
            Ok(_) => {
                // SAFETY: the runnable gets the reference accounted for above.
                unsafe { (header.vtable.schedule)(ptr) };
                return;
            }
            Err(actual) => state = actual,
        }
    }
    if owned {
        // SAFETY: the caller's reference was not handed on.
        unsafe { drop_ref(ptr) };
    }
}

/// Asks the task to stop at its next step. Returns false if it already completed.
pub(crate) fn request_cancel(ptr: NonNull<Header>) -> bool {
    // SAFETY: callers (Task, TaskRef) hold the cell alive.
    let header = unsafe { ptr.as_ref() };
    let mut state = header.state.load(Acquire);
    loop {
        if state & COMPLETE != 0 {
            return false;
        }
        if state & CANCEL_REQUESTED != 0 {
            return true;
        }
        let idle = state & (SCHEDULED | RUNNING) == 0;
        let mut next = state | CANCEL_REQUESTED | SCHEDULED;
        if idle {
            next += REF_ONE;
        }
        match header
            .state
            .compare_exchange_weak(state, next, AcqRel, Acquire)
        {
            Ok(_) => {
                if idle {
                    // SAFETY: the runnable gets the reference added above.
                    unsafe { (header.vtable.schedule)(ptr) };
                }
                return true;
            }
            Err(actual) => state = actual,
        }
    }
}

static WAKER_VTABLE: RawWakerVTable =
    RawWakerVTable::new(waker_clone, waker_wake, waker_wake_by_ref, waker_drop);

pub(crate) fn raw_waker(ptr: NonNull<Header>) -> RawWaker {
    RawWaker::new(ptr.as_ptr() as *const (), &WAKER_VTABLE)
}

unsafe fn waker_clone(data: *const ()) -> RawWaker {
    // SAFETY: a waker's data pointer is a live header it holds a reference to.
    let ptr = unsafe { NonNull::new_unchecked(data as *mut Header) };
    // SAFETY: as above.
    add_ref(unsafe { ptr.as_ref() });
    raw_waker(ptr)
}

unsafe fn waker_wake(data: *const ()) {
    // SAFETY: the waker owns a reference, consumed here.
    unsafe { wake(NonNull::new_unchecked(data as *mut Header), true) }
}

unsafe fn waker_wake_by_ref(data: *const ()) {
    // SAFETY: the waker's reference is borrowed for the call.
    unsafe { wake(NonNull::new_unchecked(data as *mut Header), false) }
}

unsafe fn waker_drop(data: *const ()) {
    // SAFETY: the waker owns a reference, released here.
    unsafe { drop_ref(NonNull::new_unchecked(data as *mut Header)) }
}
