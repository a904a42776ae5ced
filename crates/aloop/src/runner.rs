//! `aloop::run` (asyncio's `asyncio.run`) and the free functions that act on the running
//! loop: `create_task`, `all_tasks`.

use std::future::Future;
use std::rc::Rc;
use std::task::Poll;

use crate::current;
use crate::error::{RunError, TaskError};
use crate::event_loop::core::LoopCore;
use crate::event_loop::EventLoop;
use crate::task::{AnyTask, Task};

/// Runs `future` to completion on a new event loop, then cancels the tasks it left
/// behind (letting their destructors run), and closes the loop (asyncio's `asyncio.run`).
///
/// A panic in `future` is resumed in the caller, as a panic in a plain function call
/// would be. Use [`try_run`] to get every failure as a value instead.
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
pub fn run<F>(future: F) -> F::Output
where
    F: Future + 'static,
    F::Output: 'static,
{
    match try_run(future) {
        Ok(value) => value,
        Err(RunError::Task(TaskError::Panicked(panic))) => match panic.take() {
            Some(payload) => std::panic::resume_unwind(payload),
            None => panic!("aloop::run: the main task panicked: {}", panic.message()),
        },
        Err(e) => panic!("aloop::run: {e}"),
    }
}

/// [`run`], returning failures as a [`RunError`] instead of panicking.
pub fn try_run<F>(future: F) -> Result<F::Output, RunError>
where
    F: Future + 'static,
    F::Output: 'static,
{
    if current::running_core().is_some() {
        return Err(RunError::AnotherLoopRunning);
    }
    let lp = EventLoop::try_new().map_err(|e| {
        RunError::Task(TaskError::Panicked(crate::PanicPayload::new(Box::new(
            e.to_string(),
        ))))
    })?;
    let result = lp.run_until_complete(future);
    cancel_all_tasks(&lp.core);
    // asyncio.run waits for jobs still running in the default executor.
    if let Some(pool) = lp.core.default_executor.take() {
        pool.shutdown(true, false);
    }
    let _ = lp.close();
    result
}

/// Cancels every unfinished task and runs the loop until they have all ended, so their
/// cleanup (destructors) happens while the loop is still alive.
fn cancel_all_tasks(core: &Rc<LoopCore>) {
    let lp = crate::event_loop::LoopRef::from_core(core.clone());
    let leftovers = lp.all_tasks();
    if leftovers.is_empty() {
        return;
    }
    for task in &leftovers {
        task.cancel();
    }
    let _ = lp.run_until_complete(std::future::poll_fn(move |cx| {
        if leftovers.iter().all(AnyTask::done) {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }));
}

/// Wraps `future` in a task on the running loop (asyncio's `asyncio.create_task`).
///
/// # Panics
/// Outside a running aloop event loop (like `tokio::spawn` outside a runtime); use
/// [`LoopRef::create_task`](crate::LoopRef::create_task) with an explicit loop instead.
pub fn create_task<F>(future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let core = current::running_core()
        .expect("aloop::create_task called outside a running aloop event loop");
    crate::task::spawn_on(&core, future)
}

/// The unfinished tasks of the running loop (asyncio's `asyncio.all_tasks`).
pub fn all_tasks() -> Result<Vec<AnyTask>, crate::NoRunningLoop> {
    crate::get_running_loop().map(|lp| lp.all_tasks())
}
