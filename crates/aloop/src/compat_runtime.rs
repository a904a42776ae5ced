//! [`TokioRuntime`]: a tokio runtime of the program's own for `Compat` futures, on
//! background threads, shut down (tasks dropped, threads joined) when dropped. Without
//! one, `async-compat` starts a runtime of its own that lives until the process ends.

use std::fmt;
use std::io;
use std::time::Duration;

/// A multi-threaded tokio runtime for the `Compat` futures of aloop tasks.
///
/// Enter it on the loop's thread ([`enter`](Self::enter)) for as long as the loop runs:
/// `Compat` finds it there and uses it instead of `async-compat`'s global runtime.
/// Dropping it shuts it down: tokio's tasks are dropped and its threads joined, waiting
/// at most [`SHUTDOWN_TIMEOUT`](Self::SHUTDOWN_TIMEOUT) for blocking work.
///
/// ```
/// use aloop::compat::{Compat, TokioRuntime};
///
/// let tokio_side = TokioRuntime::new(1).unwrap();
/// let guard = tokio_side.enter();
/// let slept = aloop::run(async {
///     // A tokio timer, made and polled inside Compat, driven by `tokio_side`.
///     Compat::new(async {
///         tokio::time::sleep(std::time::Duration::from_millis(5)).await;
///         "slept"
///     })
///     .await
/// });
/// assert_eq!(slept, "slept");
/// drop(guard);
/// drop(tokio_side); // its threads are joined here
/// ```
pub struct TokioRuntime {
    runtime: Option<tokio::runtime::Runtime>,
}

impl fmt::Debug for TokioRuntime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokioRuntime").finish_non_exhaustive()
    }
}

impl TokioRuntime {
    /// How long dropping waits for tokio's blocking work to finish.
    pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

    /// A runtime with `worker_threads` workers (at least 1) and tokio's I/O and time
    /// drivers, its threads named `aloop-compat-tokio`.
    pub fn new(worker_threads: usize) -> io::Result<TokioRuntime> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(worker_threads.max(1))
            .thread_name("aloop-compat-tokio")
            .enable_all()
            .build()?;
        Ok(TokioRuntime {
            runtime: Some(runtime),
        })
    }

    /// Makes this runtime the one `Compat` (and tokio's types) find on this thread
    /// until the guard is dropped. Hold it on the loop's thread while the loop runs.
    pub fn enter(&self) -> tokio::runtime::EnterGuard<'_> {
        self.runtime
            .as_ref()
            .expect("the runtime lives until drop")
            .enter()
    }

    /// The runtime's handle, to spawn on it from other threads.
    pub fn handle(&self) -> &tokio::runtime::Handle {
        self.runtime
            .as_ref()
            .expect("the runtime lives until drop")
            .handle()
    }
}

impl Drop for TokioRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Self::SHUTDOWN_TIMEOUT);
        }
    }
}
