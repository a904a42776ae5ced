//! The loop's blocking point: waits for I/O readiness or a wake-up from another thread.
//!
//! A thin layer over `polling::Poller` so that the iteration in `run_once.rs` only ever
//! says "wait at most this long" and "wake up".

use std::io;
use std::time::Duration;

use polling::{Events, Poller};

pub(crate) struct Driver {
    poller: Poller,
}

impl Driver {
    pub(crate) fn new() -> io::Result<Driver> {
        Ok(Driver {
            poller: Poller::new()?,
        })
    }

    /// Blocks for at most `timeout` (`None`: until woken). Interrupted waits are not
    /// errors: the loop simply runs its next iteration.
    pub(crate) fn wait(&self, events: &mut Events, timeout: Option<Duration>) -> io::Result<()> {
        events.clear();
        match self.poller.wait(events, timeout) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Wakes a `wait` in progress (or makes the next one return at once).
    pub(crate) fn notify(&self) {
        // Failure here means the poller's own wake-up fd is gone, which only happens while
        // the loop is being torn down; there is nobody left to wake.
        let _ = self.poller.notify();
    }
}
