//! The user-facing pool handle: submit, map, shutdown, and the counters
//! tests and the event loop look at. Making one (`new`, `builder`,
//! `Default`) is in `builder.rs`.

use std::fmt;
use std::sync::atomic::{fence, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::error::SubmitError;
use crate::job::{new_job, JobFuture};
use crate::map::Map;
use crate::worker::{Msg, PoolShared};

/// A pool of threads running blocking closures, each returning a
/// [`JobFuture`]: Python's `concurrent.futures.ThreadPoolExecutor`.
///
/// * Threads start lazily: a submit starts one only when no worker is idle
///   and fewer than `max_workers` run. Idle threads exit after the
///   keep-alive (10 s by default) and come back on demand.
/// * Threads are named `{prefix}_{n}` (default prefix
///   `ThreadPoolExecutor-{pool number}`, as in Python).
/// * A panicking job resolves its future to
///   [`JobError::Panicked`](crate::JobError::Panicked); the thread survives.
/// * The handle is cheap to [`Clone`] (an `Arc`); dropping the **last**
///   handle is `shutdown(wait = false, cancel_futures = false)`: queued jobs
///   still run, then the workers exit on their own. Dropping never blocks
///   (so it is safe on an event loop's thread and inside a job), and no
///   thread outlives the work it was given. Call
///   [`shutdown`](Self::shutdown) with `wait = true` to join the threads.
///
/// ```
/// use aloop_blocking::ThreadPoolExecutor;
///
/// let pool = ThreadPoolExecutor::new(4)?;
/// let futs: Vec<_> = (0..8u64)
///     .map(|i| pool.submit(move || i * i))
///     .collect::<Result<_, _>>()?;
/// // Awaitable from any executor; here we block a plain thread instead.
/// let squares: Vec<u64> = futs.into_iter().map(|f| f.wait()).collect::<Result<_, _>>()?;
/// assert_eq!(squares, [0, 1, 4, 9, 16, 25, 36, 49]);
/// pool.shutdown(true, false);
/// assert_eq!(pool.worker_count(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ThreadPoolExecutor {
    shared: Arc<PoolShared>,
}

impl ThreadPoolExecutor {
    pub(crate) fn from_shared(shared: Arc<PoolShared>) -> Self {
        ThreadPoolExecutor { shared }
    }

