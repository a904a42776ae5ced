//! Typed errors for misuse of the loop and its futures, worded as asyncio words them.

use std::fmt;
use std::io;

pub use aloop_executor::{PanicPayload, TaskError};

/// Why `run_forever` / `run_until_complete` could not run the loop or produce a value.
#[derive(Debug, Clone)]
pub enum RunError {
    /// The loop was closed with `close()`.
    Closed,
    /// The loop is already running (a callback or task tried to run it again).
    AlreadyRunning,
    /// Another event loop is running on this thread.
    AnotherLoopRunning,
    /// `stop()` ended `run_until_complete` before its future finished.
    Stopped,
    /// The future given to `run_until_complete` was cancelled or panicked.
    Task(TaskError),
    /// `aloop::run` / `try_run` could not create its event loop: the OS refused the
    /// poller or its wakeup descriptor (for example, out of file descriptors).
    Io(std::sync::Arc<std::io::Error>),
    /// Ctrl-C (SIGINT) cancelled the main task of `aloop::run`, `try_run` or
    /// `Runner::run` (asyncio raises `KeyboardInterrupt` there). The task's cleanup
    /// has run.
    Interrupted,
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Closed => f.write_str("Event loop is closed"),
            RunError::AlreadyRunning => f.write_str("This event loop is already running"),
            RunError::AnotherLoopRunning => {
                f.write_str("Cannot run the event loop while another loop is running")
            }
            RunError::Stopped => f.write_str("Event loop stopped before Future completed."),
            RunError::Task(e) => write!(f, "{e}"),
            RunError::Io(e) => write!(f, "could not create the event loop: {e}"),
            RunError::Interrupted => f.write_str("interrupted by SIGINT (Ctrl-C)"),
        }
    }
}

impl std::error::Error for RunError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RunError::Task(e) => Some(e),
            RunError::Io(e) => Some(&**e),
            _ => None,
        }
    }
}

/// The loop is closed: it accepts no more callbacks or tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoopClosed;

impl fmt::Display for LoopClosed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Event loop is closed")
    }
}

impl std::error::Error for LoopClosed {}

/// `close()` was called on a running loop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseRunningLoop;

impl fmt::Display for CloseRunningLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cannot close a running event loop")
    }
}

impl std::error::Error for CloseRunningLoop {}

/// No event loop is running on this thread (`get_running_loop` outside a loop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoRunningLoop;

impl fmt::Display for NoRunningLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("no running event loop")
    }
}

impl std::error::Error for NoRunningLoop {}

/// An operation that needs a particular state of a future or task found another one:
/// reading a result that is not set, or setting one twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidStateError {
    message: &'static str,
}

impl InvalidStateError {
    pub(crate) const NOT_SET: InvalidStateError = InvalidStateError {
        message: "Result is not set.",
    };
    pub(crate) const ALREADY_DONE: InvalidStateError = InvalidStateError {
        message: "invalid state: the result is already set or the future was cancelled",
    };
    pub(crate) const TAKEN: InvalidStateError = InvalidStateError {
        message: "Result was already taken (awaited by value).",
    };

    /// What was wrong.
    pub fn message(&self) -> &str {
        self.message
    }
}

impl fmt::Display for InvalidStateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for InvalidStateError {}

/// The future was cancelled (asyncio's `CancelledError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cancelled;

impl fmt::Display for Cancelled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the future was cancelled")
    }
}

impl std::error::Error for Cancelled {}

/// Why `Promise::result` has no value to give.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PromiseError {
    /// The promise is still pending (asyncio: `InvalidStateError('Result is not set.')`).
    InvalidState(InvalidStateError),
    /// The promise was cancelled.
    Cancelled,
}

impl fmt::Display for PromiseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PromiseError::InvalidState(e) => write!(f, "{e}"),
            PromiseError::Cancelled => f.write_str("the future was cancelled"),
        }
    }
}

impl std::error::Error for PromiseError {}

/// Why `add_reader` / `add_writer` refused a watch.
#[derive(Debug)]
pub enum FdWatchError {
    /// The loop is closed (asyncio: `RuntimeError: Event loop is closed`).
    Closed(LoopClosed),
    /// The OS refused to watch the fd (e.g. `EBADF`); the OS error is kept.
    Io(io::Error),
}

impl FdWatchError {
    /// The OS error code, if the OS refused the watch.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            FdWatchError::Closed(_) => None,
            FdWatchError::Io(e) => e.raw_os_error(),
        }
    }
}

impl fmt::Display for FdWatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FdWatchError::Closed(e) => e.fmt(f),
            FdWatchError::Io(e) => write!(f, "cannot watch the fd: {e}"),
        }
    }
}

impl std::error::Error for FdWatchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FdWatchError::Closed(e) => Some(e),
            FdWatchError::Io(e) => Some(e),
        }
    }
}

impl From<FdWatchError> for io::Error {
    fn from(e: FdWatchError) -> io::Error {
        match e {
            FdWatchError::Io(e) => e,
            FdWatchError::Closed(closed) => io::Error::other(closed),
        }
    }
}

/// Why `add_signal_handler` refused a handler.
#[cfg(feature = "process")]
#[derive(Debug)]
pub enum SignalHandlerError {
    /// The loop is closed (asyncio: `RuntimeError: Event loop is closed`).
    Closed(LoopClosed),
    /// Not a signal number of this OS (asyncio: `ValueError: sig N out of range`).
    OutOfRange(i32),
    /// SIGKILL or SIGSTOP, which no process can catch (asyncio: `RuntimeError: sig N
    /// cannot be caught`), or SIGILL, SIGFPE or SIGSEGV, whose handlers must run in the
    /// faulting thread.
    Uncatchable(i32),
    /// The OS refused (the wake-up pipe, the handler, the reactor); the OS error is kept.
    Io(io::Error),
}

#[cfg(feature = "process")]
impl SignalHandlerError {
    /// The OS error code, if the OS refused.
    pub fn raw_os_error(&self) -> Option<i32> {
        match self {
            SignalHandlerError::Io(e) => e.raw_os_error(),
            _ => None,
        }
    }
}

#[cfg(feature = "process")]
impl From<aloop_process::SignalError> for SignalHandlerError {
    fn from(e: aloop_process::SignalError) -> SignalHandlerError {
        match e {
            aloop_process::SignalError::OutOfRange(n) => SignalHandlerError::OutOfRange(n),
            aloop_process::SignalError::Uncatchable(n) => SignalHandlerError::Uncatchable(n),
            aloop_process::SignalError::Io(e) => SignalHandlerError::Io(e),
        }
    }
}

#[cfg(feature = "process")]
impl fmt::Display for SignalHandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignalHandlerError::Closed(e) => e.fmt(f),
            SignalHandlerError::OutOfRange(n) => aloop_process::SignalError::OutOfRange(*n).fmt(f),
            SignalHandlerError::Uncatchable(n) => {
                aloop_process::SignalError::Uncatchable(*n).fmt(f)
            }
            SignalHandlerError::Io(e) => write!(f, "cannot handle the signal: {e}"),
        }
    }
}

#[cfg(feature = "process")]
impl std::error::Error for SignalHandlerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SignalHandlerError::Closed(e) => Some(e),
            SignalHandlerError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// `advance` on a loop that runs on real time (see `LoopRef::use_virtual_time`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealTimeError;

impl fmt::Display for RealTimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the loop runs on real time: call use_virtual_time() first")
    }
}

impl std::error::Error for RealTimeError {}
