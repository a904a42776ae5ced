//! The live tasks of a loop (asyncio's `all_tasks`), part of the loop state (`mod.rs`).
//!
//! A dense vector, each task knowing its index, so that registering and unregistering
//! are O(1) with no free list (a removal moves the last task into the hole). Like
//! asyncio's `WeakSet`, it has no order to keep. The index itself lives in the task
//! (`task/meta.rs`), which this file does not know: removal hands the moved task back to
//! the caller to re-index.

use aloop_executor::TaskRef;

#[derive(Default)]
pub(crate) struct TaskRegistry {
    tasks: Vec<TaskRef>,
}

impl TaskRegistry {
    /// Adds a task; returns its index, which the task keeps for `remove`.
    pub(super) fn insert(&mut self, task: TaskRef) -> u32 {
        self.tasks.push(task);
        // A loop with 4 billion live tasks is out of memory long before this truncates.
        (self.tasks.len() - 1) as u32
    }

    /// Removes the task at `index` if `is_it` recognises it (a task never registered,
    /// e.g. one spawned on a closed loop, holds an index past the end). The task moved
    /// into the hole, if any, is passed to `reindex` with its new index.
    pub(super) fn remove(
        &mut self,
        index: u32,
        is_it: impl FnOnce(&TaskRef) -> bool,
        reindex: impl FnOnce(&TaskRef, u32),
    ) -> Option<TaskRef> {
        let index = index as usize;
        if !is_it(self.tasks.get(index)?) {
            return None;
        }
        let removed = self.tasks.swap_remove(index);
        if let Some(moved) = self.tasks.get(index) {
            reindex(moved, index as u32);
        }
        Some(removed)
    }

    pub(super) fn len(&self) -> usize {
        self.tasks.len()
    }

    pub(super) fn snapshot(&self) -> Vec<TaskRef> {
        self.tasks.clone()
    }
}
