//! The blocking bridge on the loop: `run_in_executor`, `to_thread`, the default executor
//! (asyncio's `loop.run_in_executor`, `asyncio.to_thread`).
//!
//! Jobs run on an `aloop_blocking::ThreadPoolExecutor`; the loop's default pool is made on
//! first use with `min(32, cores + 4)` workers, as Python does, and shut down by
//! `aloop::run` at the end (waiting for running jobs) or by `close()` (not waiting).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

pub use aloop_blocking::{JobError, JobFuture, SubmitError, ThreadPoolExecutor};

use crate::event_loop::LoopRef;
use crate::running::running_state;
use crate::task::{note_wait, WaitKind};

/// Why a job sent with `run_in_executor` / `to_thread` produced no value.
#[derive(Debug)]
pub enum ExecutorError {
    /// The pool refused the job (shut down, or no thread could be started).
    Submit(SubmitError),
    /// The job was cancelled before it started, or panicked.
    Job(JobError),
}

impl fmt::Display for ExecutorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecutorError::Submit(e) => write!(f, "{e}"),
            ExecutorError::Job(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ExecutorError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ExecutorError::Submit(e) => Some(e),
            ExecutorError::Job(e) => Some(e),
        }
    }
}

/// The future of a job submitted with `run_in_executor` or `to_thread`. The job was
/// submitted when this was created.
///
/// Dropping it follows what asyncio users observe: a future that was never awaited is
/// fire-and-forget (the job still runs, G6), while a future dropped after it was awaited —
/// its task was cancelled — cancels the job if it has not started yet (G4); a running job
/// always finishes, its result discarded.
#[must_use = "the job runs anyway, but its result is lost unless awaited"]
pub struct RunInExecutor<T> {
    job: Result<JobFuture<T>, Option<SubmitError>>,
    polled: bool,
}

impl<T> Drop for RunInExecutor<T> {
    fn drop(&mut self) {
        if !self.polled {
            if let Ok(job) = std::mem::replace(&mut self.job, Err(None)) {
                job.detach();
            }
        }
    }
}

impl<T> Future for RunInExecutor<T> {
    type Output = Result<T, ExecutorError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let starts = !std::mem::replace(&mut self.polled, true);
        match &mut self.job {
            Ok(job) => {
                let polled = Pin::new(job).poll(cx).map_err(ExecutorError::Job);
                if polled.is_pending() {
                    note_wait(WaitKind::Thread, starts);
                }
                polled
            }
            Err(e) => Poll::Ready(Err(ExecutorError::Submit(
                e.take().unwrap_or(SubmitError::Shutdown),
            ))),
        }
    }
}

impl<T> fmt::Debug for RunInExecutor<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunInExecutor")
            .field("submitted", &self.job.is_ok())
            .finish()
    }
}

fn submit<T, F>(pool: &ThreadPoolExecutor, f: F) -> RunInExecutor<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    RunInExecutor {
        job: pool.submit(f).map_err(Some),
        polled: false,
    }
}

impl LoopRef {
    /// Runs `f` on a worker thread of `executor` (or the loop's default pool for `None`)
    /// and returns a future of its result (asyncio's `loop.run_in_executor`). `f` is
    /// submitted right away, not when the future is first polled. On a closed loop,
    /// `None` gives a future that fails with `Submit(Shutdown)` and `f` never runs:
    /// `close()` shut the default pool down.
    ///
    /// ```
    /// let lp = aloop::new_event_loop();
    /// let job = lp.run_in_executor(None, || std::thread::current().name().map(str::to_owned));
    /// let name = lp.run_until_complete(job).unwrap().unwrap();
    /// assert!(name.unwrap().starts_with("aloop_"));
    /// ```
    pub fn run_in_executor<T, F>(
        &self,
        executor: Option<&ThreadPoolExecutor>,
        f: F,
    ) -> RunInExecutor<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        match executor {
            Some(pool) => submit(pool, f),
            // `close()` shut the default pool down: a new one must not be started for a
            // closed loop (asyncio raises "Event loop is closed" here).
            None if self.state.is_closed() => RunInExecutor {
                job: Err(Some(SubmitError::Shutdown)),
                polled: false,
            },
            None => submit(&self.state.default_executor(), f),
        }
    }

    /// Replaces the pool used by `run_in_executor(None, ..)` and `to_thread`. The
    /// previous default pool, if any, is shut down without waiting.
    pub fn set_default_executor(&self, executor: ThreadPoolExecutor) {
        let old = self.state.replace_default_executor(Some(executor));
        if let Some(old) = old {
            old.shutdown(false, false);
        }
    }

    /// Shuts the default pool down and waits, without blocking the loop, until its
    /// threads have finished every job already submitted (asyncio's
    /// `shutdown_default_executor`).
    pub async fn shutdown_default_executor(&self) {
        let Some(pool) = self.state.replace_default_executor(None) else {
            return;
        };
        // Join on a one-off worker whose job future the loop can await, so the loop
        // keeps running meanwhile (CPython joins on a helper thread too).
        let joiner = match ThreadPoolExecutor::builder()
            .max_workers(1)
            .thread_name_prefix("aloop-executor-shutdown")
            .build()
        {
            Ok(joiner) => joiner,
            Err(_) => return pool.shutdown(false, false),
        };
        let joined = submit(&joiner, move || pool.shutdown(true, false));
        // A submit error means no thread could be made; the pool then shuts down alone.
        let _ = joined.await;
        joiner.shutdown(false, false);
    }
}

/// Runs `f` on a worker thread of the running loop's default pool (asyncio's
/// `asyncio.to_thread`). Rust closures carry their own arguments, so this is
/// `run_in_executor(None, f)`.
///
/// # Panics
/// Outside a running aloop event loop.
///
/// ```
/// let sum = aloop::run(async { aloop::to_thread(|| (1..=10).sum::<u32>()).await.unwrap() });
/// assert_eq!(sum, 55);
/// ```
pub fn to_thread<T, F>(f: F) -> RunInExecutor<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let state =
        running_state().expect("aloop::to_thread called outside a running aloop event loop");
    submit(&state.default_executor(), f)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use super::{ExecutorError, SubmitError};

    /// After `close()`, `run_in_executor(None, ..)` refuses the job instead of starting
    /// a new default pool for the closed loop.
    #[test]
    fn default_executor_refuses_jobs_on_a_closed_loop() {
        let lp = crate::new_event_loop();
        lp.close().unwrap();
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let job = lp.run_in_executor(None, move || r.store(true, Ordering::SeqCst));
        let other = crate::new_event_loop();
        let outcome = other.run_until_complete(job).unwrap();
        assert!(
            matches!(outcome, Err(ExecutorError::Submit(SubmitError::Shutdown))),
            "{outcome:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!ran.load(Ordering::SeqCst));
    }
}
