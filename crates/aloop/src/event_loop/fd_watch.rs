//! `add_reader` / `add_writer` / `remove_reader` / `remove_writer`: callbacks run every
//! iteration while a raw fd is readable (writable), as asyncio's selector loop does.
//!
//! Each fd gets one level-triggered registration with the loop's reactor; each direction
//! is a small task that waits for readiness and runs the callback, so the callback is an
//! ordinary ready-queue entry. The fd is borrowed: the loop never closes it.

use std::collections::HashMap;
use std::future::poll_fn;
use std::io;
use std::os::unix::io::RawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::task::{Context, Poll};

use aloop_reactor::Registration;

use super::core::LoopCore;
use super::LoopRef;
use crate::exception::ExceptionContext;
use crate::task::{spawn_on, Task};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Read,
    Write,
}

/// The watches of one fd.
pub(crate) struct FdWatch {
    registration: Rc<Registration>,
    reader: Option<Task<()>>,
    writer: Option<Task<()>>,
}

pub(crate) type FdWatches = HashMap<RawFd, FdWatch>;

fn poll_ready(reg: &Registration, dir: Dir, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
    match dir {
        Dir::Read => reg.poll_readable(cx),
        Dir::Write => reg.poll_writable(cx),
    }
}

async fn watch(
    core: std::rc::Weak<LoopCore>,
    reg: Rc<Registration>,
    dir: Dir,
    mut cb: Box<dyn FnMut()>,
) {
    loop {
        if let Err(e) = poll_fn(|cx| poll_ready(&reg, dir, cx)).await {
            if let Some(core) = core.upgrade() {
                core.call_exception_handler(&ExceptionContext::new(format!(
                    "watching fd {} failed: {e}",
                    reg.fd()
                )));
            }
            return;
        }
        if let Err(payload) = catch_unwind(AssertUnwindSafe(&mut cb)) {
            if let Some(core) = core.upgrade() {
                core.call_exception_handler(&ExceptionContext {
                    message: "Exception in callback".into(),
                    panic: Some(crate::PanicPayload::new(payload)),
                    task_name: None,
                });
            }
        }
    }
}

impl LoopRef {
    fn add_watch(&self, fd: RawFd, dir: Dir, callback: Box<dyn FnMut()>) -> io::Result<()> {
        if self.core.closed.get() {
            return Err(io::Error::other("Event loop is closed"));
        }
        let registration = {
            let watches = self.core.fd_watches.borrow();
            watches.get(&fd).map(|w| w.registration.clone())
        };
        let registration = match registration {
            Some(r) => r,
            None => Rc::new(Registration::new_level(
                &self.core.shared.driver.reactor,
                fd,
            )?),
        };
        let task = spawn_on(
            &self.core,
            watch(
                Rc::downgrade(&self.core),
                registration.clone(),
                dir,
                callback,
            ),
        );
        let mut watches = self.core.fd_watches.borrow_mut();
        let entry = watches.entry(fd).or_insert_with(|| FdWatch {
            registration,
            reader: None,
            writer: None,
        });
        let slot = match dir {
            Dir::Read => &mut entry.reader,
            Dir::Write => &mut entry.writer,
        };
        if let Some(old) = slot.replace(task) {
            old.cancel();
        }
        Ok(())
    }

    fn remove_watch(&self, fd: RawFd, dir: Dir) -> bool {
        let mut watches = self.core.fd_watches.borrow_mut();
        let Some(entry) = watches.get_mut(&fd) else {
            return false;
        };
        let slot = match dir {
            Dir::Read => &mut entry.reader,
            Dir::Write => &mut entry.writer,
        };
        let Some(task) = slot.take() else {
            return false;
        };
        task.cancel();
        // Failing to drop interest only costs spurious wake-ups of a cancelled watch.
        let _ = match dir {
            Dir::Read => entry.registration.stop_reading(),
            Dir::Write => entry.registration.stop_writing(),
        };
        if entry.reader.is_none() && entry.writer.is_none() {
            // Dropping the last watch deregisters the fd.
            let gone = watches.remove(&fd);
            drop(watches);
            drop(gone);
        }
        true
    }

    /// Runs `callback` every iteration while `fd` is readable (asyncio's `add_reader`);
    /// replaces an earlier reader callback for the same fd. The fd stays owned by the
    /// caller; errors if the loop is closed or the fd cannot be watched (e.g. `EBADF`).
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
    pub fn add_reader(&self, fd: RawFd, callback: impl FnMut() + 'static) -> io::Result<()> {
        self.add_watch(fd, Dir::Read, Box::new(callback))
    }

    /// Runs `callback` every iteration while `fd` is writable (asyncio's `add_writer`).
    pub fn add_writer(&self, fd: RawFd, callback: impl FnMut() + 'static) -> io::Result<()> {
        self.add_watch(fd, Dir::Write, Box::new(callback))
    }

    /// Stops watching `fd` for reading; returns whether a reader was registered.
    pub fn remove_reader(&self, fd: RawFd) -> bool {
        self.remove_watch(fd, Dir::Read)
    }

    /// Stops watching `fd` for writing; returns whether a writer was registered.
    pub fn remove_writer(&self, fd: RawFd) -> bool {
        self.remove_watch(fd, Dir::Write)
    }
}
