//! What a task waits on, for cancel forwarding: asyncio's `Task.cancel()` cancels the
//! future the task is awaiting. `AwaitTarget` holds it in two words, since every task
//! carries one.

use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::rc::Rc;

use aloop_executor::TaskRef;

use super::core::meta_of;

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

struct TargetOps {
    cancel: unsafe fn(NonNull<()>),
    release: unsafe fn(NonNull<()>),
}

static TASK_TARGET: TargetOps = TargetOps {
    cancel: |ptr| {
        // SAFETY: `ptr` came from `TaskRef::into_raw` in `AwaitTarget::task` and its
        // reference is still held by the target; `ManuallyDrop` keeps it there.
        let task = ManuallyDrop::new(unsafe { TaskRef::from_raw(ptr) });
        meta_of(&task).cancel(&task);
    },
    release: |ptr| {
        // SAFETY: as above; the target gives its reference back exactly once.
        drop(unsafe { TaskRef::from_raw(ptr) });
    },
};

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
    pub(crate) fn task(task: TaskRef) -> Self {
        AwaitTarget {
            ptr: task.into_raw(),
            ops: &TASK_TARGET,
        }
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
        // SAFETY: `ptr` and `ops` were made together by `task` or `other`.
        unsafe { (self.ops.cancel)(self.ptr) }
    }
}

impl Drop for AwaitTarget {
    fn drop(&mut self) {
        // SAFETY: as in `cancel`; this is the one release.
        unsafe { (self.ops.release)(self.ptr) }
    }
}
