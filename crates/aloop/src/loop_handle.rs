//! `LoopHandle`: how other threads talk to a loop (`call_soon_threadsafe`, `stop`, and
//! `spawn`, asyncio's `run_coroutine_threadsafe`), and `ThreadsafeFuture`, the result of a
//! spawn, awaitable anywhere or blockable with `.wait()`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::error::{LoopClosed, TaskError};
use crate::loop_state::{Remote, Shared};
use crate::running::running_state;
use crate::task::{current_task, spawn_at};

/// A `Send + Sync + Clone` handle to an event loop, for other threads.
///
/// ```
/// let lp = aloop::new_event_loop();
/// let handle = lp.handle();
/// let worker = std::thread::spawn(move || {
///     let answer = handle.spawn(async { 40 + 2 }).unwrap();
///     let value = answer.wait().unwrap();
///     handle.stop().unwrap();
///     value
/// });
/// lp.run_forever().unwrap();
/// assert_eq!(worker.join().unwrap(), 42);
/// ```
#[derive(Clone)]
pub struct LoopHandle {
    shared: Arc<Shared>,
}

impl LoopHandle {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        LoopHandle { shared }
    }

    /// Schedules `callback` on the loop from any thread, waking the loop if it is blocked
    /// (asyncio's `call_soon_threadsafe`). Fails once the loop is closed.
    pub fn call_soon_threadsafe(
        &self,
        callback: impl FnOnce() + Send + 'static,
    ) -> Result<(), LoopClosed> {
        self.shared
            .push(Remote::Callback(Box::new(callback)))
            .map_err(|_| LoopClosed)
    }

    /// Stops the loop from any thread, as a `stop()` scheduled with
    /// `call_soon_threadsafe`.
    pub fn stop(&self) -> Result<(), LoopClosed> {
        self.shared.push(Remote::Stop).map_err(|_| LoopClosed)
    }

    /// Whether the loop was closed.
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Runs `future` as a task on the loop, from any thread (asyncio's
    /// `run_coroutine_threadsafe`). The returned [`ThreadsafeFuture`] can be awaited
    /// from any executor or blocked on with [`ThreadsafeFuture::wait`].
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> Result<ThreadsafeFuture<F::Output>, LoopClosed>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_with(move || future)
    }

    /// Like [`LoopHandle::spawn`], for futures that are not `Send`: `make` is sent to the
    /// loop and called there, so the future it builds may use `create_task`, hold
    /// `Rc`s, and so on. Only the output must be `Send`.
    ///
    /// ```
    /// let lp = aloop::new_event_loop();
    /// let handle = lp.handle();
    /// let worker = std::thread::spawn(move || {
    ///     let out = handle
    ///         .spawn_with(|| async {
    ///             let shared = std::rc::Rc::new(20); // !Send is fine here
    ///             let t = aloop::create_task(async { 22 });
    ///             *shared + t.await.unwrap()
    ///         })
    ///         .unwrap()
    ///         .wait();
    ///     handle.stop().unwrap();
    ///     out
    /// });
    /// lp.run_forever().unwrap();
    /// assert_eq!(worker.join().unwrap().unwrap(), 42);
    /// ```
    #[track_caller]
    pub fn spawn_with<M, F>(&self, make: M) -> Result<ThreadsafeFuture<F::Output>, LoopClosed>
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        let slot = Arc::new(Slot::default());
        // Whatever path the work takes, the waiting thread hears back: if the closure or
        // the done callback is dropped unrun (the loop closed first), it reports Cancelled.
        let result_slot = Fulfil(slot.clone());
        let cancel_slot = slot.clone();
        let created_at = std::panic::Location::caller();
        self.call_soon_threadsafe(move || {
            let Some(state) = running_state() else {
                result_slot.0.fulfil(Err(TaskError::Cancelled));
                return;
            };
            let task = spawn_at(
                &state,
                Cancellable {
                    future: make(),
                    slot: cancel_slot,
                },
                created_at,
            );
            task.add_done_callback(move |t| {
                let outcome = t.take_result().unwrap_or(Err(TaskError::Cancelled));
                result_slot.0.fulfil(outcome);
            });
        })?;
        Ok(ThreadsafeFuture { slot })
    }
}

impl fmt::Debug for LoopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopHandle")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The meeting point of a spawned task (on the loop) and its `ThreadsafeFuture`.
struct Slot<T> {
    state: Mutex<SlotState<T>>,
    ready: Condvar,
}

