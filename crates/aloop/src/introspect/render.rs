//! A `LoopSnapshot` (`snapshot.rs`) as text: the call graph (Python 3.14's
//! `format_call_graph`, for the whole loop; `aloop-ps tree PID`) and the task table
//! (`python -m asyncio ps`; `aloop-ps PID`). The program's own calls and the
//! introspection server (`server.rs`) print the same text.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use std::panic::Location;
use std::time::Instant;

use super::snapshot::{Awaiting, LoopSnapshot, TaskSnapshot, TaskState};

/// At most this many children are named in one "waits on" of the table.
const NAMED_CHILDREN: usize = 4;

impl LoopSnapshot {
    /// The tasks as a forest of "waits on" edges, one line per task, indented under the
    /// task that waits on it; roots are the tasks no other task waits on, in number
    /// order.
    ///
    /// ```text
    /// * Task-1 'main': running (created at src/main.rs:8)
    /// * Task-6 'outer': waits on Task-5 'middle' for 2.000 s (created at src/main.rs:20)
    ///   * Task-5 'middle': waits on Promise for 2.000 s (created at src/main.rs:18)
    /// ```
    pub fn format_call_graph(&self) -> String {
        let by_id = self.by_id();
        let waited_on: HashSet<u64> = self.tasks.iter().flat_map(children).collect();
        let mut out = String::new();
        let mut printed = HashSet::new();
        // Roots first; then anything left (only a circle of waits, which no program
        // can build, would leave a task unreached).
        let roots = self.tasks.iter().filter(|t| !waited_on.contains(&t.id));
        let rest = self.tasks.iter();
        for root in roots.chain(rest) {
            self.write_tree(&mut out, &by_id, root, 0, &mut printed);
        }
        out
    }

    /// Task number `id`'s part of the graph (Python 3.14's `format_call_graph(task)`):
    /// the task with what it waits on below it, then the chain of tasks waiting on it,
    /// each under "awaited by:". `None` if the loop has no such unfinished task.
    ///
    /// ```text
    /// * Task-5 'middle': waits on Promise for 2.000 s (created at src/main.rs:18)
    ///   awaited by:
    ///   * Task-6 'outer': waits on Task-5 'middle' for 2.000 s (created at src/main.rs:20)
    /// ```
    pub fn format_call_graph_of(&self, id: u64) -> Option<String> {
        let by_id = self.by_id();
        let task = *by_id.get(&id)?;
        let mut out = String::new();
        self.write_tree(&mut out, &by_id, task, 0, &mut HashSet::new());
        let mut seen = HashSet::from([id]);
        let mut current = id;
        let mut depth = 1;
        while let Some(waiter) = self
            .tasks
            .iter()
            .find(|t| children(t).any(|c| c == current))
        {
            if !seen.insert(waiter.id) {
                break;
            }
            let _ = writeln!(out, "{:indent$}awaited by:", "", indent = depth * 2);
            self.write_line(&mut out, waiter, depth);
            current = waiter.id;
            depth += 1;
        }
        Some(out)
    }

    fn by_id(&self) -> HashMap<u64, &TaskSnapshot> {
        self.tasks.iter().map(|t| (t.id, t)).collect()
    }

    /// `root` and, indented below it, what it waits on, depth first.
    fn write_tree(
        &self,
        out: &mut String,
        by_id: &HashMap<u64, &TaskSnapshot>,
        root: &TaskSnapshot,
        depth: usize,
        printed: &mut HashSet<u64>,
    ) {
        let mut stack = vec![(root, depth)];
        while let Some((task, depth)) = stack.pop() {
            if !printed.insert(task.id) {
                continue;
            }
            self.write_line(out, task, depth);
            let below = children(task).filter_map(|id| by_id.get(&id));
            let below: Vec<_> = below.map(|t| (*t, depth + 1)).collect();
            stack.extend(below.into_iter().rev());
        }
    }

    fn write_line(&self, out: &mut String, task: &TaskSnapshot, depth: usize) {
        let _ = writeln!(
            out,
            "{:indent$}* {}: {} (created at {})",
            "",
            label(task),
            status(task, self.now),
            place(task.created_at),
            indent = depth * 2
        );
    }

