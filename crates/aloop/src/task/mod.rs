//! Tasks: asyncio's `Task` over one `aloop-executor` cell. Only declarations and the
//! names the rest of the facade uses; each file below stands on the ones before it:
//!
//! - `await_target.rs`: what a task awaits, for cancel forwarding (a leaf);
//! - `wait_note.rs`: the leaf a task waits on and since when, for task dumps;
//! - `meta.rs`: the output-independent part of a task, and `cancel`;
//! - `any_task.rs`: `AnyTask`, the untyped handle;
//! - `current.rs`: the task being polled (`current_task()`, "now awaiting");
//! - `waiters.rs`: a task's awaiter and done callbacks, in one word;
//! - `completion.rs`: the slot holding those waiters, then the task's outcome;
//! - `record.rs`: `TaskRecord<T>`: the meta and that slot, and `complete`;
//! - `task_handle.rs`: `Task<T>`, the typed handle;
//! - `options.rs`: `TaskOptions`, `create_task`'s keyword arguments (a leaf);
//! - `spawn.rs`: `spawn_on` (and `spawn_unlisted`, for the loop's own machinery), which
//!   builds a task and queues it on the loop state.

mod any_task;
mod await_target;
mod completion;
mod current;
mod meta;
mod options;
mod record;
mod spawn;
mod task_handle;
mod wait_note;
mod waiters;

pub use self::any_task::AnyTask;
pub use self::current::current_task;
pub use self::options::TaskOptions;
pub use self::task_handle::Task;

pub(crate) use self::await_target::{Awaited, CancelOps, CancelTarget, Description};
pub(crate) use self::current::{clear_awaiting, set_awaiting};
pub(crate) use self::current::{note_sleep, note_wait, sync_wait_hook};
pub(crate) use self::meta::meta_of;
#[cfg(feature = "process")]
pub(crate) use self::spawn::spawn_unlisted;
pub(crate) use self::spawn::{spawn_at, spawn_eager, spawn_on, spawn_with};
pub(crate) use self::wait_note::WaitKind;
