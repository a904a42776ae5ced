//! The state the pool shares with its worker threads, and the worker loop.
//!
//! Workers hold an `Arc<PoolShared>` but not the user-facing handle, so the
//! last `ThreadPoolExecutor` handle can drop (and shut the pool down) while
//! workers still drain the queue.
//!
//! Idle accounting: a worker about to block on the queue adds one to `idle`;
//! a submitter that finds `idle > 0` *claims* one (moves it from `idle` to
//! `notified`) instead of starting a thread, as Python's idle semaphore does;
//! a worker leaving the blocking wait takes one back from `notified` if any,
//! else from `idle`. So `idle + notified` is always the number of workers
//! blocked, and two quick submits never both count on the same idle worker
//! (which could leave a job waiting behind a blocked one while the pool is
//! below `max_workers`). Both counters share one atomic word.
//!
//! A claim and a worker leaving its wait are read-modify-writes of the same
//! word, so they are totally ordered: a timed-out worker either finds itself
//! claimed (and stays for the job) or is no longer counted (and the submitter
//! starts a thread or relies on a busy one). The remaining races, between a
//! submitter and a retiring worker or a shutdown, are closed with the "write;
//! SeqCst fence; read" pattern on both sides: a submitter enqueues, fences,
//! then reads `live` and the shutdown flag; a retiring worker lowers `live`,
//! fences, then looks at the queue; a shutdown raises its flag, fences, then
//! enqueues `Stop`. Either side is then guaranteed to see the other's write,
//! so no job is stranded in a queue no worker will read.

use std::cell::Cell;
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TryRecvError};

use crate::error::SubmitError;
use crate::job::Runnable;

/// A queue entry.
pub(crate) enum Msg {
    /// Run this job.
    Job(Arc<dyn Runnable>),
    /// Exit. The receiver re-enqueues it before exiting so that every
    /// worker, including one started by a submit that raced the shutdown,
    /// meets one; one pill is enough for any number of workers.
    Stop,
}

/// One unclaimed idle worker in `PoolShared::idle`.
const IDLE_ONE: usize = 1;
/// One claimed (notified) idle worker in `PoolShared::idle`.
const NOTIFIED_ONE: usize = 1 << (usize::BITS / 2);
const IDLE_MASK: usize = NOTIFIED_ONE - 1;
/// The most workers a pool may have, so the idle halves cannot overflow.
pub(crate) const MAX_WORKERS_LIMIT: usize = IDLE_MASK;

thread_local! {
    /// Address of the `PoolShared` this thread works for (0 if none), so a
    /// job calling `shutdown(wait = true)` on its own pool does not join
    /// itself.
    static CURRENT_POOL: Cell<usize> = const { Cell::new(0) };
}

/// State shared by the pool handles and the workers.
pub(crate) struct PoolShared {
    pub(crate) tx: Sender<Msg>,
    rx: Receiver<Msg>,
    /// No new submissions.
    pub(crate) shutdown: AtomicBool,
    /// Queued jobs are cancelled instead of run (`cancel_futures`).
    pub(crate) cancel_pending: AtomicBool,
    /// Worker slots taken: threads started and not yet exited, plus slots a
    /// submitter reserved and may still give back (see `maybe_grow`). It
    /// bounds the pool at `max_workers` and tells `join_workers` to wait.
    pub(crate) live: AtomicUsize,
    /// Threads started and not yet leaving: what `worker_count` reports.
    /// Unlike `live` it never counts a reservation, so it cannot read 1 for
    /// an instant after `shutdown(wait)` has joined every thread. Each thread
    /// raises `live` before `running` and lowers `running` before `live`, so
    /// `running <= live <= max_workers` at every instant.
    pub(crate) running: AtomicUsize,
    /// Workers blocked waiting for a job: unclaimed ones in the low half
    /// (`IDLE_MASK`), claimed ones ("notified") in the high half.
    idle: AtomicUsize,
    /// Number of `ThreadPoolExecutor` handles (clones) alive.
    pub(crate) handles: AtomicUsize,
    /// Join handles of started threads; finished ones are pruned lazily.
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// Suffix of the next thread's name.
    next_thread: AtomicUsize,
    pub(crate) max_workers: usize,
    pub(crate) keep_alive: Duration,
    pub(crate) prefix: String,
    stack_size: Option<usize>,
}

