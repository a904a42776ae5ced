//! `add_reader` / `add_writer` / `remove_reader` / `remove_writer`: callbacks run every
//! iteration while a raw fd is readable (writable), as asyncio's selector loop does.
//!
//! Each fd gets one level-triggered registration with the loop's reactor; each direction
//! is a small task that waits for readiness and runs the callback, so the callback is an
//! ordinary ready-queue entry. The fd is borrowed: the loop never closes it. The table of
//! watches is part of the loop state (`loop_state/fd_watches.rs`).

use std::future::poll_fn;
use std::io;
use std::os::unix::io::RawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

use aloop_reactor::Registration;

use super::LoopRef;
use crate::error::{FdWatchError, LoopClosed};
use crate::exception::ExceptionContext;
use crate::loop_state::{Direction, LoopState};
use crate::task::spawn_on;

fn poll_ready(reg: &Registration, dir: Direction, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    match dir {
        Direction::Read => reg.poll_readable(cx),
        Direction::Write => reg.poll_writable(cx),
    }
}

async fn watch(
    state: Weak<LoopState>,
    reg: Rc<Registration>,
    dir: Direction,
    mut cb: Box<dyn FnMut()>,
) {
    loop {
        if let Err(e) = poll_fn(|cx| poll_ready(&reg, dir, cx)).await {
            if let Some(state) = state.upgrade() {
                state.call_exception_handler(&ExceptionContext::new(format!(
                    "watching fd {} failed: {e}",
                    reg.fd()
                )));
            }
            return;
        }
        if let Err(payload) = catch_unwind(AssertUnwindSafe(&mut cb)) {
            if let Some(state) = state.upgrade() {
                state.report_callback_panic(payload);
            }
        }
    }
}

impl LoopRef {
    fn add_watch(
        &self,
        fd: RawFd,
        dir: Direction,
        callback: Box<dyn FnMut()>,
    ) -> Result<(), FdWatchError> {
        let state = &self.state;
        if state.is_closed() {
            return Err(FdWatchError::Closed(LoopClosed));
        }
        let registration = match state.fd_registration(fd) {
            Some(r) => r,
            None => {
                Rc::new(Registration::new_level(state.reactor(), fd).map_err(FdWatchError::Io)?)
            }
        };
        let task = spawn_on(
            state,
            watch(Rc::downgrade(state), registration.clone(), dir, callback),
        );
        state.install_fd_watch(fd, dir, registration, task.into_raw());
        Ok(())
    }

    /// Runs `callback` every iteration while `fd` is readable (asyncio's `add_reader`);
    /// replaces an earlier reader callback for the same fd. The fd stays owned by the
    /// caller. Errors: [`FdWatchError::Closed`] on a closed loop, as every scheduling call;
    /// [`FdWatchError::Io`] if the fd cannot be watched (e.g. `EBADF`).
    ///
    /// ```
    /// use std::io::Write;
    /// use std::os::unix::io::AsRawFd;
    /// let lp = aloop::new_event_loop();
    /// let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    /// let stopper = lp.clone_ref();
    /// lp.add_reader(a.as_raw_fd(), move || stopper.stop()).unwrap();
    /// b.write_all(b"x").unwrap();
    /// lp.run_forever().unwrap(); // stopped by the reader callback
    /// assert!(lp.remove_reader(a.as_raw_fd()));
    /// ```
    pub fn add_reader(
        &self,
        fd: RawFd,
        callback: impl FnMut() + 'static,
    ) -> Result<(), FdWatchError> {
        self.add_watch(fd, Direction::Read, Box::new(callback))
    }

    /// Runs `callback` every iteration while `fd` is writable (asyncio's `add_writer`).
    pub fn add_writer(
        &self,
        fd: RawFd,
        callback: impl FnMut() + 'static,
    ) -> Result<(), FdWatchError> {
        self.add_watch(fd, Direction::Write, Box::new(callback))
    }

    /// Stops watching `fd` for reading; returns whether a reader was registered.
    pub fn remove_reader(&self, fd: RawFd) -> bool {
        self.state.remove_fd_watch(fd, Direction::Read)
    }

    /// Stops watching `fd` for writing; returns whether a writer was registered.
    pub fn remove_writer(&self, fd: RawFd) -> bool {
        self.state.remove_fd_watch(fd, Direction::Write)
    }
}
