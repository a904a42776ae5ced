//! Which loop runs on this thread: the guard a run holds (with the checks every run
//! makes first), the lookup behind `get_running_loop`, and the scheduler hook that lets
//! a wake on the loop's own thread push straight onto its ready queue
//! (`push_if_running`).
//!
//! Stands on the floor (`loop_state/`) only. Tasks (`task/`) use the hook and the
//! lookup; `event_loop/` takes the guard to run.

use std::cell::Cell;
use std::rc::Rc;

use aloop_executor::Runnable;

use crate::error::RunError;
use crate::loop_state::{LoopState, Ready};

thread_local! {
    /// The loop inside a run on this thread, or null.
    static RUNNING: Cell<*const LoopState> = const { Cell::new(std::ptr::null()) };
}

/// Marks a loop as this thread's running loop until dropped.
pub(crate) struct LoopGuard {
    state: Rc<LoopState>,
    /// Sockets created while the loop runs register with its reactor.
    _reactor: aloop_reactor::EnterGuard,
}

impl LoopGuard {
    /// The checks every run makes (`run_forever`, `run_until_complete`, a `Runner`),
    /// then the mark. Errors: the loop is closed or already running, or another loop
    /// runs on this thread.
    pub(crate) fn enter(state: &Rc<LoopState>) -> Result<LoopGuard, RunError> {
        if state.is_closed() {
            return Err(RunError::Closed);
        }
        if state.is_running() {
            return Err(RunError::AlreadyRunning);
        }
        RUNNING.with(|r| {
            if !r.get().is_null() {
                return Err(RunError::AnotherLoopRunning);
            }
            r.set(Rc::as_ptr(state));
            state.set_running(true);
            Ok(LoopGuard {
                state: state.clone(),
                _reactor: state.reactor().enter(),
            })
        })
    }
}

impl Drop for LoopGuard {
    fn drop(&mut self) {
        RUNNING.with(|r| r.set(std::ptr::null()));
        self.state.set_running(false);
    }
}

/// Runs `f` on the running loop's state, if a loop runs on this thread: no reference
/// count is touched.
#[inline]
fn with_running<R>(f: impl FnOnce(&LoopState) -> R) -> Option<R> {
    RUNNING.with(|r| {
        let ptr = r.get();
        if ptr.is_null() {
            return None;
        }
        // SAFETY: RUNNING is non-null only while a LoopGuard, which holds an Rc to the
        // state, is alive on this thread.
        Some(f(unsafe { &*ptr }))
    })
}

/// The running loop's clock (virtual or real), or the real clock with no loop running.
pub(crate) fn loop_now() -> std::time::Instant {
    with_running(LoopState::now).unwrap_or_else(std::time::Instant::now)
}

/// The running loop's state, if any.
pub(crate) fn running_state() -> Option<Rc<LoopState>> {
    with_running(LoopState::strong).flatten()
}

/// Runs `f` on loop `id`'s state if it is the loop running on this thread (a timer's
/// owner reaching its wheel): no reference count is touched.
#[inline]
pub(crate) fn with_loop<R>(id: usize, f: impl FnOnce(&LoopState) -> R) -> Option<R> {
    with_running(|state| (state.id() == id).then(|| f(state))).flatten()
}

/// Whether a loop runs on this thread.
pub(crate) fn is_loop_running() -> bool {
    with_running(|_| ()).is_some()
}

/// Queues a woken task's step on loop `id` if it is the one running on this thread
/// (the scheduler hook's fast path); gives the step back otherwise.
pub(crate) fn push_if_running(id: usize, runnable: Runnable) -> Result<(), Runnable> {
    let mut runnable = Some(runnable);
    with_running(|state| {
        if state.id() == id {
            if let Some(runnable) = runnable.take() {
                state.push_ready(Ready::Task(runnable));
            }
        }
    });
    runnable.map_or(Ok(()), Err)
}
