//! What a task waits on at the leaf, for task dumps: a sleep, a lock, a queue, a socket
//! read, a `Promise`, another task... and since when.
//!
//! How it is recorded, and why it costs nothing until a wait starts: the futures at
//! the leaves of a task's await chain (`Sleep`, the streams' reads and `drain`,
//! `Promise`, `Task`, `gather`, `TaskGroup`, and `aloop-sync`'s primitives through its
//! wait hook) call `note_wait` when they return `Pending`, and only then. The note
//! goes into the current task's meta (`meta.rs`): a one-byte kind, a four-byte stamp of
//! the loop clock (`loop_state/stamps.rs`), taken only when the wait starts (a leaf
//! woken without its wait ending keeps the first stamp), and four bytes of a sleep's
//! length. A step's first note wins (the body of a `timeout`, polled before its timer,
//! speaks for the task), and a step that ends `Pending` with no note clears the kind: a
//! future the dump cannot name shows as an unknown wait, never as the last one. Spawn
//! and callbacks do not touch any of it; a task step pays a bit clear at its start and
//! a bit test when it ends `Pending`.
//!
//! The alternative, finding each task's waker among the wakers registered with timers,
//! sockets and primitives when a dump is asked, would cost nothing at all until then,
//! but needs every waker store to be enumerable and cannot say since when.
//!
//! This file is the kind of wait (a leaf of `task/`); `TaskMeta::note_wait` (`meta.rs`)
//! records a note, and `current.rs` gives the leaves `note_wait`, `note_sleep` and the
//! hook for `aloop-sync`.

use aloop_sync::WaitingOn;

/// What a task waits on at the leaf (one byte in every task).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitKind {
    /// Nothing noted: the task runs, is ready, or waits on a future the dump cannot
    /// name.
    Nothing,
    /// `sleep` / `sleep_until` (its end: `TaskMeta::wait_for` after the stamp).
    Sleep,
    /// Another task (the edge is the await target).
    Task,
    /// A `Promise`.
    Promise,
    /// The tasks of a `gather` or `as_completed`.
    Gather,
    /// A `TaskGroup`'s children.
    TaskGroup,
    /// `wait` (which does not own its tasks: no edges).
    Wait,
    /// A socket (or pipe) to become readable: a `StreamReader` read.
    SocketRead,
    /// A `StreamReader` fed by hand (`feed_data`), waiting to be fed.
    Feed,
    /// `StreamWriter::drain`: the peer to take the buffered bytes.
    Drain,
    /// `StreamWriter::wait_closed`.
    WaitClosed,
    /// A job on a thread (`to_thread`, `run_in_executor`).
    Thread,
    /// One of `aloop-sync`'s primitives (Lock, Queue.get, ...).
    Sync(WaitingOn),
}

impl WaitKind {
    /// How a dump names it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            WaitKind::Nothing => "?",
            WaitKind::Sleep => "sleep",
            WaitKind::Task => "task",
            WaitKind::Promise => "Promise",
            WaitKind::Gather => "gather",
            WaitKind::TaskGroup => "TaskGroup",
            WaitKind::Wait => "wait",
            WaitKind::SocketRead => "socket read",
            WaitKind::Feed => "StreamReader feed",
            WaitKind::Drain => "StreamWriter.drain",
            WaitKind::WaitClosed => "StreamWriter.wait_closed",
            WaitKind::Thread => "thread job",
            WaitKind::Sync(on) => on.as_str(),
        }
    }
}
