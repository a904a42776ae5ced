//! One submitted job and the future that waits for it.
//!
//! A job is a single allocation, `Arc<Job<T, F>>`, shared by the queue (as
//! `Arc<dyn Runnable>`, type-erased) and by its [`JobFuture<T>`] (as
//! `Arc<dyn Completion<T>>`, erased over the closure type). It holds the
//! closure, the result, the awaiting task's waker and one atomic state word.
//!
//! The state word carries a stage (queued, running, done, cancelled) and a
//! `WAKER` bit meaning "the waker slot holds the waker to call". The protocol
//! (the same shape as a oneshot channel):
//!
//! * only the future writes the waker slot, and only while `WAKER` is clear
//!   and the stage was not yet terminal when it last looked;
//! * whoever moves the stage to a terminal one (the worker to `DONE`, a
//!   canceller to `CANCELLED`) reads the slot only if the `WAKER` bit was set
//!   in the state it replaced, and from then on the future never writes the
//!   slot again;
//! * the closure belongs to whoever wins the transition out of `QUEUED`;
//!   the result belongs to the worker until `DONE`, to the future after.

use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

use crate::error::JobError;
use crate::park::current_thread_waker;
use crate::sync::{AtomicUsize, UnsafeCell};

const STAGE: usize = 0b011;
const QUEUED: usize = 0b000;
const RUNNING: usize = 0b001;
const DONE: usize = 0b010;
const CANCELLED: usize = 0b011;
/// The waker slot holds a waker that a terminal transition must wake.
const WAKER: usize = 0b100;

fn is_terminal(state: usize) -> bool {
    state & STAGE >= DONE
}

/// The part of a job that does not depend on the closure's type.
struct Shared<T> {
    state: AtomicUsize,
    waker: UnsafeCell<Option<Waker>>,
    result: UnsafeCell<Option<thread::Result<T>>>,
}

impl<T> Shared<T> {
    /// Wakes the registered waker.
    ///
    /// # Safety
    /// The caller must have moved the stage to a terminal one with an atomic
    /// read-modify-write whose previous value had `WAKER` set: from then on
    /// the future never writes the slot, so reading it is race-free.
    unsafe fn wake_registered(&self) {
        self.waker.with(|slot| {
            // SAFETY: guaranteed by this function's contract (see above).
            if let Some(w) = unsafe { &*slot } {
                w.wake_by_ref();
            }
        });
    }

    /// Moves `QUEUED` to `CANCELLED`; returns the previous state on success.
    fn try_cancel(&self) -> Option<usize> {
        let mut cur = self.state.load(Ordering::Acquire);
        loop {
            if cur & STAGE != QUEUED {
                return None;
            }
            match self.state.compare_exchange_weak(
                cur,
                cur | CANCELLED,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(prev) => return Some(prev),
                Err(actual) => cur = actual,
            }
        }
    }
}

/// A job together with its closure.
struct Job<T, F> {
    shared: Shared<T>,
    func: UnsafeCell<Option<F>>,
}

// SAFETY: the cells are only touched under the protocol in the module docs,
// which hands each of them to one thread at a time; `F` and `T` move between
// threads (closure to the worker, result to the future), hence `Send` bounds.
// No `&T` or `&F` is ever shared, so `Sync` bounds are not needed.
unsafe impl<T: Send, F: Send> Send for Job<T, F> {}
// SAFETY: as above.
unsafe impl<T: Send, F: Send> Sync for Job<T, F> {}

impl<T, F> Job<T, F> {
    /// Cancels the job if it has not started. `wake` says whether to wake the
    /// registered waker (not wanted when the future itself is being dropped).
    fn cancel_queued(&self, wake: bool) -> bool {
        let Some(prev) = self.shared.try_cancel() else {
            return false;
        };
        if wake && prev & WAKER != 0 {
            // SAFETY: we just moved the stage to CANCELLED and `prev` had WAKER.
            unsafe { self.shared.wake_registered() };
        }
        // SAFETY: winning QUEUED -> CANCELLED makes the closure ours: the
        // worker touches it only after winning QUEUED -> RUNNING, which now
        // fails. Dropped here so captured resources are freed at once, not
        // when a worker eventually dequeues the husk.
        drop(self.func.with_mut(|func| unsafe { (*func).take() }));
        true
    }
}

