//! `aloop::run` and `Runner` (asyncio's `asyncio.run` and `asyncio.Runner`), and the
//! free functions that act on the running loop: `create_task`, `all_tasks`.
//! `runner_builder.rs` beside it sets a runner's loop up first (debug, virtual time)
//! and holds what `run` does with the outcome.

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::task::Poll;

use crate::error::RunError;
#[cfg(feature = "process")]
use crate::error::TaskError;
use crate::event_loop::{EventLoop, LoopRef};
use crate::runner_builder::RunnerBuilder;
#[cfg(feature = "process")]
use crate::running::is_loop_running;
use crate::running::running_state;
use crate::task::{spawn_at, spawn_eager, spawn_with, AnyTask, Task, TaskOptions};

/// One event loop for several [`run`](Runner::run) calls, closed by [`close`](Runner::close)
/// or on drop (asyncio's `asyncio.Runner`, Python 3.11).
///
/// Closing does what the end of [`aloop::run`](run) does: it cancels the tasks the runs
/// left behind and lets them finish their cleanup, waits for the default executor's
/// jobs, and closes the loop.
///
/// ```
/// let runner = aloop::Runner::new().unwrap();
/// let l1 = runner.run(async { aloop::get_running_loop().unwrap() }).unwrap();
/// let l2 = runner.run(async { aloop::get_running_loop().unwrap() }).unwrap();
/// assert!(l1 == l2 && !l1.is_closed());
/// drop(runner);
/// assert!(l1.is_closed());
/// ```
pub struct Runner {
    lp: EventLoop,
}

impl Runner {
    /// A runner with a new event loop, or the OS's reason for refusing its poller.
    pub fn new() -> std::io::Result<Runner> {
        Ok(Runner {
            lp: EventLoop::try_new()?,
        })
    }

    /// Runs `future` to completion on the runner's loop (asyncio's `Runner.run`). Tasks
    /// it leaves running stay on the loop for the next `run`, until the runner closes.
    ///
    /// Errors as [`LoopRef::run_until_complete`]: [`RunError::Closed`] after
    /// [`close`](Runner::close), [`RunError::AlreadyRunning`] from inside the runner's
    /// own running loop and [`RunError::AnotherLoopRunning`] from inside another one
    /// (asyncio: "Runner.run() cannot be called from a running event loop"), or the
    /// future's own cancellation or panic.
    ///
    /// On the main thread, while SIGINT has its default disposition, Ctrl-C cancels
    /// the main task (its destructors run) and the run returns
    /// [`RunError::Interrupted`]; a second Ctrl-C during that cleanup ends the process.
    /// SIGINT's previous disposition is back when `run` returns (asyncio 3.11).
    #[track_caller]
    pub fn run<F>(&self, future: F) -> Result<F::Output, RunError>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        #[cfg(feature = "process")]
        if !self.lp.is_closed() && !is_loop_running() {
            let main = self.lp.create_task(future);
            let ctrl_c = crate::interrupt::CtrlC::arm(&self.lp.state, main.as_any());
            let result = self.lp.run_task_until_complete(main);
            let interrupted = ctrl_c.is_some_and(crate::interrupt::CtrlC::disarm);
            return match result {
                Err(RunError::Task(TaskError::Cancelled)) if interrupted => {
                    Err(RunError::Interrupted)
                }
                other => other,
            };
        }
        self.lp.run_until_complete(future)
    }

    /// A runner over a loop made elsewhere (a `Runtime` thread's), to close it the way
    /// `close` does.
    pub(crate) fn from_loop(lp: EventLoop) -> Runner {
        Runner { lp }
    }

    /// The runner's event loop (asyncio's `Runner.get_loop`).
    pub fn get_loop(&self) -> LoopRef {
        self.lp.clone_ref()
    }

    /// Cancels the tasks left on the loop and runs it until they have ended, waits for
    /// the default executor, and closes the loop (asyncio's `Runner.close`). Closing
    /// twice does nothing; so does closing from inside the runner's own running loop,
    /// which cannot be closed while it runs (the runner closes when dropped).
    pub fn close(&self) {
        if self.lp.is_closed() || self.lp.is_running() {
            return;
        }
        cancel_all_tasks(&self.lp);
        // As asyncio.run: wait for jobs still running in the default executor.
        if let Some(pool) = self.lp.state.replace_default_executor(None) {
            pool.shutdown(true, false);
        }
        let _ = self.lp.close();
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.close();
    }
}

