//! `lp.snapshot()`, `lp.dump_tasks()`, `lp.format_call_graph()` and
//! `lp.format_task_table()`: the loop's face of `introspect/` (which captures and
//! formats; see its `mod.rs` for what is recorded and what it costs).

use super::LoopRef;
use crate::introspect::{capture, LoopSnapshot, TaskSnapshot};
use crate::task::AnyTask;

impl LoopRef {
    /// The loop's unfinished tasks now, with what each waits on, since when, and where
    /// it was created (Python 3.14's `capture_call_graph`, for every task of the loop).
    /// Call it on the loop's thread: from a task, a callback, or a callback sent with
    /// [`LoopHandle::call_soon_threadsafe`](crate::LoopHandle::call_soon_threadsafe).
    pub fn snapshot(&self) -> LoopSnapshot {
        capture(&self.state)
    }

    /// Every unfinished task of the loop, with what it is waiting on, in task number
    /// order (the tasks of [`snapshot`](Self::snapshot)).
    ///
    /// ```
    /// aloop::run(async {
    ///     let lp = aloop::get_running_loop().unwrap();
    ///     let promise = lp.create_future::<u32>();
    ///     let p2 = promise.clone();
    ///     let waiter = aloop::create_task(async move { p2.await });
    ///     waiter.set_name("waiter");
    ///     aloop::sleep(std::time::Duration::ZERO).await; // let it start waiting
    ///     let tasks = lp.dump_tasks();
    ///     let w = tasks.iter().find(|t| t.name == "waiter").unwrap();
    ///     assert_eq!(w.awaiting, Some(aloop::Awaiting::Other("Promise")));
    ///     assert!(w.created_at.file().ends_with(".rs"));
    ///     promise.set_result(1).unwrap();
    ///     waiter.await.unwrap().unwrap();
    /// });
    /// ```
    pub fn dump_tasks(&self) -> Vec<TaskSnapshot> {
        self.snapshot().tasks
    }

    /// The loop's tasks as a forest of "waits on" edges, one line per task, indented
    /// under the task that waits on it (Python 3.14's `format_call_graph`, for the whole
    /// loop; [`LoopSnapshot::format_call_graph`]).
    ///
    /// ```text
    /// * Task-1: running (created at src/main.rs:8)
    /// * Task-3 'outer': waits on Task-2 'inner' for 0.500 s (created at src/main.rs:12)
    ///   * Task-2 'inner': waits on Promise for 0.500 s (created at src/main.rs:10)
    /// ```
    pub fn format_call_graph(&self) -> String {
        self.snapshot().format_call_graph()
    }

    /// One task's part of the graph (Python 3.14's `format_call_graph(task)`): the task
    /// and what it waits on, then the chain of tasks waiting on it
    /// ([`LoopSnapshot::format_call_graph_of`]); `None` once the task is done.
    pub fn format_call_graph_of(&self, task: &AnyTask) -> Option<String> {
        self.snapshot().format_call_graph_of(task.id())
    }

    /// The loop's tasks as a table (`python -m asyncio ps`;
    /// [`LoopSnapshot::format_table`]).
    pub fn format_task_table(&self) -> String {
        self.snapshot().format_table()
    }
}