/// What the queue sees of a job.
pub(crate) trait Runnable: Send + Sync {
    /// Runs the job on the current thread unless it was cancelled.
    fn run(&self);
    /// Cancels the job if it has not started, waking its awaiter.
    fn cancel(&self) -> bool;
}

impl<T: Send, F: FnOnce() -> T + Send> Runnable for Job<T, F> {
    fn run(&self) {
        let s = &self.shared;
        let mut cur = s.state.load(Ordering::Acquire);
        loop {
            if cur & STAGE != QUEUED {
                return; // cancelled before it started
            }
            match s.state.compare_exchange_weak(
                cur,
                cur | RUNNING,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        // SAFETY: winning QUEUED -> RUNNING makes the closure ours (a
        // canceller needs QUEUED, which no longer holds).
        let Some(f) = self.func.with_mut(|func| unsafe { (*func).take() }) else {
            return; // unreachable: the closure is taken only once
        };
        let outcome = panic::catch_unwind(AssertUnwindSafe(f));
        // SAFETY: while RUNNING only this thread touches the result; the
        // future reads it only after observing DONE, published below.
        s.result
            .with_mut(|result| unsafe { *result = Some(outcome) });
        // RUNNING + 1 == DONE; nobody else changes the stage from RUNNING.
        let prev = s.state.fetch_add(DONE - RUNNING, Ordering::AcqRel);
        if prev & WAKER != 0 {
            // SAFETY: we moved the stage to DONE and `prev` had WAKER.
            unsafe { s.wake_registered() };
        }
    }

    fn cancel(&self) -> bool {
        self.cancel_queued(true)
    }
}

/// What a [`JobFuture`] sees of a job.
trait Completion<T>: Send + Sync {
    fn shared(&self) -> &Shared<T>;
    fn cancel(&self, wake: bool) -> bool;
}

impl<T: Send, F: Send> Completion<T> for Job<T, F> {
    fn shared(&self) -> &Shared<T> {
        &self.shared
    }

    fn cancel(&self, wake: bool) -> bool {
        self.cancel_queued(wake)
    }
}

/// Allocates a job: the queue's handle and the caller's future.
pub(crate) fn new_job<T, F>(f: F) -> (Arc<dyn Runnable>, JobFuture<T>)
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    let job = Arc::new(Job {
        shared: Shared {
            state: AtomicUsize::new(QUEUED),
            waker: UnsafeCell::new(None),
            result: UnsafeCell::new(None),
        },
        func: UnsafeCell::new(Some(f)),
    });
    let run: Arc<dyn Runnable> = job.clone();
    (
        run,
        JobFuture {
            job,
            cancel_on_drop: true,
        },
    )
}

/// The pending result of a job submitted to a
/// [`ThreadPoolExecutor`](crate::ThreadPoolExecutor): Python's
/// `concurrent.futures.Future`.
///
/// * Await it from any executor (tokio, futures-executor, aloop, ...): it
///   resolves to `Ok(value)`, or `Err(JobError::Panicked(payload))` if the
///   job panicked, or `Err(JobError::Cancelled)` if it was cancelled before
///   it started.
/// * Block on it from a plain thread with [`wait`](Self::wait) or
///   [`wait_timeout`](Self::wait_timeout).
/// * Dropping it before the job starts cancels the job (it never runs);
///   dropping it while the job runs lets the job finish and discards the
///   result. [`detach`](Self::detach) or
///   [`set_cancel_on_drop(false)`](Self::set_cancel_on_drop) opt out, for
///   fire-and-forget work (Python's futures never cancel when discarded).
///
/// It is `Send` and `Sync` (for `T: Send`), so a `!Send` task may hold it and
/// a loop may move it between threads.
///
/// ```
/// use aloop_blocking::ThreadPoolExecutor;
///
/// let pool = ThreadPoolExecutor::new(2)?;
/// let fut = pool.submit(|| 6 * 7)?;
/// assert_eq!(fut.wait()?, 42);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "dropping a JobFuture before its job starts cancels the job"]
pub struct JobFuture<T> {
    job: Arc<dyn Completion<T>>,
    /// Whether dropping this future before the job starts cancels the job.
    cancel_on_drop: bool,
}

impl<T> JobFuture<T> {
    fn shared(&self) -> &Shared<T> {
        self.job.shared()
    }

