//! What a task waits on, for cancel forwarding: asyncio's `Task.cancel()` cancels the
//! future the task is awaiting. `AwaitTarget` holds it in one tagged pointer, since every
//! task carries one: another task (a `TaskRef`, tag bit clear), or any other cancellable
//! thing (an `Rc<C>`, tag bit set) whose first field says how to cancel and release it.
//! A leaf of `task/`: cancelling a task target is `meta.rs`'s business.

use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::rc::Rc;

use aloop_executor::TaskRef;

/// Something a task can wait on that must hear about the task's cancellation (asyncio
/// forwards `cancel()` to the awaited future).
///
/// # Safety
/// The implementing type is `#[repr(C)]` and its first field is the
/// `CancelOps::of::<Self>()` it was made with: a thin pointer to it is all an
/// `AwaitTarget` keeps.
pub(crate) unsafe trait CancelTarget {
    /// What the target is, for task dumps ("Promise", "TaskGroup", ...).
    const KIND: &'static str;

    fn cancel_from_awaiter(&self);

    /// What it is, and the unfinished tasks it stands for, by number, if it stands for
    /// tasks (a gather's or a group's children: the task dump's edges).
    fn describe(&self) -> Description {
        (Self::KIND, None)
    }
}

/// A target's kind, and the tasks it stands for (`CancelTarget::describe`).
pub(crate) type Description = (&'static str, Option<Vec<u64>>);

/// How to cancel and release one kind of target, through a thin pointer.
struct TargetOps {
    cancel: unsafe fn(NonNull<()>),
    release: unsafe fn(NonNull<()>),
    describe: unsafe fn(NonNull<()>) -> Description,
}

/// The first field of every `CancelTarget`.
pub(crate) struct CancelOps(&'static TargetOps);

impl CancelOps {
    pub(crate) fn of<C: CancelTarget + 'static>() -> CancelOps {
        CancelOps(&RcTarget::<C>::OPS)
    }
}

struct RcTarget<C>(PhantomData<C>);

impl<C: CancelTarget + 'static> RcTarget<C> {
    const OPS: TargetOps = TargetOps {
        cancel: Self::cancel,
        release: Self::release,
        describe: Self::describe,
    };

    unsafe fn cancel(ptr: NonNull<()>) {
        // SAFETY: `ptr` came from `Rc::<C>::into_raw` and the target still owns it.
        unsafe { ptr.cast::<C>().as_ref() }.cancel_from_awaiter();
    }

    unsafe fn describe(ptr: NonNull<()>) -> Description {
        // SAFETY: as in `cancel`.
        unsafe { ptr.cast::<C>().as_ref() }.describe()
    }

    unsafe fn release(ptr: NonNull<()>) {
        // SAFETY: as above; the target gives its count back exactly once.
        drop(unsafe { Rc::from_raw(ptr.cast::<C>().as_ptr()) });
    }
}

/// Set in the pointer of a target that is not a task (both kinds are 8-aligned).
const OTHER: usize = 1;

/// What a task waits on: another task, or any other `CancelTarget`. One word.
pub(crate) struct AwaitTarget {
    tagged: NonNull<u8>,
}

impl AwaitTarget {
    pub(super) fn task(task: TaskRef) -> Self {
        let ptr = task.into_raw().cast::<u8>();
        debug_assert_eq!(ptr.as_ptr() as usize & OTHER, 0);
        AwaitTarget { tagged: ptr }
    }

    pub(crate) fn other<C: CancelTarget + 'static>(target: Rc<C>) -> Self {
        let ptr = Rc::into_raw(target).cast_mut().cast::<u8>();
        debug_assert_eq!(ptr as usize & OTHER, 0);
        // SAFETY: `Rc::into_raw` is never null, nor is one past it; the tag bit is free
        // (the value starts with a reference, so it is 8-aligned).
        let tagged = unsafe { NonNull::new_unchecked(ptr.wrapping_add(OTHER)) };
        AwaitTarget { tagged }
    }

    /// The untagged pointer, if this is not a task.
    fn other_ptr(&self) -> Option<NonNull<()>> {
        if self.tagged.as_ptr() as usize & OTHER == 0 {
            return None;
        }
        // SAFETY: a tagged pointer is an `Rc::into_raw` pointer plus one.
        Some(unsafe { NonNull::new_unchecked(self.tagged.as_ptr().wrapping_sub(OTHER)) }.cast())
    }

    fn ops(ptr: NonNull<()>) -> &'static TargetOps {
        // SAFETY: `ptr` points to a live `CancelTarget`, whose first field is its
        // `CancelOps` (the trait's contract).
        unsafe { ptr.cast::<CancelOps>().as_ref() }.0
    }

    /// Cancels the target: a task through `cancel_task`, anything else by itself.
    pub(super) fn cancel(&self, cancel_task: impl FnOnce(&TaskRef)) {
        match self.other_ptr() {
            // SAFETY: the target keeps its pointer's reference until dropped.
            Some(ptr) => unsafe { (Self::ops(ptr).cancel)(ptr) },
            None => {
                // SAFETY: untagged, the pointer came from `TaskRef::into_raw`, and the
                // target still owns its reference; `ManuallyDrop` keeps it there.
                let task = ManuallyDrop::new(unsafe { TaskRef::from_raw(self.tagged.cast()) });
                cancel_task(&task);
            }
        }
    }
}

/// What a task waits on, as a task dump shows it.
pub(crate) enum Awaited {
    Task(TaskRef),
    /// Any other target: its kind, and the tasks it stands for if it stands for tasks
    /// (a gather's children).
    Other(&'static str, Option<Vec<u64>>),
}

impl AwaitTarget {
    /// Says what the target is (a task: another handle to it).
    pub(super) fn describe(&self) -> Awaited {
        match self.other_ptr() {
            Some(ptr) => {
                // SAFETY: the target keeps its pointer's reference until dropped.
                let (kind, tasks) = unsafe { (Self::ops(ptr).describe)(ptr) };
                Awaited::Other(kind, tasks)
            }
            None => {
                // SAFETY: as in `cancel`; `ManuallyDrop` keeps the target's reference, and
                // the clone is a new one of its own.
                let task = ManuallyDrop::new(unsafe { TaskRef::from_raw(self.tagged.cast()) });
                Awaited::Task((*task).clone())
            }
        }
    }
}

impl Drop for AwaitTarget {
    fn drop(&mut self) {
        match self.other_ptr() {
            // SAFETY: this is the one release of the target's reference.
            Some(ptr) => unsafe { (Self::ops(ptr).release)(ptr) },
            // SAFETY: as in `cancel`; this is the one release.
            None => drop(unsafe { TaskRef::from_raw(self.tagged.cast()) }),
        }
    }
}
