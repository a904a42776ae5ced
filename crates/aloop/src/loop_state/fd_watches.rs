//! The loop state's table of raw-fd watches (`add_reader` / `add_writer`): per fd, one
//! level-triggered registration with the reactor and the task watching each direction.
//! The tasks themselves are made above the floor, in `event_loop/fd_watch.rs`; here they
//! are only handles to cancel.

use std::collections::HashMap;
use std::os::unix::io::RawFd;
use std::rc::Rc;

use aloop_executor::TaskRef;
use aloop_reactor::Registration;

/// Which readiness a watch waits for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Direction {
    Read,
    Write,
}

/// The watches of one fd.
struct FdWatch {
    registration: Rc<Registration>,
    reader: Option<TaskRef>,
    writer: Option<TaskRef>,
}

impl FdWatch {
    fn slot(&mut self, dir: Direction) -> &mut Option<TaskRef> {
        match dir {
            Direction::Read => &mut self.reader,
            Direction::Write => &mut self.writer,
        }
    }
}

/// Every watched fd of a loop. Whatever a method takes out (a replaced task, a dropped
/// registration) is handed back to the caller, which drops it after its borrow of the
/// table ends: dropping may run code that touches the loop.
#[derive(Default)]
pub(crate) struct FdWatches {
    by_fd: HashMap<RawFd, FdWatch>,
}

/// What leaves the table when a watch goes: dropped by the caller outside the borrow.
pub(crate) type Removed = (TaskRef, Option<Rc<Registration>>);

impl FdWatches {
    /// The registration already made for `fd`, if any (an fd is registered once).
    pub(super) fn registration(&self, fd: RawFd) -> Option<Rc<Registration>> {
        self.by_fd.get(&fd).map(|w| w.registration.clone())
    }

    /// Makes `task` the `dir` watch of `fd`; returns the watch it replaces.
    pub(super) fn install(
        &mut self,
        fd: RawFd,
        dir: Direction,
        registration: Rc<Registration>,
        task: TaskRef,
    ) -> Option<TaskRef> {
        let entry = self.by_fd.entry(fd).or_insert_with(|| FdWatch {
            registration,
            reader: None,
            writer: None,
        });
        entry.slot(dir).replace(task)
    }

    /// Takes the `dir` watch of `fd` out, and the fd's registration too when that was
    /// its last watch (dropping it deregisters the fd).
    pub(super) fn remove(&mut self, fd: RawFd, dir: Direction) -> Option<Removed> {
        let entry = self.by_fd.get_mut(&fd)?;
        let task = entry.slot(dir).take()?;
        // Failing to drop interest only costs spurious wake-ups of a cancelled watch.
        let _ = match dir {
            Direction::Read => entry.registration.stop_reading(),
            Direction::Write => entry.registration.stop_writing(),
        };
        if entry.reader.is_some() || entry.writer.is_some() {
            return Some((task, None));
        }
        let gone = self.by_fd.remove(&fd).map(|w| w.registration);
        Some((task, gone))
    }

    pub(super) fn is_empty(&self) -> bool {
        self.by_fd.is_empty()
    }
}