    /// `true` once the job finished (with a value or a panic) or was
    /// cancelled: awaiting it will not wait.
    pub fn done(&self) -> bool {
        is_terminal(self.shared().state.load(Ordering::Acquire))
    }

    /// `true` if the job was cancelled before it started.
    pub fn cancelled(&self) -> bool {
        self.shared().state.load(Ordering::Acquire) & STAGE == CANCELLED
    }

    /// `true` while a worker thread is running the job.
    pub fn running(&self) -> bool {
        self.shared().state.load(Ordering::Acquire) & STAGE == RUNNING
    }

    /// Cancels the job if it has not started yet; returns whether it did
    /// (Python returns `True` for an already-cancelled future as well; here
    /// `true` means "this call cancelled it", `false` otherwise). A running
    /// or finished job cannot be cancelled: threads are not pre-emptible.
    ///
    /// ```
    /// use aloop_blocking::{JobError, ThreadPoolExecutor};
    /// use std::sync::mpsc;
    ///
    /// let pool = ThreadPoolExecutor::new(1)?;
    /// let (release, gate) = mpsc::channel::<()>();
    /// let blocker = pool.submit(move || gate.recv().ok())?;
    /// let queued = pool.submit(|| "never")?; // waits behind `blocker`
    /// assert!(queued.cancel());
    /// assert!(queued.cancelled());
    /// release.send(()).ok();
    /// assert!(blocker.wait().is_ok());
    /// assert!(matches!(queued.wait(), Err(JobError::Cancelled)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn cancel(&self) -> bool {
        self.job.cancel(true)
    }

    /// Chooses whether dropping this future before its job starts cancels
    /// the job (the default, `true`) or lets it run with its result dropped
    /// (`false`, the behaviour of a discarded Python future: asyncio's
    /// `run_in_executor` job still runs when nobody awaits it).
    pub fn set_cancel_on_drop(&mut self, cancel: bool) {
        self.cancel_on_drop = cancel;
    }

