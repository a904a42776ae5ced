//! `TaskMeta`: the part of a task that does not depend on its output type — number,
//! name, loop, registry index, cancel requests, what it awaits (for cancel forwarding,
//! and the leaf it waits on for task dumps, `wait_note.rs`), where it was created, and
//! its end flags — and how to cancel a task through it (asyncio's `Task.cancel`,
//! forwarded to the awaited target).
//!
//! Every handle that does not know the output type (`AnyTask`, the loop's registry, an
//! awaiting task's target) reaches a task through here. `record.rs` puts a `TaskMeta`
//! first in the typed `TaskRecord<T>`.

use std::cell::Cell;
use std::panic::Location;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use aloop_executor::TaskRef;

use super::await_target::{AwaitTarget, Awaited};
use super::wait_note::WaitKind;
use crate::loop_state::{LoopState, Shared};

/// The meta of a task made by `spawn_on`.
pub(crate) fn meta_of(task: &TaskRef) -> &TaskMeta {
    // SAFETY: every `TaskRef` the facade holds comes from `spawn_on`, whose metadata is a
    // `TaskRecord<T>`: `#[repr(C)]` with a `TaskMeta` first.
    unsafe { task.metadata::<TaskMeta>() }
}

// Bits of `TaskMeta::flags`.
const DONE: u8 = 1 << 0;
/// The task ended by cancellation (kept apart from the outcome, which may be taken).
const ENDED_CANCELLED: u8 = 1 << 1;
/// Someone looked at the outcome; a panic nobody saw is reported when the task goes.
pub(super) const RETRIEVED: u8 = 1 << 2;
/// `set_name` was called: the loop keeps the name (`LoopState::set_task_name`).
pub(super) const NAMED: u8 = 1 << 3;
/// A leaf noted what the running step waits on (`wait_note.rs`); cleared as a step
/// starts.
pub(super) const NOTED: u8 = 1 << 4;
/// `cancel()` was accepted: the task ends cancelled, whatever its current step does
/// (asyncio's `_must_cancel`).
pub(super) const MUST_CANCEL: u8 = 1 << 5;

/// The part of a task that does not depend on its output type. 48 bytes: with the
/// slot for the waiters and then the outcome, a trivial task's cell is one 112-byte
/// malloc chunk.
pub(crate) struct TaskMeta {
    pub(super) id: u64,
    /// The part of the task's loop other threads see: a wake from any thread reads it
    /// to find the loop (the task's scheduler is zero-sized, see `spawn.rs`), and on the
    /// loop's thread it leads to the loop itself (`home`).
    pub(super) shared: Arc<Shared>,
    awaiting: Cell<Option<AwaitTarget>>,
    /// Where the task was created (`#[track_caller]` on the spawning calls).
    pub(super) created_at: &'static Location<'static>,
    /// When the leaf wait in `wait` began, as a loop stamp (`loop_state/stamps.rs`).
    pub(super) wait_since: Cell<u32>,
    /// A sleep's length in ms from `wait_since` (saturating); 0 for other waits.
    pub(super) wait_for: Cell<u32>,
    /// Index in the loop's registry (u32: a loop with 4 billion live tasks is out of
    /// memory first).
    slot: Cell<u32>,
    /// Pending cancel requests, saturating at 65,535 (16 bits keep the record within a
    /// 144-byte malloc chunk; no program counts that many requests on one task).
    cancelling: Cell<u16>,
    flags: Cell<u8>,
    /// What the last step's first waiting leaf waits on (`wait_note.rs`).
    pub(super) wait: Cell<WaitKind>,
}

impl TaskMeta {
    pub(super) fn new(
        id: u64,
        shared: Arc<Shared>,
        created_at: &'static Location<'static>,
    ) -> TaskMeta {
        TaskMeta {
            id,
            shared,
            awaiting: Cell::new(None),
            created_at,
            wait_since: Cell::new(0),
            wait_for: Cell::new(0),
            slot: Cell::new(u32::MAX),
            cancelling: Cell::new(0),
            flags: Cell::new(0),
            wait: Cell::new(WaitKind::Nothing),
        }
    }

    /// A step starts: what the task awaits is forgotten (it is running), and the
    /// leaves polled in this step may note their wait again. The last note stays, so
    /// that a wait that goes on keeps its start; a step that ends with no note leaves
    /// `NOTED` clear, and `leaf_wait` then says `Nothing`.
    #[inline]
    pub(super) fn start_step(&self) {
        self.set_awaiting(None);
        self.flags.set(self.flags.get() & !NOTED);
    }

    /// The task's loop, if it is still alive. The task's own thread only (every caller
    /// is: task handles are `!Send`, and the executor drops a cell on its owner's thread).
    pub(super) fn home(&self) -> Option<Rc<LoopState>> {
        LoopState::of_shared(&self.shared)
    }

