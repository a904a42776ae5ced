//! Configuration of a [`ThreadPoolExecutor`]: worker limit, thread names,
//! keep-alive and stack size; and the pool's constructors (`new`, `builder`,
//! `Default`), which all go through the builder.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use crate::error::BuildError;
use crate::pool::ThreadPoolExecutor;
use crate::worker::{PoolShared, MAX_WORKERS_LIMIT};

/// How long an idle worker waits for a job before it exits, by default.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// Numbers the default thread-name prefixes, as Python's class counter does.
static POOL_COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Python's default worker limit: `min(32, cpu_count + 4)`, enough to keep
/// the CPUs busy while some jobs wait on I/O.
pub fn default_max_workers() -> usize {
    let cpus = thread::available_parallelism().map_or(1, usize::from);
    (cpus + 4).min(32)
}

/// Builds a [`ThreadPoolExecutor`] with non-default settings.
///
/// ```
/// use aloop_blocking::ThreadPoolExecutor;
/// use std::time::Duration;
///
/// let pool = ThreadPoolExecutor::builder()
///     .max_workers(4)
///     .thread_name_prefix("io")
///     .keep_alive(Duration::from_secs(1))
///     .build()?;
/// let name = pool.submit(|| std::thread::current().name().map(String::from))?.wait()?;
/// assert_eq!(name.as_deref(), Some("io_0"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a Builder does nothing until build() is called"]
pub struct Builder {
    max_workers: Option<usize>,
    prefix: Option<String>,
    keep_alive: Duration,
    stack_size: Option<usize>,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            max_workers: None,
            prefix: None,
            keep_alive: DEFAULT_KEEP_ALIVE,
            stack_size: None,
        }
    }
}

impl Builder {
    /// A builder with the defaults: [`default_max_workers`], prefix
    /// `ThreadPoolExecutor-{pool number}`, [`DEFAULT_KEEP_ALIVE`], the
    /// standard library's stack size.
    pub fn new() -> Self {
        Self::default()
    }

    /// The most threads the pool runs at once; 0 makes `build` fail. Values
    /// above 2^32 - 1 (2^16 - 1 on 32-bit targets) are capped there.
    pub fn max_workers(mut self, n: usize) -> Self {
        self.max_workers = Some(n);
        self
    }

    /// Threads are named `{prefix}_{n}`, `n` counting up from 0 per pool.
    pub fn thread_name_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// How long an idle worker waits for a job before it exits (Python's
    /// workers never exit; a later submit starts a new thread when needed).
    pub fn keep_alive(mut self, keep_alive: Duration) -> Self {
        self.keep_alive = keep_alive;
        self
    }

    /// Stack size of the worker threads, in bytes.
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Creates the pool. No thread starts until the first submit.
    pub fn build(self) -> Result<ThreadPoolExecutor, BuildError> {
        match self.max_workers {
            Some(0) => Err(BuildError::ZeroWorkers),
            _ => Ok(self.build_valid()),
        }
    }

    /// `build` for a configuration known to be valid: an unset or non-zero
    /// `max_workers` (0 is replaced by the default rather than panicking).
    pub(crate) fn build_valid(self) -> ThreadPoolExecutor {
        let max_workers = match self.max_workers {
            Some(n) if n > 0 => n.min(MAX_WORKERS_LIMIT),
            _ => default_max_workers(),
        };
        let prefix = self.prefix.unwrap_or_else(|| {
            format!(
                "ThreadPoolExecutor-{}",
                POOL_COUNTER.fetch_add(1, Ordering::Relaxed)
            )
        });
        let shared = PoolShared::new(max_workers, self.keep_alive, prefix, self.stack_size);
        ThreadPoolExecutor::from_shared(Arc::new(shared))
    }
}

impl ThreadPoolExecutor {
    /// A pool running at most `max_workers` threads, with the other settings
    /// at their defaults (see [`Builder`]). `max_workers == 0` is
    /// [`BuildError::ZeroWorkers`].
    pub fn new(max_workers: usize) -> Result<Self, BuildError> {
        Builder::new().max_workers(max_workers).build()
    }

    /// A [`Builder`] for the thread-name prefix, keep-alive and stack size.
    pub fn builder() -> Builder {
        Builder::new()
    }
}

impl Default for ThreadPoolExecutor {
    /// Python's default pool: `min(32, cpus + 4)` workers, default prefix
    /// and keep-alive.
    fn default() -> Self {
        Builder::new().build_valid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_workers_is_an_error() {
        assert!(matches!(
            Builder::new().max_workers(0).build(),
            Err(BuildError::ZeroWorkers)
        ));
    }

    #[test]
    fn defaults_follow_python() {
        let n = default_max_workers();
        assert!((5..=32).contains(&n), "{n}");
        let a = Builder::new().build().unwrap_or_else(|e| panic!("{e}"));
        let b = Builder::new().build().unwrap_or_else(|e| panic!("{e}"));
        assert!(a.thread_name_prefix().starts_with("ThreadPoolExecutor-"));
        assert_ne!(a.thread_name_prefix(), b.thread_name_prefix());
        assert_eq!(a.max_workers(), n);
        assert_eq!(a.keep_alive(), DEFAULT_KEEP_ALIVE);
    }
}
