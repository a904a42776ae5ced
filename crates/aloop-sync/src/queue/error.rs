//! Error types of the queues, each naming the asyncio exception it stands for.

use std::error::Error;
use std::fmt;

/// Error of `put_nowait`: the queue is full (asyncio's `QueueFull`) or shut down
/// (`QueueShutDown`). The rejected item comes back: Rust owns it, so it is not lost.
#[derive(Clone, PartialEq, Eq)]
pub enum TryPutError<T> {
    /// The queue has `maxsize` items (or slots promised to waiting putters).
    Full(T),
    /// [`shutdown`](crate::BaseQueue::shutdown) was called.
    ShutDown(T),
}

impl<T> TryPutError<T> {
    /// The item that was not put.
    pub fn into_inner(self) -> T {
        match self {
            TryPutError::Full(item) | TryPutError::ShutDown(item) => item,
        }
    }
}

impl<T> fmt::Debug for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPutError::Full(_) => f.write_str("Full(..)"),
            TryPutError::ShutDown(_) => f.write_str("ShutDown(..)"),
        }
    }
}

impl<T> fmt::Display for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryPutError::Full(_) => f.write_str("queue is full"),
            TryPutError::ShutDown(_) => f.write_str("queue is shut down"),
        }
    }
}

impl<T> Error for TryPutError<T> {}

/// Error of `get_nowait`: nothing to get (asyncio's `QueueEmpty`), or nothing left
/// after a shutdown (`QueueShutDown`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryGetError {
    /// No item is available.
    Empty,
    /// The queue is shut down and drained.
    ShutDown,
}

impl fmt::Display for TryGetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryGetError::Empty => f.write_str("queue is empty"),
            TryGetError::ShutDown => f.write_str("queue is shut down and empty"),
        }
    }
}

impl Error for TryGetError {}

/// Error of `put().await` (carrying the item back) and `get().await` (with `T = ()`):
/// the queue was shut down (asyncio 3.13's `QueueShutDown`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct QueueShutDown<T = ()>(pub T);

impl<T> QueueShutDown<T> {
    /// The item that was not put (`()` for a get).
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for QueueShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("QueueShutDown(..)")
    }
}

impl<T> fmt::Display for QueueShutDown<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("queue is shut down")
    }
}

impl<T> Error for QueueShutDown<T> {}

/// Error of `task_done`: called more times than items were put (asyncio's
/// `ValueError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskDoneError;

impl fmt::Display for TaskDoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("task_done() called too many times")
    }
}

impl Error for TaskDoneError {}
