//! The `LoopState` methods over the live tasks (`registry.rs`, the table) and their
//! names: what `task/` calls as tasks are made, named and freed.

use aloop_executor::TaskRef;

use super::LoopState;

impl LoopState {
    /// Adds a task to `all_tasks`; returns the index the task keeps for
    /// [`LoopState::unregister_task`].
    pub(crate) fn register_task(&self, task: TaskRef) -> u32 {
        self.tasks.borrow_mut().insert(task)
    }

    /// Removes the task at `index` if `is_it` recognises it; the task moved into its
    /// place is given its new index through `reindex`.
    pub(crate) fn unregister_task(
        &self,
        index: u32,
        is_it: impl FnOnce(&TaskRef) -> bool,
        reindex: impl FnOnce(&TaskRef, u32),
    ) {
        let removed = self.tasks.borrow_mut().remove(index, is_it, reindex);
        // Dropped after the borrow: the last reference frees the task's cell.
        drop(removed);
    }

    pub(crate) fn task_count(&self) -> usize {
        self.tasks.borrow().len()
    }

    /// The live tasks, in no particular order.
    pub(crate) fn tasks(&self) -> Vec<TaskRef> {
        self.tasks.borrow().snapshot()
    }

    /// Names task number `id`.
    pub(crate) fn set_task_name(&self, id: u64, name: String) {
        self.task_names.borrow_mut().insert(id, name);
    }

    /// The name given to task number `id`, if one was.
    pub(crate) fn task_name(&self, id: u64) -> Option<String> {
        self.task_names.borrow().get(&id).cloned()
    }

    /// How many task names the loop keeps (tests check none outlives its task).
    #[cfg(test)]
    pub(crate) fn task_name_count(&self) -> usize {
        self.task_names.borrow().len()
    }

    /// Forgets the name of task number `id` (its cell is going).
    pub(crate) fn forget_task_name(&self, id: u64) {
        let removed = self.task_names.borrow_mut().remove(&id);
        drop(removed);
    }
}
