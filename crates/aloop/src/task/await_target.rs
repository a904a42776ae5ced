//! What a task waits on, for cancel forwarding: asyncio's `Task.cancel()` cancels the
//! future the task is awaiting. `AwaitTarget` holds it in two words, since every task
//! carries one. A leaf of `task/`: the target kind "another task" is built in `meta.rs`,
//! which knows how to cancel a task.

use std::marker::PhantomData;
use std::ptr::NonNull;
use std::rc::Rc;

/// Something a task can wait on that must hear about the task's cancellation (asyncio
/// forwards `cancel()` to the awaited future).
pub(crate) trait CancelTarget {
    fn cancel_from_awaiter(&self);
}

/// What a task waits on: another task, or any other cancellable thing (`Rc<C>`, `C` a
/// [`CancelTarget`]). One thin pointer and a table of two functions: every task carries
/// one, and an enum of `TaskRef` and `Rc<dyn CancelTarget>` would take 24 bytes, not 16.
pub(crate) struct AwaitTarget {
    ptr: NonNull<()>,
    ops: &'static TargetOps,
}

/// How to cancel and release one kind of target.
pub(super) struct TargetOps {
    pub(super) cancel: unsafe fn(NonNull<()>),
    pub(super) release: unsafe fn(NonNull<()>),
}

struct RcTarget<C>(PhantomData<C>);

impl<C: CancelTarget + 'static> RcTarget<C> {
    const OPS: TargetOps = TargetOps {
        cancel: Self::cancel,
        release: Self::release,
    };

    unsafe fn cancel(ptr: NonNull<()>) {
        // SAFETY: `ptr` came from `Rc::<C>::into_raw` and the target still owns it.
        unsafe { ptr.cast::<C>().as_ref() }.cancel_from_awaiter();
    }

    unsafe fn release(ptr: NonNull<()>) {
        // SAFETY: as above; the target gives its count back exactly once.
        drop(unsafe { Rc::from_raw(ptr.cast::<C>().as_ptr()) });
    }
}

impl AwaitTarget {
    /// A target made of a pointer that owns one reference, and the functions that
    /// cancel through it and release it.
    ///
    /// # Safety
    /// `ops.cancel` may be called on `ptr` any number of times until `ops.release` is
    /// called on it once, when the target is dropped.
    pub(super) unsafe fn from_parts(ptr: NonNull<()>, ops: &'static TargetOps) -> Self {
        AwaitTarget { ptr, ops }
    }

    pub(crate) fn other<C: CancelTarget + 'static>(target: Rc<C>) -> Self {
        let ptr = Rc::into_raw(target).cast_mut().cast::<()>();
        AwaitTarget {
            // SAFETY: `Rc::into_raw` never returns null.
            ptr: unsafe { NonNull::new_unchecked(ptr) },
            ops: &RcTarget::<C>::OPS,
        }
    }

    pub(super) fn cancel(&self) {
        // SAFETY: `ptr` and `ops` were made together (`from_parts` or `other`).
        unsafe { (self.ops.cancel)(self.ptr) }
    }
}

impl Drop for AwaitTarget {
    fn drop(&mut self) {
        // SAFETY: as in `cancel`; this is the one release.
        unsafe { (self.ops.release)(self.ptr) }
    }
}
