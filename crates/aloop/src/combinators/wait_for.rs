//! `wait_for`: await a future in its own task with a time limit; at the limit the task is
//! cancelled, awaited until it has really finished, and a `TimeoutError` returned
//! (asyncio's `wait_for`).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use super::deadline_after;
use super::timeout::TimeoutError;
use crate::error::TaskError;
use crate::sleep::{deadline, Sleep};
use crate::task::Task;

enum State<F: Future> {
    /// Not polled yet: nothing has run.
    Idle(F),
    /// The inner task runs; `sleep` is the time limit (`None`: no limit).
    Running {
        task: Task<F::Output>,
        sleep: Option<Sleep>,
    },
    /// The limit passed and the task was cancelled: waiting for it to end.
    Cancelling(Task<F::Output>),
    /// The inner task was cancelled by someone else and so was the awaiting task: this
    /// future is about to be dropped.
    Propagated,
    Done,
}

/// The future returned by [`wait_for`]. Dropping it while the inner task runs cancels
/// that task.
///
/// ```
/// use std::time::Duration;
/// aloop::run(async {
///     let inner = aloop::create_task(aloop::sleep(Duration::from_secs(10)));
///     let view = inner.as_any();
///     let out = aloop::wait_for(inner, Duration::from_millis(5)).await;
///     assert_eq!(out.unwrap_err(), aloop::TimeoutError);
///     assert!(view.cancelled()); // cancelled, and already finished
/// });
/// ```
#[must_use = "wait_for does nothing unless awaited"]
pub struct WaitFor<F: Future>
where
    F::Output: 'static,
{
    state: State<F>,
    timeout: Option<Duration>,
    /// Where `wait_for` was called: the inner task's creation site.
    created_at: &'static std::panic::Location<'static>,
}

// `F` is never pinned: it is moved into a task before anything polls it.
impl<F: Future> Unpin for WaitFor<F> where F::Output: 'static {}

/// Awaits `future` for at most `timeout` (a `Duration`, or `None` for no limit),
/// asyncio's `wait_for`.
///
/// On first poll `future` is wrapped in a task (as asyncio wraps a coroutine). If it
/// finishes in time its output is returned. Otherwise the task is cancelled (which
/// forwards the cancel to a [`Task`] or [`Promise`](crate::Promise) it awaits), `wait_for`
/// waits until it has actually ended, and returns [`TimeoutError`]; if it managed to
/// finish before the cancel took effect, its output is returned instead.
///
/// A zero timeout never lets `future` run: it is dropped unpolled and `TimeoutError`
/// returned (asyncio D12). Unlike asyncio, an already-finished [`Task`] passed here is
/// not special-cased (Rust cannot tell it from a future that has not started): check
/// [`Task::done`] first. asyncio's "the inner swallowed the cancellation and returned a
/// value" (D11) cannot happen: cancelling drops the future.
///
/// Cancelling the task awaiting `wait_for` (or dropping the `WaitFor`) cancels the inner
/// task. If the inner task is cancelled by someone else, the cancellation propagates:
/// the awaiting task is cancelled, as asyncio re-raises the `CancelledError`.
///
/// # Panics
/// Outside a running loop (it spawns a task). A panic inside `future` is resumed in the
/// caller, as if `future` had been awaited directly.
///
/// ```
/// use std::time::Duration;
/// aloop::run(async {
///     let quick = aloop::wait_for(async { 1 }, Duration::from_secs(1)).await;
///     assert_eq!(quick, Ok(1));
///     let slow = aloop::wait_for(aloop::sleep(Duration::from_secs(10)), Duration::from_millis(5));
///     assert_eq!(slow.await, Err(aloop::TimeoutError));
/// });
/// ```
#[track_caller]
pub fn wait_for<F>(future: F, timeout: impl Into<Option<Duration>>) -> WaitFor<F>
where
    F: Future + 'static,
    F::Output: 'static,
{
    WaitFor {
        state: State::Idle(future),
        timeout: timeout.into(),
        created_at: std::panic::Location::caller(),
    }
}

fn resume<T>(panic: crate::PanicPayload) -> T {
    match panic.take() {
        Some(payload) => std::panic::resume_unwind(payload),
        None => panic!("{}", panic.message()),
    }
}

impl<F> Future for WaitFor<F>
where
    F: Future + 'static,
    F::Output: 'static,
{
    type Output = Result<F::Output, TimeoutError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match std::mem::replace(&mut this.state, State::Done) {
                State::Idle(future) => {
                    if this.timeout.is_some_and(|d| d.is_zero()) {
                        drop(future);
                        return Poll::Ready(Err(TimeoutError));
                    }
                    let task = crate::runner::create_task_at(future, this.created_at);
                    let sleep = this.timeout.and_then(deadline_after).map(deadline);
                    this.state = State::Running { task, sleep };
                }
                State::Running {
                    mut task,
                    mut sleep,
                } => {
                    if let Poll::Ready(outcome) = Pin::new(&mut task).poll(cx) {
                        return match outcome {
                            Ok(value) => Poll::Ready(Ok(value)),
                            Err(TaskError::Panicked(panic)) => resume(panic),
                            Err(TaskError::Cancelled) => {
                                // Cancelled by someone else: asyncio re-raises the
                                // CancelledError in the awaiter, so cancel it too.
                                if let Ok(Some(me)) = crate::current_task() {
                                    me.cancel();
                                }
                                this.state = State::Propagated;
                                Poll::Pending
                            }
                        };
                    }
                    let expired = match &mut sleep {
                        Some(s) => Pin::new(s).poll(cx).is_ready(),
                        None => false,
                    };
                    if expired {
                        // The task wakes us once it has ended (our waker is registered).
                        task.cancel();
                        this.state = State::Cancelling(task);
                    } else {
                        this.state = State::Running { task, sleep };
                    }
                    return Poll::Pending;
                }
                State::Cancelling(mut task) => {
                    return match Pin::new(&mut task).poll(cx) {
                        Poll::Pending => {
                            this.state = State::Cancelling(task);
                            Poll::Pending
                        }
                        // It finished before the cancel took effect: asyncio returns it.
                        Poll::Ready(Ok(value)) => Poll::Ready(Ok(value)),
                        Poll::Ready(Err(TaskError::Cancelled)) => Poll::Ready(Err(TimeoutError)),
                        Poll::Ready(Err(TaskError::Panicked(panic))) => resume(panic),
                    };
                }
                State::Propagated => {
                    this.state = State::Propagated;
                    return Poll::Pending;
                }
                State::Done => panic!("aloop: wait_for polled after it returned"),
            }
        }
    }
}

impl<F: Future> Drop for WaitFor<F>
where
    F::Output: 'static,
{
    fn drop(&mut self) {
        if let State::Running { task, .. } | State::Cancelling(task) = &self.state {
            task.cancel();
        }
    }
}

impl<F: Future> fmt::Debug for WaitFor<F>
where
    F::Output: 'static,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Idle(_) => "idle",
            State::Running { .. } => "running",
            State::Cancelling(_) => "cancelling",
            State::Propagated => "cancelled",
            State::Done => "done",
        };
        f.debug_struct("WaitFor")
            .field("state", &state)
            .field("timeout", &self.timeout)
            .finish()
    }
}
