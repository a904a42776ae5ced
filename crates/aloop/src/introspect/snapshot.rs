//! A loop's tasks at one moment, as plain data (`LoopSnapshot`, `TaskSnapshot`): what
//! `lp.dump_tasks()` returns and what the introspection server (`server.rs`) captures
//! on the loop's thread and formats on its own (`render.rs`).
//!
//! It reads what tasks already keep: the await target of cancel forwarding
//! (`task/await_target.rs`: another task, a `Promise`, a gather's or a `TaskGroup`'s
//! children) and the leaf wait note (`task/wait_note.rs`: a sleep, a lock, a socket
//! read... and since when). Nothing is recorded for it; it costs a pass over the
//! loop's tasks when asked (about 0.2 µs per task, see `docs/debugging.md`).

use std::panic::Location;
use std::time::Instant;

use crate::loop_state::LoopState;
use crate::task::{meta_of, AnyTask, Awaited, WaitKind};

/// Where a task stands (see [`TaskSnapshot`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TaskState {
    /// Its step is running now (it is the one asking).
    Running,
    /// Woken (or new): its next step is queued.
    Ready,
    /// Waiting for something to wake it.
    Waiting,
}

impl TaskState {
    /// `"running"`, `"ready"` or `"waiting"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskState::Running => "running",
            TaskState::Ready => "ready",
            TaskState::Waiting => "waiting",
        }
    }
}

/// What a waiting task waits on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Awaiting {
    /// Another task.
    Task {
        /// Its number (`AnyTask::id`).
        id: u64,
        /// Its name.
        name: String,
    },
    /// Several tasks: the children of a `gather` or `as_completed` (`what`:
    /// `"gather"`, `"as_completed"`) or of a `TaskGroup` (`"TaskGroup"`), the
    /// unfinished ones, by number.
    Tasks {
        /// Which combinator.
        what: &'static str,
        /// The unfinished children's numbers.
        ids: Vec<u64>,
    },
    /// A `sleep` or `sleep_until`, ending at `until` on the loop's clock
    /// ([`LoopRef::time`](crate::LoopRef::time)), to the millisecond.
    Sleep {
        /// When it ends.
        until: Instant,
    },
    /// Anything else aloop records: `"Promise"`, `"Lock"`, `"Semaphore"`, `"Event"`,
    /// `"Condition"`, `"Barrier"`, `"Queue.get"`, `"Queue.put"`, `"Queue.join"`,
    /// `"socket read"` (a `StreamReader` read), `"StreamReader feed"`,
    /// `"StreamWriter.drain"`, `"StreamWriter.wait_closed"`, `"thread job"`
    /// (`to_thread`, `run_in_executor`), `"wait"`.
    Other(&'static str),
}

/// One task of a loop, as [`LoopRef::dump_tasks`](crate::LoopRef::dump_tasks) saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskSnapshot {
    /// Its number.
    pub id: u64,
    /// Its name (`Task-N` unless set).
    pub name: String,
    /// Where it stands.
    pub state: TaskState,
    /// What it waits on, if it waits on something aloop records (`None` when running
    /// or ready, or waiting on a future aloop cannot name).
    pub awaiting: Option<Awaiting>,
    /// When it started waiting on that, on the loop's clock (to a few milliseconds on
    /// real time, exact on virtual time).
    pub since: Option<Instant>,
    /// Where it was created: the call of `create_task` (or `gather`, `TaskGroup::
    /// create_task`, `LoopHandle::spawn`, `aloop::run`, ...) in the caller's code.
    pub created_at: &'static Location<'static>,
}

/// A loop's unfinished tasks at one moment ([`LoopRef::snapshot`](crate::LoopRef::snapshot)),
/// in task number order.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct LoopSnapshot {
    /// The loop's number in this process (`aloop-ps` shows it).
    pub loop_id: usize,
    /// The name of the loop's thread (`"main"`, `"aloop-loop-0"`, ...), or its id.
    pub thread: String,
    /// The loop's clock when the snapshot was taken: `since` and a sleep's `until` are
    /// read against it.
    pub now: Instant,
    /// The tasks, by number.
    pub tasks: Vec<TaskSnapshot>,
}

/// Takes the snapshot, on the loop's thread (from a task, a callback, or a
/// `call_soon_threadsafe` callback of the introspection server).
pub(crate) fn capture(state: &LoopState) -> LoopSnapshot {
    let now = state.now();
    let current = crate::current_task().ok().flatten().map(|t| t.id());
    let mut tasks: Vec<TaskSnapshot> = state
        .tasks()
        .into_iter()
        .map(|raw| {
            let meta = meta_of(&raw);
            let id = meta.id();
            let task_state = if Some(id) == current {
                TaskState::Running
            } else if raw.is_scheduled() {
                TaskState::Ready
            } else {
                TaskState::Waiting
            };
            let (kind, since, length) = meta.leaf_wait();
            let (awaiting, since) = match task_state {
                TaskState::Waiting => {
                    let since = state.instant_of_stamp(since, now);
                    let awaiting = match meta.awaited() {
                        Some(Awaited::Task(target)) => {
                            let target = AnyTask::from_raw(target);
                            Some(Awaiting::Task {
                                id: target.id(),
                                name: target.get_name(),
                            })
                        }
                        Some(Awaited::Other(what, Some(ids))) => {
                            Some(Awaiting::Tasks { what, ids })
                        }
                        Some(Awaited::Other(what, None)) => Some(Awaiting::Other(what)),
                        None => match kind {
                            WaitKind::Nothing => None,
                            WaitKind::Sleep => Some(Awaiting::Sleep {
                                until: since + std::time::Duration::from_millis(length.into()),
                            }),
                            other => Some(Awaiting::Other(other.as_str())),
                        },
                    };
                    let since = (kind != WaitKind::Nothing).then_some(since);
                    (awaiting, since)
                }
                TaskState::Running | TaskState::Ready => (None, None),
            };
            TaskSnapshot {
                id,
                name: meta.name(),
                state: task_state,
                awaiting,
                since,
                created_at: meta.created_at(),
            }
        })
        .collect();
    tasks.sort_by_key(|t| t.id);
    LoopSnapshot {
        loop_id: state.id(),
        thread: state.shared().thread().to_owned(),
        now,
        tasks,
    }
}
