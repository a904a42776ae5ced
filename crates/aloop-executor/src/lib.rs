//! Tasks for the aloop runtime: one allocation per task, `Send + Sync` wakers, and a FIFO
//! run queue whose cross-thread wake path is a lock-free [`concurrent_queue`].
//!
//! The pieces, smallest first:
//!
//! - [`spawn_local`] allocates a task (header, scheduler, future and later its output in
//!   one heap cell) and returns its first [`Runnable`] and its [`Task`] handle.
//! - A [`Schedule`] implementation decides where a woken task's `Runnable` goes.
//! - [`Runnable::run`] polls the task once on its owning thread; a panic is caught and
//!   becomes [`TaskError::Panicked`].
//! - [`spawn_local_with`] does the same with caller-defined metadata in the same cell,
//!   reached through a [`TaskRef`] (a runtime's per-task bookkeeping, without a second
//!   allocation).
//! - [`Task<T>`] is awaited for the output; [`Task::cancel`] makes the next step drop the
//!   future instead of polling it; dropping the handle detaches the task.
//! - [`LocalExecutor`] puts these together into a small single-threaded executor. The
//!   `aloop` event loop uses the same parts with its own ready queue, so that task steps
//!   and `call_soon` callbacks share one FIFO as in asyncio.
//!
//! ```
//! use aloop_executor::LocalExecutor;
//!
//! let ex = LocalExecutor::new();
//! let a = ex.spawn(async { 20 });
//! let b = ex.spawn(async { 22 });
//! let sum = ex.run_until(async { a.await.unwrap() + b.await.unwrap() });
//! assert_eq!(sum, 42);
//! ```
//!
//! # State machine
//!
//! One atomic word per task holds the flags `SCHEDULED`, `RUNNING`, `COMPLETE`,
//! `CANCEL_REQUESTED`, `HANDLE`, `CANCELLED`, `ORPHANED`, `OUTPUT` and a reference count
//! (wakers, runnables, [`TaskRef`]s). `COMPLETE` and `OUTPUT` also say whether the cell
//! holds the future or the output, which share one untagged slot. Only that word is shared between threads: the future, the output and the
//! awaiter's waker are touched by the owning thread alone, which is why [`Task`] and
//! [`TaskRef`] are `!Send` while wakers and [`Runnable`] are `Send`. The wake path is
//! model-checked with `loom` (`RUSTFLAGS="--cfg loom" cargo test -p aloop-executor
//! --release --test loom`).
#![deny(missing_docs)]

mod current;
mod error;
mod header;
mod local;
mod raw;
mod runnable;
mod schedule;
mod state;
mod sync;
mod task;
mod thread_id;

use std::future::Future;

pub use error::{PanicPayload, TaskError};
pub use local::LocalExecutor;
pub use runnable::Runnable;
pub use schedule::Schedule;
pub use task::{Task, TaskRef};

/// Creates a task on the current thread: returns its first step and its handle.
///
/// Nothing runs until the [`Runnable`] is run (on this thread). When the task is woken
/// later, a new `Runnable` goes to `schedule`, possibly from another thread. The future
/// may be `!Send`: it is only ever polled and dropped on this thread.
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use std::sync::{Arc, Mutex};
/// use aloop_executor::{spawn_local, Runnable};
///
/// let queue = Arc::new(Mutex::new(Vec::<Runnable>::new()));
/// let q = queue.clone();
/// let shared = Rc::new(RefCell::new(0)); // !Send is fine
/// let s = shared.clone();
/// let (runnable, mut task) = spawn_local(async move { *s.borrow_mut() += 1; "done" }, move |r| {
///     q.lock().unwrap().push(r)
/// });
/// runnable.run();
/// assert_eq!(*shared.borrow(), 1);
/// assert_eq!(task.try_take().unwrap().unwrap(), "done");
/// ```
pub fn spawn_local<F, S>(future: F, schedule: S) -> (Runnable, Task<F::Output>)
where
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    let ptr = raw::RawTask::<F, F::Output, S, raw::Awaiter>::allocate(
        std::cell::UnsafeCell::new(None),
        |_| future,
        schedule,
        state::SCHEDULED | state::HANDLE | state::REF_ONE,
    );
    // SAFETY: the allocation's single reference goes to the runnable; the HANDLE bit
    // belongs to the handle.
    let runnable = unsafe { Runnable::from_raw(ptr) };
    (runnable, Task::from_raw(ptr))
}