    /// Queues `f` to run on a worker thread and returns the future of its
    /// result at once (the closure may already be running when this returns).
    ///
    /// Errors: [`SubmitError::Shutdown`] after [`shutdown`](Self::shutdown)
    /// (or a submit racing it); [`SubmitError::Spawn`] if the pool had no
    /// thread and none could be started. On error `f` is dropped unrun.
    ///
    /// ```
    /// use aloop_blocking::ThreadPoolExecutor;
    ///
    /// let pool = ThreadPoolExecutor::new(1)?;
    /// let fut = pool.submit(|| "from a worker")?;
    /// // Under any executor: `fut.await`. Here, a plain thread blocks:
    /// assert_eq!(fut.wait()?, "from a worker");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn submit<F, T>(&self, f: F) -> Result<JobFuture<T>, SubmitError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let s = &self.shared;
        if s.shutdown.load(Ordering::Acquire) {
            return Err(SubmitError::Shutdown);
        }
        let (job, fut) = new_job(f);
        let claimed = s.claim_idle();
        if s.tx.send(Msg::Job(job)).is_err() {
            // Unreachable: the pool owns the receiver. Dropping `fut` cancels.
            return Err(SubmitError::Shutdown);
        }
        // Pairs with the fences in a retiring worker and in `shutdown`: we
        // see their writes to `live`/`shutdown`, or they see our job.
        fence(Ordering::SeqCst);
        let grown = if claimed { Ok(()) } else { s.maybe_grow() };
        let refused = match grown {
            Err(e) => Some(e),
            // Raced with a shutdown that may not see the job.
            Ok(()) if s.shutdown.load(Ordering::Relaxed) => Some(SubmitError::Shutdown),
            Ok(()) => None,
        };
        if let Some(e) = refused {
            // Withdraw the job, unless a worker already took it: then it
            // runs like any accepted job and the submit succeeded.
            if fut.cancel() {
                return Err(e);
            }
        }
        Ok(fut)
    }

    /// Submits `f(item)` for every item, all at once (as Python does), and
    /// returns a [`Map`]: an iterator that blocks for each result in input
    /// order, or, through [`Map::into_futures`], the futures to await.
    ///
    /// A panicking item yields `Err(JobError::Panicked)` in its place and the
    /// others still come back. Dropping the `Map` cancels the items that have
    /// not started (Python cancels them when the generator is closed).
    /// If a submit fails (shutdown), the items already submitted are
    /// cancelled and the error is returned.
    ///
    /// ```
    /// use aloop_blocking::ThreadPoolExecutor;
    ///
    /// let pool = ThreadPoolExecutor::new(3)?;
    /// let lens: Vec<usize> = pool
    ///     .map(|s: &str| s.len(), ["a", "bb", "ccc"])?
    ///     .collect::<Result<_, _>>()?;
    /// assert_eq!(lens, [1, 2, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn map<F, I, T>(&self, f: F, items: I) -> Result<Map<T>, SubmitError>
    where
        F: Fn(I::Item) -> T + Send + Sync + 'static,
        I: IntoIterator,
        I::Item: Send + 'static,
        T: Send + 'static,
    {
        let f = Arc::new(f);
        let items = items.into_iter();
        let mut futures = Vec::with_capacity(items.size_hint().0);
        for item in items {
            let f = Arc::clone(&f);
            futures.push(self.submit(move || f(item))?);
        }
        Ok(Map::new(futures))
    }

    /// Stops the pool, as Python's `shutdown(wait, cancel_futures=...)`.
    ///
    /// * Afterwards [`submit`](Self::submit) returns
    ///   [`SubmitError::Shutdown`].
    /// * `cancel_futures = false`: jobs already queued still run.
    ///   `cancel_futures = true`: jobs that have not started are cancelled;
    ///   their futures resolve to [`JobError::Cancelled`](crate::JobError::Cancelled).
    ///   Jobs already running always finish (threads are not pre-emptible).
    /// * `wait = true`: returns only when every worker thread has exited
    ///   (joined), so after it `worker_count() == 0`. Called from inside one
    ///   of this pool's jobs, it waits for every thread but its own.
    ///   `wait = false`: returns at once; the threads exit when the queue is
    ///   drained.
    ///
    /// Calling it again is allowed: a later call can still cancel queued
    /// jobs or wait for the threads.
    ///
    /// ```
    /// use aloop_blocking::{SubmitError, ThreadPoolExecutor};
    ///
    /// let pool = ThreadPoolExecutor::new(2)?;
    /// let fut = pool.submit(|| 1)?;
    /// pool.shutdown(true, false);
    /// assert_eq!(fut.wait()?, 1); // queued work still ran
    /// assert!(matches!(pool.submit(|| 2), Err(SubmitError::Shutdown)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shutdown(&self, wait: bool, cancel_futures: bool) {
        let s = &self.shared;
        if cancel_futures {
            s.cancel_pending.store(true, Ordering::Release);
        }
        let first = !s.shutdown.swap(true, Ordering::AcqRel);
        // Pairs with the fence in `submit`: a racing submit either sees the
        // flag (and withdraws its job) or its job is ahead of `Stop`.
        fence(Ordering::SeqCst);
        if cancel_futures {
            s.cancel_queued();
        }
        if first {
            let _ = s.tx.send(Msg::Stop);
        }
        if wait {
            s.join_workers();
        }
    }

    /// `true` once [`shutdown`](Self::shutdown) was called (or the last
    /// handle dropped).
    pub fn is_shutdown(&self) -> bool {
        self.shared.shutdown.load(Ordering::Acquire)
    }

    /// Worker threads currently working for the pool (started and not yet
    /// exiting). 0 before the first submit and after `shutdown(wait = true)`,
    /// never above [`max_workers`](Self::max_workers).
    pub fn worker_count(&self) -> usize {
        self.shared.running.load(Ordering::SeqCst)
    }

    /// Workers currently blocked waiting for a job and not yet promised to a
    /// just-submitted one.
    pub fn idle_count(&self) -> usize {
        self.shared.idle_count()
    }

    /// Jobs waiting in the queue for a worker (approximate while other
    /// threads submit; after shutdown it may count an internal stop marker).
    pub fn queued_count(&self) -> usize {
        self.shared.queued()
    }

    /// The most threads this pool runs at once.
    pub fn max_workers(&self) -> usize {
        self.shared.max_workers
    }

    /// The prefix of this pool's thread names (`{prefix}_{n}`).
    pub fn thread_name_prefix(&self) -> &str {
        &self.shared.prefix
    }

    /// How long an idle worker waits for a job before it exits.
    pub fn keep_alive(&self) -> Duration {
        self.shared.keep_alive
    }

    /// `true` if both handles refer to the same pool.
    pub fn ptr_eq(&self, other: &ThreadPoolExecutor) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl Clone for ThreadPoolExecutor {
    /// Another handle to the same pool.
    fn clone(&self) -> Self {
        self.shared.handles.fetch_add(1, Ordering::Relaxed);
        ThreadPoolExecutor {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl Drop for ThreadPoolExecutor {
    fn drop(&mut self) {
        if self.shared.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shutdown(false, false);
        }
    }
}

impl fmt::Debug for ThreadPoolExecutor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadPoolExecutor")
            .field("prefix", &self.shared.prefix)
            .field("max_workers", &self.shared.max_workers)
            .field("workers", &self.worker_count())
            .field("idle", &self.idle_count())
            .field("shutdown", &self.is_shutdown())
            .finish()
    }
}
