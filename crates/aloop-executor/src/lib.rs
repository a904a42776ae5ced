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
//! `CANCEL_REQUESTED`, `HANDLE`, `CANCELLED` and a reference count (wakers, runnables,
//! [`TaskRef`]s). Only that word is shared between threads: the future, the output and the
//! awaiter's waker are touched by the owning thread alone, which is why [`Task`] and
//! [`TaskRef`] are `!Send` while wakers and [`Runnable`] are `Send`. The wake path is
//! model-checked with `loom` (`RUSTFLAGS="--cfg loom" cargo test -p aloop-executor
//! --release --test loom`).
#![deny(missing_docs)]

mod error;
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
    let ptr = raw::RawTask::<F, F::Output, S>::allocate(future, schedule);
    // SAFETY: the allocation's single reference goes to the runnable; the HANDLE bit set
    // by `allocate` belongs to the handle.
    let runnable = unsafe { Runnable::from_raw(ptr) };
    (runnable, Task::from_raw(ptr))
}
