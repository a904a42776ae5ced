//! One iteration of the loop (asyncio's `BaseEventLoop._run_once`), and `close`, which
//! empties the same queues for good. `run_until_stopped` (in `mod.rs`) repeats the
//! iteration; `event_loop/` and `running.rs` decide when a run may start.
//!
//! The order of the steps is the contract (ARCHITECTURE.md):
//! 1. timeout: zero if something is ready, else until the next timer, else forever;
//! 2. wait in the driver (I/O readiness, or a wake-up from another thread);
//! 3. move expired timers onto the ready queue (waking sleeping tasks);
//! 4. drain the cross-thread queue;
//! 5. run exactly the entries that were ready when this step began, FIFO;
//! 6. run what the batch deferred to its end (a stream's coalesced writes).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Weak;
use std::time::{Duration, Instant};

use super::ready::{Ready, Remote, TimerEntry};
use super::LoopState;
use crate::callback::{Callback, CallbackCell};
use crate::error::CloseRunningLoop;
use crate::exception::ExceptionContext;

/// With work ready, the driver is still asked (with a zero timeout) every this many
/// iterations, so that a busy loop does not starve I/O.
const POLL_EVERY: u64 = 61;

/// The two kinds of step the loop runs, for the metrics and the slow-step warning.
#[derive(Clone, Copy)]
enum Step {
    Callback,
    Task,
}

/// Ready-queue entries kept when the loop goes idle (16 KiB): a burst (100,000 tasks
/// spawned at once) must not hold its peak's storage for the rest of the run.
const READY_KEPT_IDLE: usize = 1024;

impl LoopState {
    pub(super) fn run_once(&self) {
        let iteration = self.iteration.get();
        self.iteration.set(iteration.wrapping_add(1));

        // Steps 1 and 2.
        let busy = self.stopping.get() || !self.ready.borrow().is_empty();
        if busy {
            if iteration % POLL_EVERY == 0 {
                self.wait(Some(Duration::ZERO));
            }
        } else {
            self.trim_ready_queue();
            let next_timer = self.next_timer();
            match next_timer {
                // Virtual time: look for I/O without blocking; if that made nothing
                // ready, the clock jumps to the next timer instead of waiting for it.
                Some(at) if self.is_virtual_time() => {
                    self.wait(Some(Duration::ZERO));
                    if self.ready.borrow().is_empty() {
                        self.jump_clock_to(at);
                    }
                }
                _ => {
                    let timeout = next_timer.map(|at| at.saturating_duration_since(self.now()));
                    if self.shared.about_to_block() {
                        // Timed in debug mode only: two clock reads per blocking wait
                        // cost ~2 % of a streams echo round trip.
                        let blocked_from = self.debug.get().then(Instant::now);
                        self.wait(timeout);
                        if let Some(from) = blocked_from {
                            let blocked = &self.counters.blocked;
                            blocked.set(blocked.get() + from.elapsed());
                        }
                    }
                    self.shared.done_blocking();
                }
            }
        }

        // Step 3.
        self.fire_timers();

        // Step 4 (one plain load when nothing came from another thread).
        if self.shared.has_remote() {
            self.drain_remote();
        }

        // Step 5: only what was ready at this point; what it schedules waits.
        let batch = self.ready.borrow().len();
        let high = &self.counters.ready_high_water;
        high.set(high.get().max(batch));
        for _ in 0..batch {
            let Some(item) = self.ready.borrow_mut().pop_front() else {
                break;
            };
            match item {
                Ready::Callback(cb) => self.run_callback(&*cb),
                Ready::Task(runnable) => self.run_step(runnable),
            }
        }

        // Step 6.
        self.run_after_batch();
    }

    /// Moves what other threads queued (`call_soon_threadsafe`, wakes, `stop`) onto the
    /// ready queue, in arrival order. Step 4, and also `call_soon`'s first move when
    /// something is waiting there, so that a callback queued from another thread (or
    /// with `call_soon_threadsafe` on this one) before a `call_soon` runs before it, as
    /// asyncio's single ready queue orders them.
    pub(crate) fn drain_remote(&self) {
        self.shared.start_draining();
        while let Some(item) = self.shared.pop() {
            let ready = match item {
                Remote::Task(runnable) => Ready::Task(runnable),
                Remote::Callback(f) => Ready::Callback(CallbackCell::new_rc(f)),
                Remote::Stop => {
                    let state = self.self_weak.clone();
                    Ready::Callback(CallbackCell::new_rc(move || {
                        if let Some(state) = state.upgrade() {
                            state.stop();
                        }
                    }))
                }
            };
            self.push_ready(ready);
        }
    }

    /// Gives back the storage of an empty ready queue that a burst grew.
    fn trim_ready_queue(&self) {
        let mut ready = self.ready.borrow_mut();
        if ready.capacity() > READY_KEPT_IDLE {
            ready.shrink_to(READY_KEPT_IDLE);
        }
    }

    fn wait(&self, timeout: Option<Duration>) {
        if let Err(e) = self.shared.driver().wait(timeout) {
            self.call_exception_handler(&ExceptionContext::new(format!(
                "polling for I/O failed: {e}"
            )));
        }
    }

    fn fire_timers(&self) {
        // Most iterations of a busy loop have no timers at all: skip the wheel.
        let Some(due) = self.next_timer() else {
            return;
        };
        let now = self.now();
        if due > now {
            return;
        }
        // Collect first, dispatch after the wheel's borrow ends: a waker may run
        // arbitrary code (another executor's), which may touch the wheel.
        let mut expired = std::mem::take(&mut *self.expired.borrow_mut());
        expired.extend(self.timers.borrow_mut().advance(now).map(|(_, _, e)| e));
        self.kept_next_timer.set(None);
        for entry in expired.drain(..) {
            match entry {
                TimerEntry::Callback(cb) => {
                    if !cb.cancelled() {
                        self.push_ready(Ready::Callback(cb));
                    }
                }
                TimerEntry::Waker(waker) => waker.wake(),
            }
        }
        *self.expired.borrow_mut() = expired;
    }

