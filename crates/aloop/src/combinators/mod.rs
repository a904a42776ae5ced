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

/// The waker of whoever awaits a combinator, replaced on each poll and taken on wake;
/// and whether that wait has begun (for the task dump's "since").
#[derive(Default)]
pub(crate) struct WakerSlot(RefCell<Option<Waker>>, Cell<bool>);

impl WakerSlot {
    /// Registers the awaiting task's waker; returns whether its wait starts here (the
    /// first registration since the slot was made or `end_wait`).
    pub(crate) fn register(&self, waker: &Waker) -> bool {
        let mut slot = self.0.borrow_mut();
        match &*slot {
            Some(w) if w.will_wake(waker) => {}
            _ => *slot = Some(waker.clone()),
        }
        !self.1.replace(true)
    }

    /// The awaiting task got what it waited for (`as_completed` yields one item).
    pub(crate) fn end_wait(&self) {
        self.1.set(false);
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
    /// Which combinator ("gather", "wait", "as_completed"), for task dumps.
    what: &'static str,
    /// Cancel once: the forwarded cancel and the drop that follows it are one request.
    cancelled: Cell<bool>,
}

impl Children {
    pub(crate) fn new(tasks: Vec<AnyTask>, what: &'static str) -> Children {
        Children {
            cancel_ops: CancelOps::of::<Children>(),
            tasks,
            what,
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
    const KIND: &'static str = "gather";

    fn cancel_from_awaiter(&self) {
        self.cancel_unfinished();
    }

    fn describe(&self) -> crate::task::Description {
        let unfinished = self.tasks.iter().filter(|t| !t.done());
        (self.what, Some(unfinished.map(AnyTask::id).collect()))
    }
}

/// `now + delay`, or `None` (never) when that is past what `Instant` can hold: a huge
/// timeout means "no timeout", never a panic.
pub(crate) fn deadline_after(delay: Duration) -> Option<Instant> {
    crate::running::loop_now().checked_add(delay)
}
