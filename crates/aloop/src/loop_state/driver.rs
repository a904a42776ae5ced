//! The loop's blocking point: waits for I/O readiness or a wake-up from another thread.
//!
//! A thin layer over the loop's `aloop_reactor::Reactor`, so that the iteration in
//! `run_once.rs` only ever says "wait at most this long" and "wake up".

use std::io;
use std::time::Duration;

use aloop_reactor::Reactor;

pub(super) struct Driver {
    pub(super) reactor: Reactor,
}

impl Driver {
    pub(super) fn new() -> io::Result<Driver> {
        Ok(Driver {
            reactor: Reactor::new()?,
        })
    }

    /// Blocks for at most `timeout` (`None`: until woken), waking the tasks whose I/O
    /// became ready. Interrupted waits are not errors: the loop runs its next iteration.
    pub(super) fn wait(&self, timeout: Option<Duration>) -> io::Result<()> {
        match self.reactor.poll(timeout) {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Wakes a `wait` in progress (or makes the next one return at once).
    pub(super) fn notify(&self) {
        // Failure means the reactor's wake-up fd is gone, which only happens while the
        // loop is being torn down: there is nobody left to wake.
        let _ = self.reactor.notify();
    }
}