    fn run_callback(&self, cb: &dyn Callback) {
        if cb.cancelled() {
            return;
        }
        let started = self.debug.get().then(Instant::now);
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| cb.run())) {
            self.report_callback_panic(payload);
        }
        let c = &self.counters;
        c.callbacks.set(c.callbacks.get() + 1);
        self.warn_if_slow(started, Step::Callback);
    }

    fn run_step(&self, runnable: aloop_executor::Runnable) {
        let started = self.debug.get().then(Instant::now);
        // Panics are caught inside the task; this only polls.
        runnable.run();
        let c = &self.counters;
        c.task_steps.set(c.task_steps.get() + 1);
        self.warn_if_slow(started, Step::Task);
    }

    /// Step 6. Work deferred while this runs waits for the next batch's end.
    fn run_after_batch(&self) {
        if self.after_batch.borrow().is_empty() {
            return;
        }
        let mut deferred = std::mem::take(&mut *self.after_batch.borrow_mut());
        for work in deferred.drain(..) {
            work.after_batch();
        }
        // Hand the (now empty) storage back for the next batch, unless more work
        // arrived meanwhile.
        let mut slot = self.after_batch.borrow_mut();
        if slot.is_empty() {
            *slot = deferred;
        }
    }

    /// Debug mode: adds the step's time to the metrics and warns about a slow one.
    fn warn_if_slow(&self, started: Option<Instant>, step: Step) {
        if let Some(started) = started {
            let took = started.elapsed();
            let c = &self.counters;
            let (total, longest, what) = match step {
                Step::Callback => (&c.callback_time, &c.longest_callback, "callback"),
                Step::Task => (&c.task_step_time, &c.longest_task_step, "task step"),
            };
            total.set(total.get() + took);
            longest.set(longest.get().max(took));
            if took >= self.slow_callback_duration.get() {
                c.slow_steps.set(c.slow_steps.get() + 1);
                eprintln!(
                    "aloop: executing a {what} took {:.3} seconds",
                    took.as_secs_f64()
                );
            }
        }
    }

    pub(crate) fn close(&self) -> Result<(), CloseRunningLoop> {
        if self.running.get() {
            return Err(CloseRunningLoop);
        }
        if self.closed.replace(true) {
            return Ok(());
        }
        // Connections that would otherwise keep each other alive end first (their
        // protocols hear `connection_lost`), while the loop's state is still whole.
        let ending = std::mem::take(&mut *self.end_on_close.borrow_mut());
        for item in ending.iter().filter_map(Weak::upgrade) {
            item.end_on_close();
        }
        // Cancelling drops futures, whose destructors may wake or schedule more: repeat
        // until nothing is left, then refuse anything further.
        loop {
            let tasks = self.tasks.borrow().snapshot();
            for task in &tasks {
                task.abort();
            }
            let ready = std::mem::take(&mut *self.ready.borrow_mut());
            let deferred = std::mem::take(&mut *self.after_batch.borrow_mut());
            let mut remote = Vec::new();
            while let Some(item) = self.shared.pop() {
                remote.push(item);
            }
            let mut timers = std::mem::take(&mut *self.timers.borrow_mut());
            self.kept_next_timer.set(None);
            let watches = std::mem::take(&mut *self.fd_watches.borrow_mut());
            let signal_watches = std::mem::take(&mut *self.signal_watches.borrow_mut());
            let had_work = !tasks.is_empty()
                || !ready.is_empty()
                || !remote.is_empty()
                || !deferred.is_empty()
                || !watches.is_empty()
                || !signal_watches.is_empty();
            let had_timers = !timers.is_empty();
            drop(watches);
            // Signal watches are not in the task registry: end them here.
            for (_, watch) in signal_watches {
                watch.abort();
            }
            drop(tasks);
            drop(ready);
            drop(deferred);
            drop(remote);
            timers.clear();
            drop(timers);
            if !had_work && !had_timers {
                break;
            }
        }
        self.shared.close();
        while let Some(item) = self.shared.pop() {
            drop(item);
        }
        // As asyncio's close(): the default pool stops taking work; running jobs finish
        // on their own without the loop waiting for them.
        if let Some(pool) = self.default_executor.take() {
            pool.shutdown(false, false);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;
    use std::time::Instant;

    use super::{LoopState, TimerEntry, READY_KEPT_IDLE};
    use crate::callback::CallbackCell;

    #[test]
    fn an_idle_loop_gives_back_the_ready_queue_a_burst_grew() {
        let state = LoopState::new().unwrap();
        let ran = Rc::new(Cell::new(0));
        for _ in 0..20 * READY_KEPT_IDLE {
            let ran = ran.clone();
            state.call_soon(move || ran.set(ran.get() + 1));
        }
        state.run_once();
        assert_eq!(ran.get(), 20 * READY_KEPT_IDLE);
        assert!(state.ready.borrow().capacity() >= 20 * READY_KEPT_IDLE);
        // Nothing ready: the next iteration goes idle (a due timer keeps it from
        // blocking) and trims first.
        let fired = Rc::new(Cell::new(false));
        let flag = fired.clone();
        state.insert_timer(
            Instant::now(),
            TimerEntry::Callback(CallbackCell::new_rc(move || flag.set(true))),
        );
        state.run_once();
        assert!(fired.get());
        assert!(state.ready.borrow().capacity() <= READY_KEPT_IDLE);
    }
}
