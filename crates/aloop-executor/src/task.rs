//! Handles to a spawned task: `Task<T>` (awaits the output) and `TaskRef` (a type-erased
//! reference for registries, able to cancel).

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::atomic::Ordering::{AcqRel, Acquire};
use std::task::{Context, Poll, Waker};

use crate::error::TaskError;
use crate::header::{self, Header};
use crate::raw::{self, Awaiter};
use crate::state::*;

/// The handle of a spawned task: await it for the task's output.
///
/// Awaiting yields `Ok(output)`, `Err(TaskError::Cancelled)` or
/// `Err(TaskError::Panicked(_))`. Dropping the handle *detaches* the task: it keeps
/// running and its output is dropped when it finishes. [`Task::cancel`] stops it.
///
/// The handle is `!Send`: it lives on the thread that owns the task, which is what lets
/// the task keep its output and awaiter without locks.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use aloop_executor::{spawn_local, Runnable, TaskError};
///
/// let queue = Arc::new(Mutex::new(Vec::<Runnable>::new()));
/// let q = queue.clone();
/// let (runnable, task) = spawn_local(async { 7 }, move |r| q.lock().unwrap().push(r));
/// assert!(task.cancel());        // cancelled before its first step ...
/// runnable.run();                // ... so the step drops the future unpolled
/// assert!(task.is_cancelled());
/// ```
pub struct Task<T> {
    ptr: NonNull<Header>,
    _marker: PhantomData<(*const (), T)>,
}