    /// A leaf polled in this task's step waits on `kind` (`wait_note.rs`): `starts`, this
    /// poll begins the wait (a fresh stamp); else the wait goes on, and the stamp is kept
    /// if the kind is the same. The step's first note wins. `until`: a sleep's end.
    #[inline]
    pub(super) fn note_wait(&self, kind: WaitKind, starts: bool, until: Option<Instant>) {
        let flags = self.flags.get();
        if flags & NOTED != 0 {
            return;
        }
        self.flags.set(flags | NOTED);
        if !starts && self.wait.get() == kind {
            return;
        }
        self.wait.set(kind);
        LoopState::with_shared(&self.shared, |state| {
            let (since, length) = state.wait_stamp(until);
            self.wait_since.set(since);
            self.wait_for.set(length);
        });
    }

    /// What the task waits on at the leaf, since when (a loop stamp), and for how long
    /// (a sleep's length in ms, else 0): `Nothing` if its last step noted nothing.
    pub(crate) fn leaf_wait(&self) -> (WaitKind, u32, u32) {
        let kind = match self.flag(NOTED) {
            true => self.wait.get(),
            false => WaitKind::Nothing,
        };
        (kind, self.wait_since.get(), self.wait_for.get())
    }

    pub(crate) fn created_at(&self) -> &'static Location<'static> {
        self.created_at
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(super) fn flag(&self, bit: u8) -> bool {
        self.flags.get() & bit != 0
    }

    pub(super) fn set_flag(&self, bit: u8) {
        self.flags.set(self.flags.get() | bit);
    }

    pub(crate) fn done(&self) -> bool {
        self.flag(DONE)
    }

    pub(crate) fn ended_cancelled(&self) -> bool {
        self.flag(ENDED_CANCELLED)
    }

    /// Marks the task done, and how it ended.
    pub(super) fn set_done(&self, cancelled: bool) {
        self.set_flag(if cancelled {
            DONE | ENDED_CANCELLED
        } else {
            DONE
        });
    }

    pub(super) fn slot(&self) -> u32 {
        self.slot.get()
    }

    pub(super) fn set_slot(&self, index: u32) {
        self.slot.set(index);
    }

    /// What the task waits on now, if it is waiting on a task or another target.
    pub(crate) fn awaited(&self) -> Option<Awaited> {
        let target = self.awaiting.take();
        let described = target.as_ref().map(AwaitTarget::describe);
        self.awaiting.set(target);
        described
    }

    pub(crate) fn set_awaiting(&self, target: Option<AwaitTarget>) {
        let old = self.awaiting.replace(target);
        drop(old);
    }

    /// The name given with `set_name`, else `Task-N`. A task that outlives its loop
    /// (its handle kept after the loop was dropped) shows `Task-N` again.
    pub(crate) fn name(&self) -> String {
        let given = match self.flag(NAMED) {
            true => self.home().and_then(|home| home.task_name(self.id)),
            false => None,
        };
        given.unwrap_or_else(|| format!("Task-{}", self.id))
    }

    pub(super) fn set_name(&self, name: String) {
        if let Some(home) = self.home() {
            home.set_task_name(self.id, name);
            self.set_flag(NAMED);
        }
    }

    /// Gives the name back to the loop (the task's cell is going).
    pub(super) fn forget_name(&self) {
        if self.flag(NAMED) {
            if let Some(home) = self.home() {
                home.forget_task_name(self.id);
            }
        }
    }

    pub(super) fn cancelling(&self) -> u32 {
        u32::from(self.cancelling.get())
    }

    /// asyncio's `uncancel`: one request fewer; returns how many remain.
    pub(super) fn uncancel(&self) -> u32 {
        let n = self.cancelling.get().saturating_sub(1);
        self.cancelling.set(n);
        u32::from(n)
    }

    /// asyncio's `Task.cancel`: count the request, forward it to what the task awaits,
    /// and have the executor drop the future at the task's next step. On a task that is
    /// done it only marks the outcome seen, as asyncio's clears `_log_traceback`: whoever
    /// cancels a task has given up on its result, so a panic there goes unreported.
    pub(super) fn cancel(&self, task: &TaskRef) -> bool {
        if self.done() {
            self.set_flag(RETRIEVED);
            return false;
        }
        self.cancelling.set(self.cancelling.get().saturating_add(1));
        self.set_flag(MUST_CANCEL);
        self.forward_cancel();
        task.cancel()
    }

    /// Cancels what the task awaits, if anything: at `cancel()`, and at the end of a step
    /// in which the task, already asked to cancel, started awaiting something new (a
    /// task that cancels itself and then awaits a sub-task cancels that sub-task, as
    /// asyncio does; bpo-34872).
    pub(super) fn forward_cancel(&self) {
        if let Some(target) = self.awaiting.take() {
            target.cancel(|task| {
                meta_of(task).cancel(task);
            });
        }
    }
}

/// Whether `task` is the one whose meta is `meta` (registry bookkeeping).
pub(super) fn is_task_of(task: &TaskRef, meta: &TaskMeta) -> bool {
    std::ptr::eq(meta_of(task), meta)
}
