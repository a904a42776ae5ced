//! Why a task produced no value: it was cancelled, or its future panicked.

use std::any::Any;
use std::fmt;
use std::sync::{Arc, Mutex};

/// The error a task's handle yields instead of the task's output.
///
/// It is `Clone` so that several observers (done callbacks, `result()` calls) can all see
/// the same outcome, as every awaiter of an asyncio task sees the same exception.
#[derive(Clone)]
pub enum TaskError {
    /// The task was cancelled before it finished: its future was dropped at its next
    /// scheduled step (Rust's form of asyncio's `CancelledError`).
    Cancelled,
    /// The task's future panicked; the payload is kept so it can be inspected or resumed.
    Panicked(PanicPayload),
}

impl TaskError {
    /// Whether this is [`TaskError::Cancelled`].
    pub fn is_cancelled(&self) -> bool {
        matches!(self, TaskError::Cancelled)
    }

    /// Whether this is [`TaskError::Panicked`].
    pub fn is_panic(&self) -> bool {
        matches!(self, TaskError::Panicked(_))
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Cancelled => f.write_str("Cancelled"),
            TaskError::Panicked(p) => f.debug_tuple("Panicked").field(&p.message()).finish(),
        }
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TaskError::Cancelled => f.write_str("task was cancelled"),
            TaskError::Panicked(p) => write!(f, "task panicked: {}", p.message()),
        }
    }
}

impl std::error::Error for TaskError {}

/// A panic caught inside a task or callback: its message, and the original payload.
///
/// Cloning shares the payload; the first [`PanicPayload::take`] gets it.
#[derive(Clone)]
pub struct PanicPayload {
    // One pointer, so `Result<T, TaskError>` stays small in every task cell.
    inner: Arc<PanicInner>,
}

struct PanicInner {
    message: Box<str>,
    payload: Mutex<Option<Box<dyn Any + Send>>>,
}

impl PanicPayload {
    /// Wraps a payload caught by `std::panic::catch_unwind`.
    pub fn new(payload: Box<dyn Any + Send>) -> Self {
        let message: Box<str> = if let Some(s) = payload.downcast_ref::<&'static str>() {
            Box::from(*s)
        } else if let Some(s) = payload.downcast_ref::<String>() {
            Box::from(s.as_str())
        } else {
            Box::from("Box<dyn Any>")
        };
        PanicPayload {
            inner: Arc::new(PanicInner {
                message,
                payload: Mutex::new(Some(payload)),
            }),
        }
    }

    /// The panic message, when the payload was a string (as `panic!` makes it).
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// Takes the original payload, e.g. to `std::panic::resume_unwind` it. Only the first
    /// call among all clones gets it.
    pub fn take(&self) -> Option<Box<dyn Any + Send>> {
        self.inner.payload.lock().ok()?.take()
    }
}

impl fmt::Debug for PanicPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PanicPayload")
            .field(&self.message())
            .finish()
    }
}