/// Creates a task that carries `metadata` in its own allocation: returns its first step
/// and a [`TaskRef`] through which the metadata is reached.
///
/// This is for runtimes that keep per-task bookkeeping (a name, a result, done
/// callbacks) and want it in the task cell rather than in a second allocation. `make`
/// receives a pointer to the metadata and builds the future; the pointer is valid for as
/// long as the future exists, because the cell drops the future before the metadata. The
/// metadata is dropped on the owning thread when the last reference goes away (a cell
/// whose last waker is dropped elsewhere is sent back through `schedule` to be freed).
///
/// The future's output is dropped when the task finishes: with no [`Task`] handle, keep
/// results in the metadata.
///
/// ```
/// use std::cell::Cell;
/// use std::sync::{Arc, Mutex};
/// use aloop_executor::{spawn_local_with, Runnable};
///
/// let queue = Arc::new(Mutex::new(Vec::<Runnable>::new()));
/// let q = queue.clone();
/// let (runnable, task) = spawn_local_with(
///     Cell::new(0),
///     // SAFETY (of the deref below): the metadata outlives the future.
///     |polls| async move { unsafe { polls.as_ref() }.set(1) },
///     move |r| q.lock().unwrap().push(r),
/// );
/// runnable.run();
/// assert!(task.is_finished());
/// // SAFETY: the task was spawned with metadata of type `Cell<i32>`.
/// assert_eq!(unsafe { task.metadata::<Cell<i32>>() }.get(), 1);
/// ```
pub fn spawn_local_with<M, Mk, F, S>(metadata: M, make: Mk, schedule: S) -> (Runnable, TaskRef)
where
    M: 'static,
    Mk: FnOnce(std::ptr::NonNull<M>) -> F,
    F: Future + 'static,
    F::Output: 'static,
    S: Schedule,
{
    let ptr = raw::RawTask::<F, F::Output, S, M>::allocate(
        metadata,
        make,
        schedule,
        state::SCHEDULED | (2 * state::REF_ONE),
    );
    // SAFETY: of the allocation's two references, one goes to the runnable and one to the
    // task reference.
    let runnable = unsafe { Runnable::from_raw(ptr) };
    // SAFETY: as above.
    (runnable, unsafe { TaskRef::from_header(ptr) })
}

/// The metadata of the task whose future is being polled, or dropped, on this thread:
/// how a future made by [`spawn_local_with`] reaches its own task's metadata without
/// keeping a pointer to it. `None` outside a poll or drop by this crate's tasks.
///
/// # Safety
/// The task being polled was spawned by `spawn_local_with` with metadata of type `M`
/// exactly (the metadata's offset in the cell depends on `M`'s alignment); the pointer
/// is valid for the rest of the poll or drop.
///
/// ```
/// use std::cell::Cell;
/// use std::ptr::NonNull;
/// use aloop_executor::{current_metadata, spawn_local_with};
///
/// let (runnable, task) = spawn_local_with(
///     Cell::new(0),
///     |_| async {
///         // SAFETY: this task's metadata is a `Cell<i32>`, alive while it polls.
///         let meta: NonNull<Cell<i32>> = unsafe { current_metadata() }.unwrap();
///         unsafe { meta.as_ref() }.set(5);
///     },
///     |_| {},
/// );
/// runnable.run();
/// // SAFETY: spawned with metadata of type `Cell<i32>`.
/// assert_eq!(unsafe { task.metadata::<Cell<i32>>() }.get(), 5);
/// assert!(unsafe { current_metadata::<Cell<i32>>() }.is_none());
/// ```
pub unsafe fn current_metadata<M>() -> Option<std::ptr::NonNull<M>> {
    let header = current::current()?;
    // SAFETY: the header is the task being polled or dropped, alive for the call, and
    // (the caller's promise) its metadata is an `M`, which lies this far after the
    // header in the same allocation. No call through the vtable: this runs every poll.
    Some(unsafe { header.cast::<u8>().add(raw::metadata_offset::<M>()) }.cast())
}
