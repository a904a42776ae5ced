//! `lp.metrics()`: what the loop has done, as a plain struct (the counters live in the
//! loop state, `loop_state/mod.rs`, and are bumped by the iteration in `run_once.rs`).

use std::time::Duration;

use super::LoopRef;

/// What a loop has done since it was made (`LoopRef::metrics`), read without a lock
/// (the loop is single-threaded). The times (blocked, per step) are measured only in
/// debug mode ([`set_debug(true)`](LoopRef::set_debug)); outside it they stay zero, so
/// counting costs an increment per step and no clock read.
///
/// ```
/// let lp = aloop::new_event_loop();
/// lp.call_soon(|| ()).unwrap();
/// lp.run_until_complete(async {}).unwrap();
/// let m = lp.metrics();
/// assert!(m.iterations >= 1);
/// assert!(m.callbacks_run >= 1);
/// assert!(m.task_steps >= 1);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoopMetrics {
    /// Iterations of the loop (asyncio's `_run_once` calls).
    pub iterations: u64,
    /// Callbacks run (`call_soon`, timers, done callbacks, ...).
    pub callbacks_run: u64,
    /// Task steps run (each poll of a task).
    pub task_steps: u64,
    /// The most entries one iteration found ready.
    pub ready_high_water: usize,
    /// Time spent blocked in the poller, waiting for I/O or a timer (debug mode).
    pub blocked: Duration,
    /// Steps that took at least `slow_callback_duration` (debug mode).
    pub slow_steps: u64,
    /// Total time in callbacks (debug mode).
    pub callback_time: Duration,
    /// Total time in task steps (debug mode).
    pub task_step_time: Duration,
    /// The longest callback (debug mode).
    pub longest_callback: Duration,
    /// The longest task step (debug mode).
    pub longest_task_step: Duration,
}

impl LoopRef {
    /// What the loop has done so far (see [`LoopMetrics`]).
    pub fn metrics(&self) -> LoopMetrics {
        let c = &self.state.counters;
        LoopMetrics {
            iterations: self.state.iterations(),
            callbacks_run: c.callbacks.get(),
            task_steps: c.task_steps.get(),
            ready_high_water: c.ready_high_water.get(),
            blocked: c.blocked.get(),
            slow_steps: c.slow_steps.get(),
            callback_time: c.callback_time.get(),
            task_step_time: c.task_step_time.get(),
            longest_callback: c.longest_callback.get(),
            longest_task_step: c.longest_task_step.get(),
        }
    }
}