    /// Lets the job run to completion with nobody waiting for it: drops this
    /// future without cancelling the job. Its result (or panic) is dropped.
    ///
    /// ```
    /// use aloop_blocking::ThreadPoolExecutor;
    /// use std::sync::mpsc;
    ///
    /// let pool = ThreadPoolExecutor::new(1)?;
    /// let (tx, rx) = mpsc::channel();
    /// pool.submit(move || tx.send("ran anyway").ok())?.detach();
    /// assert_eq!(rx.recv()?, "ran anyway");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn detach(mut self) {
        self.cancel_on_drop = false;
    }

    /// Blocks the current thread until the job is done and returns its
    /// outcome. Do not call it on an event loop's thread (it blocks the
    /// loop); await the future there instead. As in Python, a job waiting for
    /// another job of its own pool deadlocks if every worker does so.
    pub fn wait(mut self) -> Result<T, JobError> {
        let st = self.shared().state.load(Ordering::Acquire);
        if is_terminal(st) {
            return self.take(st);
        }
        let waker = current_thread_waker();
        loop {
            if let Poll::Ready(r) = self.poll_with(&waker) {
                return r;
            }
            thread::park();
        }
    }

    /// Blocks for at most `timeout`; `None` if the job is not done by then
    /// (the future stays usable: wait or await it again). Python's
    /// `result(timeout)` raising `TimeoutError` is the `None` case.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<Result<T, JobError>> {
        let st = self.shared().state.load(Ordering::Acquire);
        if is_terminal(st) {
            return Some(self.take(st));
        }
        let deadline = Instant::now().checked_add(timeout);
        let waker = current_thread_waker();
        loop {
            if let Poll::Ready(r) = self.poll_with(&waker) {
                return Some(r);
            }
            match deadline {
                None => thread::park(),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        return None;
                    }
                    thread::park_timeout(d - now);
                }
            }
        }
    }

    /// Takes the outcome of a terminal state.
    fn take(&mut self, state: usize) -> Result<T, JobError> {
        if state & STAGE == CANCELLED {
            return Err(JobError::Cancelled);
        }
        let outcome = self.shared().result.with_mut(|result| {
            // SAFETY: the stage is DONE, observed with Acquire, so the
            // worker's write is visible and it never touches the result
            // again; `&mut self` makes this future the only reader.
            unsafe { (*result).take() }
        });
        match outcome {
            Some(Ok(v)) => Ok(v),
            Some(Err(payload)) => Err(JobError::Panicked(payload)),
            None => Err(JobError::AlreadyTaken),
        }
    }

    /// One poll with `waker` as the one to wake (see the module docs).
    fn poll_with(&mut self, waker: &Waker) -> Poll<Result<T, JobError>> {
        let s = self.shared();
        let mut st = s.state.load(Ordering::Acquire);
        if is_terminal(st) {
            return Poll::Ready(self.take(st));
        }
        if st & WAKER != 0 {
            let same = s.waker.with(|slot| {
                // SAFETY: WAKER is set, so no one writes the slot (only this
                // future writes it, and only while WAKER is clear); a worker
                // may read it concurrently, which is fine.
                let registered = unsafe { &*slot };
                registered.as_ref().is_some_and(|w| w.will_wake(waker))
            });
            if same {
                return Poll::Pending;
            }
            st = s.state.fetch_and(!WAKER, Ordering::AcqRel);
            if is_terminal(st) {
                // The completer saw WAKER and may be reading the slot: leave it.
                return Poll::Ready(self.take(st));
            }
        }
        // SAFETY: WAKER is clear and the stage was not terminal when we
        // cleared or observed it, so the terminal transition (still to come,
        // or racing us right now) sees WAKER clear and does not read the
        // slot; this future is its only writer.
        s.waker
            .with_mut(|slot| unsafe { *slot = Some(waker.clone()) });
        st = s.state.fetch_or(WAKER, Ordering::AcqRel);
        if is_terminal(st) {
            return Poll::Ready(self.take(st));
        }
        Poll::Pending
    }
}

impl<T> Future for JobFuture<T> {
    type Output = Result<T, JobError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().poll_with(cx.waker())
    }
}

impl<T> Drop for JobFuture<T> {
    fn drop(&mut self) {
        // Nobody will look at the outcome: a queued job need not run at all.
        if self.cancel_on_drop && self.job.cancel(false) {
            return;
        }
        // Running: free our waker now rather than when the job finishes,
        // unless the worker already saw it and may be reading it.
        let s = self.shared();
        let st = s.state.load(Ordering::Acquire);
        if st & WAKER != 0 && !is_terminal(st) {
            let prev = s.state.fetch_and(!WAKER, Ordering::AcqRel);
            if !is_terminal(prev) {
                // SAFETY: we cleared WAKER before any terminal transition, so
                // the completer will not read the slot; we are its only writer.
                drop(s.waker.with_mut(|slot| unsafe { (*slot).take() }));
            }
        }
    }
}

impl<T> fmt::Debug for JobFuture<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match self.shared().state.load(Ordering::Acquire) & STAGE {
            QUEUED => "queued",
            RUNNING => "running",
            DONE => "done",
            _ => "cancelled",
        };
        f.debug_struct("JobFuture").field("state", &state).finish()
    }
}

#[cfg(all(test, not(loom)))]
#[path = "job_tests.rs"]
mod tests;

#[cfg(all(test, loom))]
#[path = "job_loom.rs"]
mod loom_models;
