//! `lp.dump_tasks()` and `lp.format_call_graph()`: every task of the loop, what it is
//! waiting on (another task, a `Promise`, a `gather`/`wait`, a `TaskGroup`), and the
//! forest those "awaits" edges make (Python 3.14's `capture_call_graph` /
//! `format_call_graph`, for the whole loop). It reads what tasks already record for
//! cancel forwarding (`task/await_target.rs`), so it costs nothing until asked.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;

use super::LoopRef;
use crate::task::{meta_of, AnyTask, Awaited};

/// Where a task stands (see [`TaskSnapshot`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskState {
    /// Its step is running now (it is the one asking).
    Running,
    /// Not finished: waiting on something, or ready to run.
    Pending,
    /// Finished with an output or a panic.
    Done,
    /// Finished by cancellation.
    Cancelled,
}

/// What a task waits on, as far as the loop knows.
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
    /// Something else the task registered: "a Promise", "a TaskGroup", "the tasks of a
    /// gather, wait or as_completed". A plain future (a sleep, a socket read, a lock)
    /// is not recorded: the task shows no `awaiting` then.
    Other(&'static str),
}

/// One task of a loop, as [`LoopRef::dump_tasks`] saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TaskSnapshot {
    /// Its number.
    pub id: u64,
    /// Its name (`Task-N` unless set).
    pub name: String,
    /// Where it stands.
    pub state: TaskState,
    /// What it waits on, when it waits on a task or another recorded target.
    pub awaiting: Option<Awaiting>,
}

impl LoopRef {
    /// Every unfinished task of the loop, with what each is waiting on, in task
    /// number order.
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
    ///     assert_eq!(w.awaiting, Some(aloop::Awaiting::Other("a Promise")));
    ///     promise.set_result(1).unwrap();
    ///     waiter.await.unwrap().unwrap();
    /// });
    /// ```
    pub fn dump_tasks(&self) -> Vec<TaskSnapshot> {
        let current = crate::current_task().ok().flatten().map(|t| t.id());
        let mut out: Vec<TaskSnapshot> = self
            .state
            .tasks()
            .into_iter()
            .map(|raw| {
                let awaited = meta_of(&raw).awaited();
                let task = AnyTask::from_raw(raw);
                let state = if Some(task.id()) == current {
                    TaskState::Running
                } else if task.cancelled() {
                    TaskState::Cancelled
                } else if task.done() {
                    TaskState::Done
                } else {
                    TaskState::Pending
                };
                let awaiting = awaited.map(|a| match a {
                    Awaited::Task(raw) => {
                        let t = AnyTask::from_raw(raw);
                        Awaiting::Task {
                            id: t.id(),
                            name: t.get_name(),
                        }
                    }
                    Awaited::Other(kind) => Awaiting::Other(kind),
                });
                TaskSnapshot {
                    id: task.id(),
                    name: task.get_name(),
                    state,
                    awaiting,
                }
            })
            .collect();
        out.sort_by_key(|t| t.id);
        out
    }

    /// The loop's tasks as a forest of "awaits" edges, one line per task, indented
    /// under the task that awaits it (Python 3.14's `format_call_graph`, for the whole
    /// loop). Roots are the tasks no other task awaits.
    ///
    /// ```text
    /// * Task-1 (running)
    /// * Task-2 'outer' (pending)
    ///   * Task-3 'inner' (pending) awaits a Promise
    /// ```
    pub fn format_call_graph(&self) -> String {
        let tasks = self.dump_tasks();
        let by_id: HashMap<u64, &TaskSnapshot> = tasks.iter().map(|t| (t.id, t)).collect();
        let awaited: HashSet<u64> = tasks
            .iter()
            .filter_map(|t| match &t.awaiting {
                Some(Awaiting::Task { id, .. }) => Some(*id),
                _ => None,
            })
            .collect();
        let mut out = String::new();
        for root in tasks.iter().filter(|t| !awaited.contains(&t.id)) {
            let mut node = Some(root);
            let mut depth = 0;
            let mut seen = HashSet::new();
            while let Some(t) = node.filter(|t| seen.insert(t.id)) {
                let state = match t.state {
                    TaskState::Running => "running",
                    TaskState::Pending => "pending",
                    TaskState::Done => "done",
                    TaskState::Cancelled => "cancelled",
                };
                let _ = write!(out, "{:indent$}* Task-{} ", "", t.id, indent = depth * 2);
                if t.name != format!("Task-{}", t.id) {
                    let _ = write!(out, "'{}' ", t.name);
                }
                let _ = write!(out, "({state})");
                node = match &t.awaiting {
                    Some(Awaiting::Task { id, .. }) => by_id.get(id).copied(),
                    Some(Awaiting::Other(kind)) => {
                        let _ = write!(out, " awaits {kind}");
                        None
                    }
                    None => None,
                };
                out.push('\n');
                depth += 1;
            }
        }
        out
    }
}
