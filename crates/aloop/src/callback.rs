//! The callback cell: what `call_soon` / `call_later` put on the ready queue or the timer
//! wheel, shared with the `Handle` that can cancel it.
//!
//! A leaf: it knows nothing of the loop. `loop_state/` queues cells, `handle.rs` wraps
//! them for users.

use std::cell::Cell;
use std::rc::Rc;

/// A scheduled callback as the ready queue sees it: run it once, unless cancelled.
pub(crate) trait Callback {
    /// Takes and runs the callback; does nothing if it was cancelled or already ran.
    fn run(&self);
    /// Drops the callback without running it.
    fn cancel(&self);
    fn cancelled(&self) -> bool;
}

/// One allocation per scheduled callback: the cancel flag and the closure together.
pub(crate) struct CallbackCell<F> {
    cancelled: Cell<bool>,
    callback: Cell<Option<F>>,
}

impl<F: FnOnce() + 'static> CallbackCell<F> {
    pub(crate) fn new_rc(f: F) -> Rc<dyn Callback> {
        Rc::new(CallbackCell {
            cancelled: Cell::new(false),
            callback: Cell::new(Some(f)),
        })
    }
}

impl<F: FnOnce()> Callback for CallbackCell<F> {
    fn run(&self) {
        if let Some(f) = self.callback.take() {
            f();
        }
    }

    fn cancel(&self) {
        self.cancelled.set(true);
        // Drop the closure now: whatever it captured is released at cancel time.
        drop(self.callback.take());
    }

    fn cancelled(&self) -> bool {
        self.cancelled.get()
    }
}