    /// The tasks as a table: number, name, state, what each waits on, since when, and
    /// where it was created.
    ///
    /// ```text
    ///   id  name    state    waits on         since        created at
    ///    1  main    running                                src/main.rs:8
    ///    5  middle  waiting  Promise          2.000 s ago  src/main.rs:18
    /// ```
    pub fn format_table(&self) -> String {
        let rows: Vec<[String; 6]> = self
            .tasks
            .iter()
            .map(|t| {
                [
                    t.id.to_string(),
                    t.name.clone(),
                    t.state.as_str().to_owned(),
                    t.awaiting
                        .as_ref()
                        .map_or(String::new(), |a| waits_on(a, self.now)),
                    t.since
                        .map_or(String::new(), |s| format!("{} ago", secs(self.now, s))),
                    place(t.created_at),
                ]
            })
            .collect();
        let header = ["id", "name", "state", "waits on", "since", "created at"].map(String::from);
        let mut widths = header.clone().map(|h| h.chars().count());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&header).chain(&rows) {
            let mut line = format!("{:>w$}", row[0], w = widths[0]);
            for (cell, w) in row.iter().zip(widths).skip(1) {
                let _ = write!(line, "  {cell:<w$}");
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// The tasks `task` waits on, in the order it waits on them.
fn children(task: &TaskSnapshot) -> impl Iterator<Item = u64> + '_ {
    let (one, many) = match &task.awaiting {
        Some(Awaiting::Task { id, .. }) => (Some(*id), &[][..]),
        Some(Awaiting::Tasks { ids, .. }) => (None, &ids[..]),
        _ => (None, &[][..]),
    };
    one.into_iter().chain(many.iter().copied())
}

/// `Task-5`, or `Task-5 'middle'` for a named task.
fn label(task: &TaskSnapshot) -> String {
    named(task.id, &task.name)
}

fn named(id: u64, name: &str) -> String {
    if name == format!("Task-{id}") {
        name.to_owned()
    } else {
        format!("Task-{id} '{name}'")
    }
}

/// `running`, `ready`, or `waits on X for 2.000 s`.
fn status(task: &TaskSnapshot, now: Instant) -> String {
    match (task.state, &task.awaiting) {
        (TaskState::Waiting, Some(awaiting)) => {
            let mut s = format!("waits on {}", waits_on(awaiting, now));
            if let Some(since) = task.since {
                let _ = write!(s, " for {}", secs(now, since));
            }
            s
        }
        (TaskState::Waiting, None) => "waits on a future aloop does not name".to_owned(),
        (state, _) => state.as_str().to_owned(),
    }
}

fn waits_on(awaiting: &Awaiting, now: Instant) -> String {
    match awaiting {
        Awaiting::Task { id, name } => named(*id, name),
        Awaiting::Tasks { what, ids } => {
            let mut s = format!("{what} of {} task{}", ids.len(), plural(ids.len()));
            if !ids.is_empty() {
                let shown: Vec<String> = ids
                    .iter()
                    .take(NAMED_CHILDREN)
                    .map(|id| format!("Task-{id}"))
                    .collect();
                let _ = write!(s, ": {}", shown.join(", "));
                if ids.len() > NAMED_CHILDREN {
                    let _ = write!(s, ", +{}", ids.len() - NAMED_CHILDREN);
                }
            }
            s
        }
        Awaiting::Sleep { until } if *until > now => {
            format!("sleep (ends in {})", secs(*until, now))
        }
        Awaiting::Sleep { .. } => "sleep (due)".to_owned(),
        Awaiting::Other(what) => (*what).to_owned(),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `later - earlier` in seconds, to the millisecond.
fn secs(later: Instant, earlier: Instant) -> String {
    format!(
        "{:.3} s",
        later.saturating_duration_since(earlier).as_secs_f64()
    )
}

/// `file:line`.
fn place(at: &Location<'_>) -> String {
    format!("{}:{}", at.file(), at.line())
}