impl fmt::Debug for Runner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runner").field("loop", &self.lp).finish()
    }
}

/// Runs `future` to completion on a new event loop, then cancels the tasks it left
/// behind (letting their destructors run), and closes the loop (asyncio's `asyncio.run`).
///
/// A panic in `future` is resumed in the caller, as a panic in a plain function call
/// would be. Use [`try_run`] to get every failure as a value instead, and
/// [`Runner::builder`] for debug mode or virtual time (asyncio's `run(debug=True)`);
/// `#[aloop::main]` on an `async fn main` does this for a program.
///
/// After Ctrl-C (see [`Runner::run`]) the main task's cleanup runs, the loop is closed,
/// and the process then ends as SIGINT's default action would, as Python does after an
/// unhandled `KeyboardInterrupt`; [`try_run`] returns [`RunError::Interrupted`] instead.
///
/// # Panics
/// If called while an event loop runs on this thread (asyncio raises `RuntimeError`
/// there too), or if `future`'s task panicked.
///
/// ```
/// let answer = aloop::run(async {
///     let t = aloop::create_task(async { 21 });
///     t.await.unwrap() * 2
/// });
/// assert_eq!(answer, 42);
/// ```
#[track_caller]
pub fn run<F>(future: F) -> F::Output
where
    F: Future + 'static,
    F::Output: 'static,
{
    RunnerBuilder::new().run(future)
}

/// [`run`], returning failures as a [`RunError`] instead of panicking.
#[track_caller]
pub fn try_run<F>(future: F) -> Result<F::Output, RunError>
where
    F: Future + 'static,
    F::Output: 'static,
{
    RunnerBuilder::new().try_run(future)
}

/// Cancels every unfinished task and runs the loop until they have all ended, so their
/// cleanup (destructors) happens while the loop is still alive. A task ending in a
/// panic meanwhile (its cleanup panicked) goes to the loop's exception handler with its
/// name, as asyncio's "unhandled exception during asyncio.run() shutdown".
fn cancel_all_tasks(lp: &LoopRef) {
    let leftovers = lp.all_tasks();
    if leftovers.is_empty() {
        return;
    }
    for task in &leftovers {
        task.cancel();
    }
    lp.state.set_shutting_down_tasks(true);
    let _ = lp.run_until_complete(std::future::poll_fn(move |cx| {
        if leftovers.iter().all(AnyTask::done) {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }));
    lp.state.set_shutting_down_tasks(false);
}

/// Wraps `future` in a task on the running loop (asyncio's `asyncio.create_task`).
///
/// # Panics
/// Outside a running aloop event loop (like `tokio::spawn` outside a runtime); use
/// [`LoopRef::create_task`](crate::LoopRef::create_task) with an explicit loop instead.
#[track_caller]
pub fn create_task<F>(future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let state =
        running_state().expect("aloop::create_task called outside a running aloop event loop");
    spawn_with(&state, future, TaskOptions::default())
}

/// [`create_task`] with asyncio's keyword arguments (`name=`, `eager_start=`): see
/// [`TaskOptions`].
///
/// # Panics
/// Outside a running aloop event loop, as [`create_task`].
#[track_caller]
pub fn create_task_with<F>(future: F, options: TaskOptions) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let state =
        running_state().expect("aloop::create_task_with called outside a running aloop event loop");
    spawn_with(&state, future, options)
}

/// [`create_task`] with the creation site given (a combinator that spawns its
/// children where its caller called it).
pub(crate) fn create_task_at<F>(
    future: F,
    created_at: &'static Location<'static>,
) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let state =
        running_state().expect("aloop::create_task called outside a running aloop event loop");
    spawn_at(&state, future, created_at)
}

/// [`LoopRef::create_eager_task`] on the running loop (asyncio 3.12's
/// `create_task(coro, eager_start=True)`): the task's first step runs inside this call.
///
/// # Panics
/// Outside a running aloop event loop, as [`create_task`].
#[track_caller]
pub fn create_eager_task<F>(future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let state = running_state()
        .expect("aloop::create_eager_task called outside a running aloop event loop");
    spawn_eager(&state, future)
}

/// The unfinished tasks of the running loop (asyncio's `asyncio.all_tasks`).
pub fn all_tasks() -> Result<Vec<AnyTask>, crate::NoRunningLoop> {
    crate::get_running_loop().map(|lp| lp.all_tasks())
}
