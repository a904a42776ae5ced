//! The task whose future this thread is polling or dropping, so that a future can reach
//! its own task's metadata without keeping a pointer to it in the cell (8 bytes a task).
//! `raw.rs` marks the task around every poll and every drop of a future; `lib.rs`
//! exposes `current_metadata`.

use std::cell::Cell;
use std::ptr::NonNull;

// The task's header, type-erased: this file stands below `raw.rs`, which marks tasks.
thread_local! {
    static CURRENT: Cell<Option<NonNull<()>>> = const { Cell::new(None) };
}

/// Marks `task` as the one whose future runs until dropped; restores the previous mark
/// (a future may poll another executor's task inside its own poll).
pub(crate) struct Entered {
    prev: Option<NonNull<()>>,
}

pub(crate) fn enter(task: NonNull<()>) -> Entered {
    Entered {
        prev: CURRENT.with(|c| c.replace(Some(task))),
    }
}

impl Drop for Entered {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.prev));
    }
}

/// The header of the task whose future is being polled or dropped on this thread.
pub(crate) fn current() -> Option<NonNull<()>> {
    CURRENT.with(Cell::get)
}
