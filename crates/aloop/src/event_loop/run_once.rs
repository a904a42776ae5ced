//! One iteration of the loop (asyncio's `BaseEventLoop._run_once`), and the runs built on
//! it: `run_forever`, `close`.
//!
//! The order of the steps is the contract (ARCHITECTURE.md):
//! 1. timeout: zero if something is ready, else until the next timer, else forever;
//! 2. wait in the driver (I/O readiness, or a wake-up from another thread);
//! 3. move expired timers onto the ready queue (waking sleeping tasks);
//! 4. drain the cross-thread queue;
//! 5. run exactly the entries that were ready when this step began, FIFO.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::core::{LoopCore, Ready, Remote, TimerEntry};
use crate::current::LoopGuard;
use crate::error::{CloseRunningLoop, PanicPayload, RunError};
use crate::exception::ExceptionContext;
use crate::handle::{Callback, CallbackCell};

/// With work ready, the driver is still asked (with a zero timeout) every this many
/// iterations, so that a busy loop does not starve I/O.
const POLL_EVERY: u64 = 61;

impl LoopCore {
    pub(crate) fn run_once(&self) {
        let iteration = self.iteration.get();
        self.iteration.set(iteration.wrapping_add(1));

        // Steps 1 and 2.
        let busy = self.stopping.get() || !self.ready.borrow().is_empty();
        if busy {
            if iteration % POLL_EVERY == 0 {
                self.wait(Some(Duration::ZERO));
            }
        } else {
            let next_timer = self.timers.borrow().next_deadline();
            let timeout = next_timer.map(|at| at.saturating_duration_since(Instant::now()));
            if self.shared.about_to_block() {
                self.wait(timeout);
            }
            self.shared.done_blocking();
        }

        // Step 3.
        self.fire_timers();

        // Step 4.
        while let Some(item) = self.shared.pop() {
            let ready = match item {
                Remote::Task(runnable) => Ready::Task(runnable),
                Remote::Callback(f) => Ready::Callback(CallbackCell::new_rc(f)),
                Remote::Stop => Ready::Stop,
            };
            self.push_ready(ready);
        }

        // Step 5: only what was ready at this point; what it schedules waits.
        let batch = self.ready.borrow().len();
        for _ in 0..batch {
            let Some(item) = self.ready.borrow_mut().pop_front() else {
                break;
            };
            match item {
                Ready::Callback(cb) => self.run_callback(&*cb),
                Ready::Task(runnable) => self.run_step(runnable),
                Ready::Stop => self.stopping.set(true),
            }
        }
    }

    fn wait(&self, timeout: Option<Duration>) {
        if let Err(e) = self.shared.driver.wait(timeout) {
            self.call_exception_handler(&ExceptionContext::new(format!(
                "polling for I/O failed: {e}"
            )));
        }
    }

    fn fire_timers(&self) {
        let due = {
            let timers = self.timers.borrow();
            // Most iterations of a busy loop have no timers at all: skip the wheel scan.
            if timers.is_empty() {
                return;
            }
            match timers.next_deadline() {
                Some(at) => at,
                None => return,
            }
        };
        let now = Instant::now();
        if due > now {
            return;
        }
        // Collect first, dispatch after the wheel's borrow ends: a waker may run
        // arbitrary code (another executor's), which may touch the wheel.
        let mut expired = std::mem::take(&mut *self.expired.borrow_mut());
        expired.extend(self.timers.borrow_mut().advance(now).map(|(_, _, e)| e));
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
            self.call_exception_handler(&ExceptionContext {
                message: "Exception in callback".into(),
                panic: Some(PanicPayload::new(payload)),
                task_name: None,
            });
        }
        self.warn_if_slow(started, "callback");
    }

    fn run_step(&self, runnable: aloop_executor::Runnable) {
        let started = self.debug.get().then(Instant::now);
        // Panics are caught inside the task; this only polls.
        runnable.run();
        self.warn_if_slow(started, "task step");
    }

    fn warn_if_slow(&self, started: Option<Instant>, what: &str) {
        if let Some(started) = started {
            let took = started.elapsed();
            if took >= self.slow_callback_duration.get() {
                eprintln!(
                    "aloop: executing a {what} took {:.3} seconds",
                    took.as_secs_f64()
                );
            }
        }
    }

    pub(crate) fn run_forever(self: &Rc<Self>) -> Result<(), RunError> {
        if self.closed.get() {
            return Err(RunError::Closed);
        }
        if self.running.get() {
            return Err(RunError::AlreadyRunning);
        }
        let Some(_guard) = LoopGuard::enter(self) else {
            return Err(RunError::AnotherLoopRunning);
        };
        loop {
            self.run_once();
            if self.stopping.get() {
                return Ok(());
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
        // Cancelling drops futures, whose destructors may wake or schedule more: repeat
        // until nothing is left, then refuse anything further.
        loop {
            let tasks = self.tasks.borrow().snapshot();
            for task in &tasks {
                task.abort();
            }
            let ready = std::mem::take(&mut *self.ready.borrow_mut());
            let mut remote = Vec::new();
            while let Some(item) = self.shared.pop() {
                remote.push(item);
            }
            let mut timers = std::mem::take(&mut *self.timers.borrow_mut());
            let watches = std::mem::take(&mut *self.fd_watches.borrow_mut());
            drop(watches);
            let had_work = !tasks.is_empty() || !ready.is_empty() || !remote.is_empty();
            let had_timers = !timers.is_empty();
            drop(tasks);
            drop(ready);
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
