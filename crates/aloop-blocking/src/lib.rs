//! aloop-blocking: a thread pool whose jobs are awaitable futures, the Rust
//! counterpart of Python's `concurrent.futures.ThreadPoolExecutor`.
//!
//! [`ThreadPoolExecutor::submit`] runs a blocking closure on a worker thread
//! and returns a [`JobFuture`] at once. The future can be awaited from any
//! executor (it speaks only [`Waker`](std::task::Waker)) or blocked on from a
//! plain thread with [`JobFuture::wait`]. Threads start lazily up to
//! `max_workers`, are named `{prefix}_{n}`, and retire after an idle
//! keep-alive. A panicking job comes back as [`JobError::Panicked`] and the
//! worker keeps serving.
//!
//! ```
//! use aloop_blocking::ThreadPoolExecutor;
//!
//! let pool = ThreadPoolExecutor::builder().max_workers(2).thread_name_prefix("demo").build()?;
//! let fut = pool.submit(|| std::thread::current().name().map(str::len))?;
//! // Awaitable from any executor:
//! let len = futures_executor::block_on(fut)?;
//! assert_eq!(len, Some("demo_0".len()));
//!
//! let boom = pool.submit(|| -> u8 { panic!("boom") })?;
//! assert_eq!(boom.wait().unwrap_err().panic_message(), Some("boom"));
//!
//! pool.shutdown(true, false); // join the threads
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Each job is one allocation (closure, result, waker and one atomic state
//! word together); completion wakes the awaiting task without a lock; idle
//! workers block on a `crossbeam-channel` queue, never spin.
#![deny(missing_docs)]

mod builder;
mod error;
mod job;
mod map;
mod park;
mod pool;
mod sync;
mod worker;

pub use builder::{default_max_workers, Builder, DEFAULT_KEEP_ALIVE};
pub use error::{BuildError, JobError, SubmitError};
pub use job::JobFuture;
pub use map::Map;
pub use pool::ThreadPoolExecutor;
