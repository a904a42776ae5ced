//! [`Runtime`]: N event loops on N threads, one per core by default, with no work
//! stealing: each task lives its whole life on the loop it was spawned on, as asyncio's
//! "one process per core" deployments and thread-per-core runtimes do. Each loop is a
//! full `EventLoop` (its own reactor, wheel and ready queue) reached through its
//! `LoopHandle`. Pinning loops to CPUs (`new_pinned`) is runtime_pin.rs; serving on
//! every loop, runtime_server.rs.

use std::fmt;
use std::future::Future;
use std::io;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};

use crate::error::LoopClosed;
use crate::event_loop::EventLoop;
use crate::loop_handle::{LoopHandle, ThreadsafeFuture};
use crate::runner::Runner;

/// One loop of the runtime: its handle and the thread that runs it.
struct LoopThread {
    handle: LoopHandle,
    thread: Option<JoinHandle<()>>,
}

/// N event loops on N threads (asyncio users' "one process per core", in one process).
///
/// Tasks are spawned on a chosen loop with [`spawn_on`](Runtime::spawn_on), whose
/// builder closure is `Send` while the task it builds may be `!Send`; they stay on that
/// loop. [`handles`](Runtime::handles) gives each loop's [`LoopHandle`] for
/// `call_soon_threadsafe` between loops. To serve on every core, start a server on
/// each loop with `reuse_port` (`ServerOptions`): the kernel spreads connections over
/// the listeners, and each connection lives on one loop.
/// [`new_pinned`](Runtime::new_pinned) also pins each loop's thread to a CPU.
///
/// Dropping the runtime (or [`shutdown`](Runtime::shutdown)) stops every loop, cancels
/// the tasks left on it (their destructors run on its thread), closes it and joins its
/// thread.
///
/// ```
/// let rt = aloop::Runtime::new(2).unwrap();
/// let answers: Vec<_> = (0..rt.len())
///     .map(|i| {
///         // The builder is Send; the task it makes may hold !Send data.
///         rt.spawn_on(i, move || async move {
///             let local = std::rc::Rc::new(i * 10);
///             aloop::sleep(std::time::Duration::from_millis(1)).await;
///             *local + 1
///         })
///         .unwrap()
///     })
///     .collect();
/// let got: Vec<usize> = answers.into_iter().map(|a| a.wait().unwrap()).collect();
/// assert_eq!(got, [1, 11]);
/// ```
pub struct Runtime {
    loops: Vec<LoopThread>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("loops", &self.loops.len())
            .finish()
    }
}

impl Runtime {
    /// A runtime of `loops` event loops, each on a thread of its own named
    /// `aloop-loop-<i>`; 0 means one per available core.
    ///
    /// Errors: the OS refused a thread or a loop's poller (the loops already started
    /// are stopped and joined).
    pub fn new(loops: usize) -> io::Result<Runtime> {
        Runtime::start(loops, &[])
    }

    /// [`new`](Self::new) with loop `i` pinned to the `i`-th CPU this thread may run
    /// on (its affinity mask, in order; round robin when there are more loops than
    /// CPUs), so a loop's caches and its connections' data stay on one core. 0 loops
    /// means one per allowed CPU.
    ///
    /// Linux only (`sched_setaffinity`); elsewhere the loops are not pinned and this is
    /// `new`. Errors: as `new`, or the OS refused the affinity.
    ///
    /// ```
    /// let rt = aloop::Runtime::new_pinned(2).unwrap();
    /// assert_eq!(rt.len(), 2);
    /// ```
    pub fn new_pinned(loops: usize) -> io::Result<Runtime> {
        let cpus = crate::runtime_pin::allowed_cpus()?;
        let loops = if loops == 0 { cpus.len() } else { loops };
        Runtime::start(loops, &cpus)
    }

    /// `loops` loops (0: one per core), loop `i` pinned to `cpus[i % len]` unless
    /// `cpus` is empty.
    fn start(loops: usize, cpus: &[usize]) -> io::Result<Runtime> {
        let count = match loops {
            0 => thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let mut runtime = Runtime { loops: Vec::new() };
        for i in 0..count {
            let (tx, rx) = mpsc::channel();
            let cpu = (!cpus.is_empty()).then(|| cpus[i % cpus.len()]);
            let thread = thread::Builder::new()
                .name(format!("aloop-loop-{i}"))
                .spawn(move || run_loop(tx, cpu))?;
            match rx.recv() {
                Ok(Ok(handle)) => runtime.loops.push(LoopThread {
                    handle,
                    thread: Some(thread),
                }),
                Ok(Err(e)) => {
                    let _ = thread.join();
                    return Err(e);
                }
                Err(_) => {
                    let _ = thread.join();
                    return Err(io::Error::other("a loop thread ended before it started"));
                }
            }
        }
        Ok(runtime)
    }

    /// How many loops the runtime has.
    pub fn len(&self) -> usize {
        self.loops.len()
    }

    /// Whether the runtime has no loop (never: it has at least one).
    pub fn is_empty(&self) -> bool {
        self.loops.is_empty()
    }

    /// Every loop's handle, in order (`call_soon_threadsafe`, `spawn`, `stop`).
    pub fn handles(&self) -> Vec<LoopHandle> {
        self.loops.iter().map(|l| l.handle.clone()).collect()
    }

    /// Builds a task on loop `index` (modulo the number of loops) with `make`, which
    /// runs on that loop's thread, and returns a handle to its output that any thread
    /// can wait on or await. Errors once the runtime is shutting down.
    #[track_caller]
    pub fn spawn_on<M, F>(
        &self,
        index: usize,
        make: M,
    ) -> Result<ThreadsafeFuture<F::Output>, LoopClosed>
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        self.loops[index % self.loops.len()].handle.spawn_with(make)
    }

    /// Runs a task built by `make` on the first loop and waits for its output (a
    /// panic in it is returned as `TaskError::Panicked`).
    #[track_caller]
    pub fn block_on<M, F>(&self, make: M) -> Result<F::Output, crate::TaskError>
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        match self.spawn_on(0, make) {
            Ok(task) => task.wait(),
            Err(LoopClosed) => Err(crate::TaskError::Cancelled),
        }
    }

    /// Stops every loop, cancels what is left on each (its destructors run there),
    /// closes them and joins their threads. Dropping the runtime does the same.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        for l in &self.loops {
            let _ = l.handle.stop();
        }
        for l in &mut self.loops {
            if let Some(thread) = l.thread.take() {
                // A loop thread that panicked has already reported it (the default
                // hook printed it); the others are joined regardless.
                let _ = thread.join();
            }
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// One loop's thread: pin it to `cpu` if given, make the loop, hand its handle back,
/// run until stopped, then end as `Runner::close` does (cancel the tasks left, close).
fn run_loop(started: mpsc::Sender<io::Result<LoopHandle>>, cpu: Option<usize>) {
    if let Some(Err(e)) = cpu.map(crate::runtime_pin::pin_current_thread) {
        let _ = started.send(Err(e));
        return;
    }
    let lp = match EventLoop::try_new() {
        Ok(lp) => lp,
        Err(e) => {
            let _ = started.send(Err(e));
            return;
        }
    };
    if started.send(Ok(lp.handle())).is_err() {
        return;
    }
    let _ = lp.run_forever();
    let runner = Runner::from_loop(lp);
    runner.close();
}