impl PoolShared {
    pub(crate) fn new(
        max_workers: usize,
        keep_alive: Duration,
        prefix: String,
        stack_size: Option<usize>,
    ) -> Self {
        let (tx, rx) = crossbeam_channel::unbounded();
        PoolShared {
            tx,
            rx,
            shutdown: AtomicBool::new(false),
            cancel_pending: AtomicBool::new(false),
            live: AtomicUsize::new(0),
            running: AtomicUsize::new(0),
            idle: AtomicUsize::new(0),
            handles: AtomicUsize::new(1),
            threads: Mutex::new(Vec::new()),
            next_thread: AtomicUsize::new(0),
            max_workers,
            keep_alive,
            prefix,
            stack_size,
        }
    }

    fn threads(&self) -> MutexGuard<'_, Vec<JoinHandle<()>>> {
        // A poisoned lock only means a panic elsewhere while it was held; the
        // vector is still a valid list of handles.
        self.threads.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Idle workers not yet claimed by a submit.
    pub(crate) fn idle_count(&self) -> usize {
        self.idle.load(Ordering::SeqCst) & IDLE_MASK
    }

    /// A worker is about to block waiting for a job.
    fn enter_idle(&self) {
        self.idle.fetch_add(IDLE_ONE, Ordering::SeqCst);
    }

