//! How a woken task finds its way back into a run queue.

use crate::Runnable;

/// Receives the [`Runnable`] of a task that became ready.
///
/// Called from whichever thread woke the task, hence `Send + Sync`. An implementation
/// usually pushes onto the owning thread's queue directly when called on that thread, and
/// onto a cross-thread queue plus a wake-up of the owner otherwise.
///
/// Any `Fn(Runnable) + Send + Sync + 'static` closure is a scheduler:
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use aloop_executor::{spawn_local, Runnable};
///
/// let queue = Arc::new(Mutex::new(Vec::<Runnable>::new()));
/// let q = queue.clone();
/// let (runnable, task) = spawn_local(async { 1 + 1 }, move |r| q.lock().unwrap().push(r));
/// runnable.run();
/// assert!(task.is_finished());
/// ```
pub trait Schedule: Send + Sync + 'static {
    /// Queues `runnable` so that its `run` is called later on the task's owning thread.
    fn schedule(&self, runnable: Runnable);
}

impl<F> Schedule for F
where
    F: Fn(Runnable) + Send + Sync + 'static,
{
    fn schedule(&self, runnable: Runnable) {
        self(runnable)
    }
}
