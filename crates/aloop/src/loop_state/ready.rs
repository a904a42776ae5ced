//! What the loop state queues: the entries of the ready queue, of the cross-thread queue,
//! and of the timer wheel. Beside `mod.rs` (the state that holds the queues) and
//! `run_once.rs` (the iteration that empties them).

use std::rc::Rc;
use std::task::Waker;

use aloop_executor::Runnable;

use crate::callback::Callback;

/// An entry of the ready queue: a callback or a task step. 16 bytes: a third variant
/// would cost every entry 8 more (a threadsafe `stop()` arrives as a callback).
pub(crate) enum Ready {
    Callback(Rc<dyn Callback>),
    Task(Runnable),
}

/// What other threads send to the loop.
pub(crate) enum Remote {
    Task(Runnable),
    Callback(Box<dyn FnOnce() + Send>),
    Stop,
}

/// What the timer wheel holds: a `call_later` callback, or the waker of a `sleep`.
pub(crate) enum TimerEntry {
    Callback(Rc<dyn Callback>),
    Waker(Waker),
}
