//! `shield`: await a task without forwarding the awaiter's cancellation to it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::error::TaskError;
use crate::task::{clear_awaiting, Task};

/// The future returned by [`shield`].
#[must_use = "a shield does nothing unless awaited"]
pub struct Shield<T> {
    task: Task<T>,
}

/// Awaits `task` while protecting it from the awaiter's cancellation (asyncio's
/// `shield`): if the awaiting task is cancelled, it stops waiting, but `task` runs on.
///
/// asyncio's `shield(coro)` wraps a coroutine in a task first; in aloop, spawn it with
/// [`create_task`](crate::create_task) and shield the task.
///
/// ```
/// use std::time::Duration;
/// aloop::run(async {
///     let inner = aloop::create_task(async {
///         aloop::sleep(Duration::from_millis(20)).await;
///         "inner finished"
///     });
///     let inner_view = inner.as_any();
///     let caller = aloop::create_task(aloop::shield(inner));
///     aloop::sleep(Duration::from_millis(5)).await;
///     caller.cancel();
///     assert!(caller.await.unwrap_err().is_cancelled());
///     assert!(!inner_view.cancelled());
/// });
/// ```
pub fn shield<T: 'static>(task: Task<T>) -> Shield<T> {
    Shield { task }
}

impl<T: 'static> Future for Shield<T> {
    type Output = Result<T, TaskError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let polled = Pin::new(&mut self.task).poll(cx);
        if polled.is_pending() {
            // The inner task registered itself as what we await; undo that so a cancel
            // of the awaiting task stops at the shield.
            clear_awaiting();
        }
        polled
    }
}