    /// A worker stopped waiting; `true` if it consumed a claim, meaning a
    /// submitter counted on some idle worker to take its job.
    fn leave_idle(&self) -> bool {
        let mut cur = self.idle.load(Ordering::SeqCst);
        loop {
            // `idle + notified >= 1`: this worker is counted in one of them.
            let (new, notified) = if cur >= NOTIFIED_ONE {
                (cur - NOTIFIED_ONE, true)
            } else {
                (cur - IDLE_ONE, false)
            };
            match self
                .idle
                .compare_exchange_weak(cur, new, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return notified,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Claims an idle worker for a job about to be queued; `false` if none
    /// is idle. It must come before the send: a claim made after the job was
    /// queued could land on a worker that already took that job and went idle
    /// again, leaving it counted as claimed (not idle) for a whole keep-alive
    /// and making later submits start threads they do not need.
    pub(crate) fn claim_idle(&self) -> bool {
        let mut cur = self.idle.load(Ordering::SeqCst);
        loop {
            if cur & IDLE_MASK == 0 {
                return false;
            }
            let new = cur - IDLE_ONE + NOTIFIED_ONE;
            match self
                .idle
                .compare_exchange_weak(cur, new, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return true,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Number of jobs (and stop pills) waiting in the queue.
    pub(crate) fn queued(&self) -> usize {
        self.rx.len()
    }

    /// Cancels every queued job; returns how many were cancelled.
    pub(crate) fn cancel_queued(&self) -> usize {
        let mut n = 0;
        let mut saw_stop = false;
        while let Ok(msg) = self.rx.try_recv() {
            match msg {
                Msg::Job(job) => n += usize::from(job.cancel()),
                Msg::Stop => saw_stop = true,
            }
        }
        if saw_stop {
            // Put the pill back: workers still need to meet it.
            let _ = self.tx.send(Msg::Stop);
        }
        n
    }

    /// Starts a worker if the pool is below `max_workers`. Called by a
    /// submitter that found no idle worker, after enqueueing and fencing.
    /// `Err(Spawn)` when the thread could not be started and no worker is
    /// left to run the job; `Err(Shutdown)` when a shutdown began, in which
    /// case no thread is started (the caller withdraws its job).
    pub(crate) fn maybe_grow(self: &Arc<Self>) -> Result<(), SubmitError> {
        let mut cur = self.live.load(Ordering::SeqCst);
        loop {
            if cur >= self.max_workers {
                return Ok(());
            }
            match self
                .live
                .compare_exchange_weak(cur, cur + 1, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => break,
                Err(actual) => cur = actual,
            }
        }
        // Both SeqCst: either this load sees the shutdown flag, or the raised
        // `live` is visible to `join_workers`, which then waits for the new
        // thread. So no thread starts behind the back of `shutdown(wait)`.
        if self.shutdown.load(Ordering::SeqCst) {
            self.live.fetch_sub(1, Ordering::SeqCst);
            return Err(SubmitError::Shutdown);
        }
        match self.spawn_worker() {
            Ok(()) => Ok(()),
            Err(e) => {
                if self.live.fetch_sub(1, Ordering::SeqCst) == 1 {
                    Err(SubmitError::Spawn(e))
                } else {
                    Ok(()) // another worker will run the job
                }
            }
        }
    }

    /// Starts one worker thread; `live` was already raised for it.
    fn spawn_worker(self: &Arc<Self>) -> io::Result<()> {
        // Spawning under the lock guarantees that a thread, once it exists,
        // has its handle in the list for `join_workers`.
        let mut threads = self.threads();
        threads.retain(|h| !h.is_finished());
        let n = self.next_thread.fetch_add(1, Ordering::Relaxed);
        let mut builder = thread::Builder::new().name(format!("{}_{}", self.prefix, n));
        if let Some(size) = self.stack_size {
            builder = builder.stack_size(size);
        }
        let shared = Arc::clone(self);
        // Raised before the thread exists, so its exit cannot lower it first.
        self.running.fetch_add(1, Ordering::SeqCst);
        match builder.spawn(move || worker_loop(shared)) {
            Ok(handle) => {
                threads.push(handle);
                Ok(())
            }
            Err(e) => {
                self.running.fetch_sub(1, Ordering::SeqCst);
                Err(e)
            }
        }
    }

    /// Joins every worker thread except the calling one (a job shutting down
    /// its own pool), including ones started by submits racing the shutdown.
    pub(crate) fn join_workers(&self) {
        let me = thread::current().id();
        let here = usize::from(CURRENT_POOL.with(Cell::get) == self as *const Self as usize);
        loop {
            let handles = std::mem::take(&mut *self.threads());
            for h in handles {
                if h.thread().id() != me {
                    // A worker's panic is caught inside; nothing to report.
                    let _ = h.join();
                }
            }
            if self.live.load(Ordering::SeqCst) <= here && self.threads().is_empty() {
                return;
            }
            // A submit is between raising `live` and storing the handle.
            thread::sleep(Duration::from_millis(1));
        }
    }

    /// Called by a worker whose keep-alive ran out. `true`: exit now.
    fn try_retire(&self) -> bool {
        self.running.fetch_sub(1, Ordering::SeqCst);
        self.live.fetch_sub(1, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        if self.rx.is_empty() {
            return true;
        }
        // A job arrived while we were leaving and its submitter may have
        // counted on us: come back, unless a replacement already started.
        let mut cur = self.live.load(Ordering::SeqCst);
        loop {
            if cur >= self.max_workers {
                return true;
            }
            match self
                .live
                .compare_exchange_weak(cur, cur + 1, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => {
                    self.running.fetch_add(1, Ordering::SeqCst);
                    return false;
                }
                Err(actual) => cur = actual,
            }
        }
    }
}

/// The body of a worker thread.
fn worker_loop(shared: Arc<PoolShared>) {
    CURRENT_POOL.with(|c| c.set(Arc::as_ptr(&shared) as usize));
    loop {
        // Take queued work without touching `idle` while there is some.
        let msg = match shared.rx.try_recv() {
            Ok(msg) => msg,
            Err(TryRecvError::Disconnected) => break,
            Err(TryRecvError::Empty) => {
                shared.enter_idle();
                let r = shared.rx.recv_timeout(shared.keep_alive);
                let claimed = shared.leave_idle();
                match r {
                    Ok(msg) => msg,
                    Err(RecvTimeoutError::Timeout) => {
                        // A claim outstanding means a job was queued for an
                        // idle worker: stay and look for it.
                        if !claimed && shared.try_retire() {
                            return;
                        }
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
        };
        match msg {
            Msg::Job(job) => {
                let cancel = shared.cancel_pending.load(Ordering::Acquire);
                // The job's own panic is caught inside `run`. This also
                // catches user code that runs around it: a panicking waker,
                // or the drop of a result nobody awaits (the closure owns
                // `job`, so its last reference dies in here). The thread must
                // survive to keep `live` accurate.
                let _ = panic::catch_unwind(AssertUnwindSafe(move || {
                    if cancel {
                        job.cancel();
                    } else {
                        job.run();
                    }
                }));
            }
            Msg::Stop => {
                let _ = shared.tx.send(Msg::Stop);
                break;
            }
        }
    }
    shared.running.fetch_sub(1, Ordering::SeqCst);
    shared.live.fetch_sub(1, Ordering::SeqCst);
}
