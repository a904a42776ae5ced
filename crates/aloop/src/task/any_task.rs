//! `AnyTask`: a task of any output type, what `current_task()` and `all_tasks()` return.
//! It reaches the task through its `TaskMeta` (`meta.rs`) alone.

use std::fmt;

use aloop_executor::TaskRef;

use super::meta::{meta_of, TaskMeta};

/// A task of any output type: what [`current_task`](crate::current_task) and
/// [`all_tasks`](crate::all_tasks) return. It can be cancelled, named and inspected, not
/// awaited.
#[derive(Clone)]
pub struct AnyTask {
    /// A reference to a task made by `spawn_on` (its metadata starts with a `TaskMeta`).
    raw: TaskRef,
}

impl AnyTask {
    pub(crate) fn from_raw(raw: TaskRef) -> Self {
        AnyTask { raw }
    }

    fn meta(&self) -> &TaskMeta {
        meta_of(&self.raw)
    }

    /// Requests cancellation, as [`Task::cancel`](crate::Task::cancel).
    pub fn cancel(&self) -> bool {
        self.meta().cancel(&self.raw)
    }

    /// Number of pending cancellation requests.
    pub fn cancelling(&self) -> u32 {
        self.meta().cancelling()
    }

    /// Decrements the request count, as [`Task::uncancel`](crate::Task::uncancel).
    pub fn uncancel(&self) -> u32 {
        self.meta().uncancel()
    }

    /// Whether the task finished.
    pub fn done(&self) -> bool {
        self.meta().done()
    }

    /// Whether the task finished by cancellation.
    pub fn cancelled(&self) -> bool {
        self.meta().ended_cancelled()
    }

    /// The task's name.
    pub fn get_name(&self) -> String {
        self.meta().name()
    }

    /// Renames the task.
    pub fn set_name(&self, name: impl Into<String>) {
        self.meta().set_name(name.into());
    }

    /// A number identifying the task (the `N` of `Task-N`).
    pub fn id(&self) -> u64 {
        self.meta().id
    }
}

impl PartialEq for AnyTask {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl Eq for AnyTask {}

impl fmt::Debug for AnyTask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnyTask")
            .field("name", &self.get_name())
            .field("done", &self.done())
            .finish()
    }
}