impl<T> Task<T> {
    pub(crate) fn from_raw(ptr: NonNull<Header>) -> Self {
        Task {
            ptr,
            _marker: PhantomData,
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: the HANDLE bit keeps the cell alive while the handle exists.
        unsafe { self.ptr.as_ref() }
    }

    /// The awaiter slot: a `Task<T>` only comes from `spawn_local`, whose metadata is
    /// an `Awaiter`. Owning thread only (`Task` is !Send).
    fn awaiter(&self) -> &Awaiter {
        // SAFETY: the handle keeps the cell alive; the metadata type is `Awaiter`.
        unsafe {
            (self.header().vtable.metadata)(self.ptr)
                .cast::<Awaiter>()
                .as_ref()
        }
    }

    fn state(&self) -> usize {
        self.header().state.load(Acquire)
    }

    /// Requests cancellation. Returns `false` if the task already finished, `true`
    /// otherwise (also when a request is already pending). The future is dropped at the
    /// task's next step, not inside this call; until then [`Task::is_cancelled`] is false.
    pub fn cancel(&self) -> bool {
        header::request_cancel(self.ptr)
    }

    /// Whether the task has finished (with an output, a panic, or by cancellation).
    pub fn is_finished(&self) -> bool {
        self.state() & COMPLETE != 0
    }

    /// Drops the task's future right now and completes it as cancelled, as
    /// [`TaskRef::abort`].
    pub fn abort(&self) {
        // SAFETY: Task is !Send, so this is the owning thread.
        unsafe { (self.header().vtable.abort)(self.ptr) }
    }

    /// Whether the task finished by cancellation.
    pub fn is_cancelled(&self) -> bool {
        self.state() & CANCELLED != 0
    }

    /// Whether a cancellation was requested (it may not have taken effect yet).
    pub fn is_cancel_requested(&self) -> bool {
        self.state() & CANCEL_REQUESTED != 0
    }

    /// Takes the output if the task has finished and the output is still there.
    pub fn try_take(&mut self) -> Option<Result<T, TaskError>> {
        if !self.is_finished() {
            return None;
        }
        let mut out: Option<Result<T, TaskError>> = None;
        // SAFETY: the task is complete and we are on the owning thread (`Task` is !Send);
        // the out pointer has the type `take_output` expects for this `T`.
        unsafe {
            (self.header().vtable.take_output)(self.ptr, (&mut out as *mut Option<_>).cast())
        };
        out
    }

    /// A type-erased reference to the same task.
    pub fn task_ref(&self) -> TaskRef {
        header::add_ref(self.header());
        TaskRef { ptr: self.ptr }
    }

    /// An address identifying the task while it is alive.
    pub fn task_id(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    /// Drops the handle without cancelling the task (same as `drop`).
    pub fn detach(self) {}
}

// The handle is a pointer; the output is never pinned through it.
impl<T> Unpin for Task<T> {}

impl<T> Future for Task<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(out) = this.try_take() {
            return Poll::Ready(out);
        }
        assert!(
            !this.is_finished(),
            "aloop-executor: Task polled after its output was taken"
        );
        // SAFETY: the awaiter slot belongs to the owning thread, which is this one.
        let slot = unsafe { &mut *this.awaiter().get() };
        match slot {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => *slot = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        let header = self.header();
        // SAFETY: owning thread; a waker left from an abandoned await must not keep its
        // task alive until this one finishes.
        drop(unsafe { (*self.awaiter().get()).take() });
        if header.state.load(Acquire) & COMPLETE != 0 {
            // SAFETY: owning thread; drop the output nobody took.
            unsafe { (header.vtable.drop_output)(self.ptr) };
        }
        let prev = header.state.fetch_and(!HANDLE, AcqRel);
        if prev & REF_MASK == 0 {
            // SAFETY: no references and now no handle: we own the cell.
            unsafe { (header.vtable.dealloc)(self.ptr) };
        }
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("id", &self.task_id())
            .field("finished", &self.is_finished())
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// A type-erased, reference-counted pointer to a task: lets a registry (an event loop's
/// `all_tasks`) cancel or abort tasks whose output type it does not know.
///
/// Like [`Task`], it is `!Send` and belongs to the task's owning thread.
pub struct TaskRef {
    ptr: NonNull<Header>,
}

impl TaskRef {
    /// # Safety
    /// The caller transfers one reference to the new `TaskRef`.
    pub(crate) unsafe fn from_header(ptr: NonNull<Header>) -> TaskRef {
        TaskRef { ptr }
    }

    /// Gives up the handle without releasing its reference, as a thin pointer (for
    /// compact storage); [`TaskRef::from_raw`] takes it back.
    pub fn into_raw(self) -> NonNull<()> {
        let ptr = self.ptr.cast();
        std::mem::forget(self);
        ptr
    }

    /// Rebuilds a `TaskRef` from [`TaskRef::into_raw`].
    ///
    /// # Safety
    /// `ptr` came from `into_raw` on this thread, and its reference was not taken back
    /// before: the new handle owns it.
    pub unsafe fn from_raw(ptr: NonNull<()>) -> TaskRef {
        TaskRef { ptr: ptr.cast() }
    }

    /// Takes a new reference to the task whose metadata `metadata` points to.
    ///
    /// # Safety
    /// `metadata` must point to the metadata of a live task created on this thread by
    /// [`spawn_local_with`](crate::spawn_local_with) with metadata type `M` exactly (the
    /// offset of the metadata in the cell depends on `M`'s alignment), and the caller
    /// must keep the task alive during the call (hold a reference, or be inside its poll).
    pub unsafe fn from_metadata<M>(metadata: NonNull<M>) -> TaskRef {
        let offset = raw::metadata_offset::<M>();
        // SAFETY: per the contract, the header lies `offset` bytes before the metadata
        // in the same allocation.
        let ptr = unsafe { NonNull::new_unchecked(metadata.as_ptr().cast::<u8>().sub(offset)) };
        let task = TaskRef {
            ptr: ptr.cast::<Header>(),
        };
        header::add_ref(task.header());
        task
    }

    /// The task's metadata, seen as an `M`.
    ///
    /// # Safety
    /// The task was created by [`spawn_local_with`](crate::spawn_local_with) with
    /// metadata of type `M`, or of a `#[repr(C)]` type whose first field is an `M`.
    pub unsafe fn metadata<M>(&self) -> &M {
        // SAFETY: our reference keeps the cell (and so the metadata) alive; the type is
        // the caller's promise. `TaskRef` is !Send, so only the owning thread sees it.
        unsafe {
            (self.header().vtable.metadata)(self.ptr)
                .cast::<M>()
                .as_ref()
        }
    }

    fn header(&self) -> &Header {
        // SAFETY: our reference keeps the cell alive.
        unsafe { self.ptr.as_ref() }
    }

    /// Requests cancellation, as [`Task::cancel`].
    pub fn cancel(&self) -> bool {
        header::request_cancel(self.ptr)
    }

    /// Drops the task's future right now and completes it as cancelled (its awaiter is
    /// woken). Used when an event loop closes. From inside the task's own poll this is
    /// only a cancellation request.
    pub fn abort(&self) {
        // SAFETY: TaskRef is !Send, so this is the owning thread.
        unsafe { (self.header().vtable.abort)(self.ptr) }
    }

    /// Whether the task has finished.
    pub fn is_finished(&self) -> bool {
        self.header().state.load(Acquire) & COMPLETE != 0
    }

    /// Whether the task finished by cancellation.
    pub fn is_cancelled(&self) -> bool {
        self.header().state.load(Acquire) & CANCELLED != 0
    }

    /// Whether a step of the task is queued (it was woken, or spawned, and has not run
    /// since): a task dump tells a task that is ready from one that waits.
    pub fn is_scheduled(&self) -> bool {
        self.header().state.load(Acquire) & (SCHEDULED | RUNNING) == SCHEDULED
    }

    /// An address identifying the task while it is alive.
    pub fn task_id(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    /// Whether `waker` is this task's own waker (the one its polls are given), so that
    /// keeping this reference instead of the waker wakes the same task.
    pub fn is_waker_of(&self, waker: &Waker) -> bool {
        // SAFETY: a borrowed waker over our reference: never woken, cloned or dropped
        // (`ManuallyDrop`), only compared.
        let mine = ManuallyDrop::new(unsafe { Waker::from_raw(header::raw_waker(self.ptr)) });
        waker.will_wake(&mine)
    }

    /// This task's waker, holding this reference.
    pub fn into_waker(self) -> Waker {
        let ptr = self.ptr;
        std::mem::forget(self);
        // SAFETY: the reference `self` held moves into the waker, which releases it.
        unsafe { Waker::from_raw(header::raw_waker(ptr)) }
    }
}

impl Clone for TaskRef {
    fn clone(&self) -> Self {
        header::add_ref(self.header());
        TaskRef { ptr: self.ptr }
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        // SAFETY: releasing our own reference.
        unsafe { header::drop_ref(self.ptr) }
    }
}

impl PartialEq for TaskRef {
    fn eq(&self, other: &Self) -> bool {
        self.ptr == other.ptr
    }
}

impl Eq for TaskRef {}

impl fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskRef")
            .field("id", &self.task_id())
            .field("finished", &self.is_finished())
            .finish()
    }
}