struct SlotState<T> {
    outcome: Option<Result<T, TaskError>>,
    finished: bool,
    waiter: Option<Waker>,
    cancel_requested: bool,
    /// The spawned task's waker, so a cancel request reaches it.
    task_waker: Option<Waker>,
}

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Slot {
            state: Mutex::new(SlotState {
                outcome: None,
                finished: false,
                waiter: None,
                cancel_requested: false,
                task_waker: None,
            }),
            ready: Condvar::new(),
        }
    }
}

impl<T> Slot<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, SlotState<T>> {
        // A panic while holding this lock cannot leave the state inconsistent (every
        // write is a single assignment), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn fulfil(&self, outcome: Result<T, TaskError>) {
        let waiter = {
            let mut state = self.lock();
            if state.finished {
                return;
            }
            state.outcome = Some(outcome);
            state.finished = true;
            state.waiter.take()
        };
        self.ready.notify_all();
        if let Some(w) = waiter {
            w.wake();
        }
    }
}

/// Fulfils its slot with `Cancelled` when dropped, unless something fulfilled it first.
struct Fulfil<T>(Arc<Slot<T>>);

impl<T> Drop for Fulfil<T> {
    fn drop(&mut self) {
        self.0.fulfil(Err(TaskError::Cancelled));
    }
}

pin_project_lite::pin_project! {
    /// Wraps a spawned future so that a cancel from another thread reaches its task.
    struct Cancellable<F: Future> {
        #[pin]
        future: F,
        slot: Arc<Slot<F::Output>>,
    }
}

impl<F: Future> Future for Cancellable<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.project();
        {
            let mut state = this.slot.lock();
            if state.cancel_requested {
                drop(state);
                if let Ok(Some(me)) = current_task() {
                    me.cancel();
                }
                return Poll::Pending;
            }
            state.task_waker = Some(cx.waker().clone());
        }
        this.future.poll(cx)
    }
}

/// The outcome of [`LoopHandle::spawn`]: await it from any executor, or block a plain
/// thread on it with [`ThreadsafeFuture::wait`] (like `concurrent.futures.Future`).
#[must_use = "dropping a ThreadsafeFuture does not cancel the task; keep it to get the result"]
pub struct ThreadsafeFuture<T> {
    slot: Arc<Slot<T>>,
}

impl<T> ThreadsafeFuture<T> {
    /// Blocks the calling thread until the task finishes. Do not call it on the loop's
    /// own thread: the loop could never run the task.
    pub fn wait(self) -> Result<T, TaskError> {
        let mut state = self.slot.lock();
        while !state.finished {
            state = self
                .slot
                .ready
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
        state.outcome.take().unwrap_or(Err(TaskError::Cancelled))
    }

    /// Like [`ThreadsafeFuture::wait`], giving up after `timeout` (then `Err(self)`).
    pub fn wait_timeout(self, timeout: Duration) -> Result<Result<T, TaskError>, Self> {
        let deadline = std::time::Instant::now() + timeout;
        {
            let mut state = self.slot.lock();
            while !state.finished {
                let left = deadline.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    break;
                }
                state = self
                    .slot
                    .ready
                    .wait_timeout(state, left)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
            }
            if state.finished {
                return Ok(state.outcome.take().unwrap_or(Err(TaskError::Cancelled)));
            }
        }
        Err(self)
    }

    /// Whether the task has finished.
    pub fn done(&self) -> bool {
        self.slot.lock().finished
    }

    /// Asks the loop to cancel the task. Returns `false` if it already finished.
    pub fn cancel(&self) -> bool {
        let waker = {
            let mut state = self.slot.lock();
            if state.finished {
                return false;
            }
            state.cancel_requested = true;
            state.task_waker.take()
        };
        if let Some(w) = waker {
            w.wake();
        }
        true
    }
}

impl<T> Future for ThreadsafeFuture<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.slot.lock();
        if state.finished {
            return Poll::Ready(state.outcome.take().unwrap_or(Err(TaskError::Cancelled)));
        }
        state.waiter = Some(cx.waker().clone());
        Poll::Pending
    }
}

impl<T> fmt::Debug for ThreadsafeFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadsafeFuture")
            .field("done", &self.done())
            .finish()
    }
}
