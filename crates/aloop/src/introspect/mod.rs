//! Seeing inside a running program: what every task waits on, since when, and where it
//! was created (Python 3.14's `capture_call_graph` / `format_call_graph` and
//! `python -m asyncio ps|pstree PID`).
//!
//! In the program: [`LoopRef::snapshot`](crate::LoopRef::snapshot) (a
//! [`LoopSnapshot`]), [`LoopRef::dump_tasks`](crate::LoopRef::dump_tasks),
//! [`LoopRef::format_call_graph`](crate::LoopRef::format_call_graph) and
//! [`LoopRef::format_task_table`](crate::LoopRef::format_task_table). From outside:
//! a program that called [`serve`] (or runs with `ALOOP_INTROSPECT=1`) answers the
//! `aloop-ps` command (`aloop-ps PID`, `aloop-ps tree PID`) with the same text, for
//! each of its loops, while it runs.
//!
//! Files: `snapshot.rs` (the data, captured on the loop's thread), `render.rs` (the
//! text), `server.rs` (the socket). Below them: `task/` (what each task records) and
//! `loop_state/` (the tasks, the clock, the list of loops).
//!
//! ```
//! use std::time::Duration;
//! aloop::run(async {
//!     let lp = aloop::get_running_loop().unwrap();
//!     let lock = std::rc::Rc::new(aloop::Lock::new());
//!     let held = lock.acquire().await;
//!     let l2 = lock.clone();
//!     let waiter = aloop::create_task(async move {
//!         let _g = l2.acquire().await;
//!     });
//!     waiter.set_name("waiter");
//!     aloop::sleep(Duration::ZERO).await; // it starts, and waits
//!     let tasks = lp.dump_tasks();
//!     let w = tasks.iter().find(|t| t.name == "waiter").unwrap();
//!     assert_eq!(w.state, aloop::TaskState::Waiting);
//!     assert_eq!(w.awaiting, Some(aloop::Awaiting::Other("Lock")));
//!     assert!(lp.format_call_graph().contains("'waiter': waits on Lock for"));
//!     drop(held);
//!     waiter.await.unwrap();
//! });
//! ```

mod render;
mod server;
mod snapshot;

pub use server::{serve, socket_path, ANSWER_WITHIN};
pub use snapshot::{Awaiting, LoopSnapshot, TaskSnapshot, TaskState};

#[cfg(feature = "process")]
pub(crate) use server::remove_socket;
pub(crate) use server::serve_if_asked;
pub(crate) use snapshot::capture;
