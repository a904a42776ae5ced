//! asyncio's combinators: `gather`, `wait`, `wait_for`, `as_completed`, `timeout` and
//! `TaskGroup`, one concept per file, plus the few helpers they share.
//!
//! Rust forms of asyncio's semantics, decided once here and documented on each item:
//! - A combinator that spawns tasks *owns* them: dropping it before it finished (which is
//!   what cancelling the task that awaits it does) cancels its unfinished children, and
//!   cancelling the awaiting task forwards the cancellation to them at once, as asyncio
//!   forwards `cancel()` to the awaited future.
//! - Failures are values: a child's panic or cancellation is a [`TaskError`](crate::TaskError),
//!   a timeout is a [`TimeoutError`]. A future cannot swallow its cancellation in Rust
//!   (cancelling drops it), so asyncio's "the inner swallowed the cancel" paths do not exist.
//! - Completion is observed with done callbacks, as asyncio does, so a combinator wakes
//!   one iteration after its child finished and costs O(1) per finished child.

mod as_completed;
mod gather;
mod task_group;
mod timeout;
mod wait;
mod wait_for;

use std::cell::{Cell, RefCell};
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::task::{AnyTask, CancelOps, CancelTarget};

pub use as_completed::{as_completed, AsCompleted, AsCompletedItem, AsCompletedNext};
pub use gather::{gather, gather_all, Gather, GatherAll};
pub use task_group::{task_group, TaskGroup, TaskGroupError, TaskGroupJoin, TaskGroupScope};
pub use timeout::{timeout, timeout_at, Timeout, TimeoutError, TimeoutFuture};
pub use wait::{wait, ReturnWhen, Wait};
pub use wait_for::{wait_for, WaitFor};

/// Support for the `gather!` / `join!` macros; not public API.
#[doc(hidden)]
pub mod __private {
    pub use super::gather::{split, Slot, Slots};
}

/// The waker of whoever awaits a combinator, replaced on each poll and taken on wake.
#[derive(Default)]
pub(crate) struct WakerSlot(RefCell<Option<Waker>>);

impl WakerSlot {
    pub(crate) fn register(&self, waker: &Waker) {
        let mut slot = self.0.borrow_mut();
        match &*slot {
            Some(w) if w.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
    }

    pub(crate) fn wake(&self) {
        // Taken out before waking: a wake on this thread may poll straight away.
        let waker = self.0.borrow_mut().take();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// The tasks a combinator spawned or was given. Registered as what the awaiting task
/// waits on, so cancelling that task cancels them (asyncio's `_GatheringFuture.cancel`).
/// `repr(C)`, `cancel_ops` first: the awaiting task keeps a thin pointer to it.
#[repr(C)]
pub(crate) struct Children {
    cancel_ops: CancelOps,
    pub(crate) tasks: Vec<AnyTask>,
    /// Cancel once: the forwarded cancel and the drop that follows it are one request.
    cancelled: Cell<bool>,
}

impl Children {
    pub(crate) fn new(tasks: Vec<AnyTask>) -> Children {
        Children {
            cancel_ops: CancelOps::of::<Children>(),
            tasks,
            cancelled: Cell::new(false),
        }
    }

    pub(crate) fn cancel_unfinished(&self) {
        if self.cancelled.replace(true) {
            return;
        }
        for task in &self.tasks {
            if !task.done() {
                task.cancel();
            }
        }
    }
}

// SAFETY: `repr(C)` with `CancelOps::of::<Self>()` as first field, set in `Children::new`.
unsafe impl CancelTarget for Children {
    const KIND: &'static str = "the tasks of a gather, wait or as_completed";

    fn cancel_from_awaiter(&self) {
        self.cancel_unfinished();
    }
}

/// `now + delay`, or `None` (never) when that is past what `Instant` can hold: a huge
/// timeout means "no timeout", never a panic.
pub(crate) fn deadline_after(delay: Duration) -> Option<Instant> {
    crate::running::loop_now().checked_add(delay)
}
