//! The `LoopState` methods over the loop's watches: raw fds (`add_reader` /
//! `add_writer`, the table in `fd_watches.rs`) and signals (`add_signal_handler`, by
//! signal number). The watching tasks are made above the floor, in
//! `event_loop/fd_watch.rs` and `event_loop/signal_handlers.rs`; here they are only
//! handles to end.

use std::os::unix::io::RawFd;
use std::rc::Rc;

use aloop_executor::TaskRef;
use aloop_reactor::Registration;

use super::fd_watches::Direction;
use super::LoopState;

impl LoopState {
    /// The registration of a watched fd, so a second watch of it reuses it.
    pub(crate) fn fd_registration(&self, fd: RawFd) -> Option<Rc<Registration>> {
        self.fd_watches.borrow().registration(fd)
    }

    /// Makes `task` the `dir` watch of `fd`, cancelling the watch it replaces.
    pub(crate) fn install_fd_watch(
        &self,
        fd: RawFd,
        dir: Direction,
        registration: Rc<Registration>,
        task: TaskRef,
    ) {
        let replaced = self
            .fd_watches
            .borrow_mut()
            .install(fd, dir, registration, task);
        if let Some(old) = replaced {
            old.cancel();
        }
    }

    /// Cancels the `dir` watch of `fd`; returns whether there was one.
    pub(crate) fn remove_fd_watch(&self, fd: RawFd, dir: Direction) -> bool {
        let removed = self.fd_watches.borrow_mut().remove(fd, dir);
        match removed {
            Some((task, registration)) => {
                task.cancel();
                drop(registration);
                true
            }
            None => false,
        }
    }
}

#[cfg(feature = "process")]
impl LoopState {
    /// Makes `task` the watch of `signum`, cancelling the one it replaces.
    pub(crate) fn install_signal_watch(&self, signum: i32, task: TaskRef) {
        let replaced = self.signal_watches.borrow_mut().insert(signum, task);
        if let Some(old) = replaced {
            old.abort();
        }
    }

    /// Ends the watch of `signum` now; returns whether there was one.
    pub(crate) fn remove_signal_watch(&self, signum: i32) -> bool {
        let removed = self.signal_watches.borrow_mut().remove(&signum);
        match removed {
            Some(task) => {
                task.abort();
                true
            }
            None => false,
        }
    }

    /// Whether `signum` has a watch (a user's handler) on this loop.
    pub(crate) fn has_signal_watch(&self, signum: i32) -> bool {
        self.signal_watches.borrow().contains_key(&signum)
    }
}
