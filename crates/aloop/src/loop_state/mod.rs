//! The loop's state: the facade's floor. Every other file of the facade stands on it and
//! it imports none of them (only the leaves `callback.rs`, `exception.rs`, `error.rs`).
//!
//! - `mod.rs` (here): `LoopState`, whose fields are its own, and the few methods the
//!   files above use: queue a callback, arm or cancel a timer, report an error, read
//!   and flip the run flags.
//! - `ready.rs`: what the queues hold; `shared.rs`: the part other threads touch;
//!   `driver.rs`: the blocking point.
//! - `registry.rs`: the live tasks, and `tasks.rs` the methods over them and their
//!   names; `fd_watches.rs`: the `add_reader` / `add_writer` table, and `watches.rs`
//!   the methods over it and over the signal watches.
//! - `run_once.rs`: one iteration (asyncio's `_run_once`), and `close`.
//! - `clock.rs`: the loop's clock (real or virtual) and the task dump's wait stamps
//!   (`stamps.rs`: where they count from).
//!
//! Above the floor: `running.rs` (which loop runs on this thread, and the scheduler
//! hook), `task/`, `handle.rs`, `promise.rs`, `event_loop/` (the public face), streams.

mod clock;
mod driver;
mod fd_watches;
mod ready;
mod registry;
mod run_once;
mod shared;
mod stamps;
mod tasks;
mod watches;

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};
use std::rc::{Rc, Weak};
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use aloop_blocking::ThreadPoolExecutor;
use aloop_executor::TaskRef;
use aloop_reactor::Reactor;
use aloop_timer::{TimerKey, TimerWheel};

use self::driver::Driver;
use self::fd_watches::FdWatches;
use self::registry::TaskRegistry;
use self::stamps::Epoch;
use crate::callback::{Callback, CallbackCell};
use crate::error::PanicPayload;
use crate::exception::{default_exception_handler, ExceptionContext};

pub(crate) use self::fd_watches::Direction;
pub(crate) use self::ready::{Ready, Remote, TimerEntry};
pub(crate) use self::shared::{live_loops, Shared};

/// The loop's counters (read as `LoopMetrics` by `LoopRef::metrics`). Counting costs
/// an increment per callback and task step; the times (per step, blocked) are only
/// measured in debug mode (`set_debug`), which times every step anyway for
/// slow-callback warnings.
#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) callbacks: Cell<u64>,
    pub(crate) task_steps: Cell<u64>,
    pub(crate) ready_high_water: Cell<usize>,
    pub(crate) blocked: Cell<Duration>,
    pub(crate) slow_steps: Cell<u64>,
    pub(crate) callback_time: Cell<Duration>,
    pub(crate) task_step_time: Cell<Duration>,
    pub(crate) longest_callback: Cell<Duration>,
    pub(crate) longest_task_step: Cell<Duration>,
}

/// Something the loop must end when it closes: a protocol connection, whose protocol
/// and transport hold each other, and which nothing else would free once its tasks
/// are gone.
pub(crate) trait EndOnClose {
    fn end_on_close(&self);
}

/// The loop's exception handler (asyncio's `set_exception_handler`).
pub(crate) type ExceptionHandler = Rc<dyn Fn(&ExceptionContext)>;

/// Work to do once the current batch of ready entries has run (a stream sends the
/// bytes written during the batch in one go). The facade's own code, never a user's:
/// it must not panic (it is not run under `catch_unwind`).
pub(crate) trait AfterBatch {
    fn after_batch(self: Rc<Self>);
}

/// Everything the loop owns. Shared (`Rc`) by `EventLoop`, `LoopRef`s, timer handles and
/// tasks; `!Send`, as the loop is.
pub(crate) struct LoopState {
    shared: Arc<Shared>,
    ready: RefCell<VecDeque<Ready>>,
    timers: RefCell<TimerWheel<TimerEntry>>,
    /// The wheel's next deadline (`next_timer`), kept until a change of the wheel can
    /// move it later (a cancel, an advance, a close); `None`: to be asked again. A loop
    /// woken for work with timers pending asks every iteration, and the wheel's answer
    /// is a scan of its levels.
    kept_next_timer: Cell<Option<Option<Instant>>>,
    /// Reused buffer for the timers that expire in one iteration.
    expired: RefCell<Vec<TimerEntry>>,
    /// What asked to run once the running batch is done, in the order it asked.
    after_batch: RefCell<Vec<Rc<dyn AfterBatch>>>,
    running: Cell<bool>,
    stopping: Cell<bool>,
    closed: Cell<bool>,
    debug: Cell<bool>,
    slow_callback_duration: Cell<Duration>,
    exception_handler: RefCell<Option<ExceptionHandler>>,
    tasks: RefCell<TaskRegistry>,
    iteration: Cell<u64>,
    default_executor: RefCell<Option<ThreadPoolExecutor>>,
    fd_watches: RefCell<FdWatches>,
    /// `add_signal_handler`'s watches, by signal number (the tasks are made above the
    /// floor, in `event_loop/signal_handlers.rs`).
    signal_watches: RefCell<HashMap<i32, TaskRef>>,
    /// `set_eager_task_factory(true)`: `create_task` starts tasks eagerly.
    eager_tasks: Cell<bool>,
    /// The runner is cancelling the leftover tasks at shutdown: a task ending in a panic
    /// now is reported at once as asyncio's run does (`task/record.rs`).
    shutting_down_tasks: Cell<bool>,
    /// What to end when the loop closes (see `EndOnClose`); weak, pruned as it grows.
    end_on_close: RefCell<Vec<Weak<dyn EndOnClose>>>,
    /// What the loop did (`LoopRef::metrics`): plain counters, no lock.
    pub(crate) counters: Counters,
    /// Virtual time (`use_virtual_time`): the loop's clock, which stands still and
    /// jumps to the next timer when the loop has nothing else to do. `None`: real time.
    virtual_now: Cell<Option<Instant>>,
    /// Where the loop's wait stamps count from (`stamps.rs`).
    epoch: Epoch,
    /// The iteration whose first wait read the clock, and what it read (`wait_stamp`).
    stamp_cache: Cell<(u64, u64)>,
    /// The names given with `set_name`, by task number: most tasks have none, and a
    /// name kept in each task would cost every task a word.
    task_names: RefCell<HashMap<u64, String>>,
    self_weak: Weak<LoopState>,
}

impl LoopState {
    pub(crate) fn new() -> std::io::Result<Rc<LoopState>> {
        let driver = Driver::new()?;
        let state = Rc::new_cyclic(|weak| LoopState {
            shared: Arc::new(Shared::new(driver)),
            ready: RefCell::new(VecDeque::new()),
            timers: RefCell::new(TimerWheel::new()),
            kept_next_timer: Cell::new(None),
            expired: RefCell::new(Vec::new()),
            after_batch: RefCell::new(Vec::new()),
            running: Cell::new(false),
            stopping: Cell::new(false),
            closed: Cell::new(false),
            debug: Cell::new(false),
            slow_callback_duration: Cell::new(Duration::from_millis(100)),
            exception_handler: RefCell::new(None),
            tasks: RefCell::new(TaskRegistry::default()),
            iteration: Cell::new(0),
            default_executor: RefCell::new(None),
            fd_watches: RefCell::new(FdWatches::default()),
            signal_watches: RefCell::new(HashMap::new()),
            eager_tasks: Cell::new(false),
            shutting_down_tasks: Cell::new(false),
            end_on_close: RefCell::new(Vec::new()),
            counters: Counters::default(),
            virtual_now: Cell::new(None),
            epoch: Epoch::now(),
            stamp_cache: Cell::new((u64::MAX, 0)),
            task_names: RefCell::new(HashMap::new()),
            self_weak: weak.clone(),
        });
        state.shared.set_state(Rc::as_ptr(&state).cast());
        shared::register_loop(&state.shared);
        Ok(state)
    }

    /// The loop whose shared part is `shared`, if it is still alive.
    ///
    /// Call it on the loop's own thread only (every task-side caller is): the pointer
    /// it follows is set by `new` and cleared by `drop`, both on that thread.
    pub(crate) fn of_shared(shared: &Shared) -> Option<Rc<LoopState>> {
        let ptr = shared.state().cast::<LoopState>();
        if ptr.is_null() {
            return None;
        }
        // SAFETY: non-null only between `new` and the start of `drop` of the state it
        // points to, and this runs on the loop's thread, so the state is alive.
        unsafe { &*ptr }.strong()
    }

    /// Runs `f` on the loop whose shared part is `shared`, if it is still alive, without
    /// touching its count. On the loop's own thread only, as `of_shared`.
    #[inline]
    pub(crate) fn with_shared<R>(shared: &Shared, f: impl FnOnce(&LoopState) -> R) -> Option<R> {
        let ptr = shared.state().cast::<LoopState>();
        // SAFETY: as in `of_shared`; the reference does not outlive the call, during
        // which nothing on this thread can drop the state (`f` gets `&LoopState` only).
        unsafe { ptr.as_ref() }.map(f)
    }

    // --- identity, and the parts other threads and the reactor see ---

    /// A number no other loop of this process has.
    pub(crate) fn id(&self) -> usize {
        self.shared.id()
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    pub(crate) fn reactor(&self) -> &Reactor {
        &self.shared.driver().reactor
    }

    /// A counted reference to this state (it always lives in an `Rc`).
    pub(crate) fn strong(&self) -> Option<Rc<LoopState>> {
        self.self_weak.upgrade()
    }

    // --- scheduling ---

    // Out of line: LLVM's choice to inline it (into the scheduler hook's thread-local
    // closure, `running.rs`) moves with unrelated code, and inlined there it cost the
    // streams echo ~20 instructions per op (callgrind, 1ba80fd).
    #[inline(never)]
    pub(crate) fn push_ready(&self, item: Ready) {
        self.ready.borrow_mut().push_back(item);
    }

    /// Queues `f` behind what is already ready (asyncio's `call_soon`, without the
    /// closed check); returns its cell for a `Handle`.
    pub(crate) fn call_soon(&self, f: impl FnOnce() + 'static) -> Rc<dyn Callback> {
        if self.shared.has_remote() {
            // What other threads queued earlier goes first (`run_once.rs`).
            self.drain_remote();
        }
        let cell = CallbackCell::new_rc(f);
        self.push_ready(Ready::Callback(cell.clone()));
        cell
    }

    #[inline]
    pub(crate) fn insert_timer(&self, when: Instant, entry: TimerEntry) -> TimerKey {
        // A known next deadline stays a lower bound on the earliest timer if it moves
        // no later than the new one's.
        if let Some(next) = self.kept_next_timer.get() {
            self.kept_next_timer
                .set(Some(Some(next.map_or(when, |next| next.min(when)))));
        }
        self.timers.borrow_mut().insert(when, entry)
    }

    #[inline]
    pub(crate) fn cancel_timer(&self, key: TimerKey) {
        // Take the entry out first and drop it after the borrow ends: its destructor
        // (a closure's captures) may schedule more work.
        let removed = self.timers.borrow_mut().cancel(key);
        self.kept_next_timer.set(None);
        drop(removed);
    }

    /// The wheel's next deadline: a lower bound on its earliest timer, never later
    /// (`TimerWheel::next_deadline`, or an earlier timer inserted since); `None` with
    /// no timer.
    pub(super) fn next_timer(&self) -> Option<Instant> {
        if let Some(next) = self.kept_next_timer.get() {
            return next;
        }
        let next = self.timers.borrow().next_deadline();
        self.kept_next_timer.set(Some(next));
        next
    }

    /// Makes the armed sleep timer `key` wake `waker` (a sleep polled again, perhaps
    /// by another task): in place, so the timer keeps its key and its place among
    /// timers due at the same time. `false` if the timer is gone (it fired).
    pub(crate) fn rewake_timer(&self, key: TimerKey, waker: &Waker) -> bool {
        // The waker replaced is dropped after the borrow ends: it may hold the last
        // reference to a task, whose futures may cancel timers as they drop.
        let replaced = match self.timers.borrow_mut().payload_mut(key) {
            None => return false,
            Some(TimerEntry::Waker(armed)) if !armed.will_wake(waker) => {
                Some(std::mem::replace(armed, waker.clone()))
            }
            Some(_) => None,
        };
        drop(replaced);
        true
    }

    /// The waker the armed sleep timer `key` will wake.
    pub(crate) fn timer_waker(&self, key: TimerKey) -> Option<Waker> {
        match self.timers.borrow().payload(key) {
            Some(TimerEntry::Waker(waker)) => Some(waker.clone()),
            _ => None,
        }
    }

    /// Whether the timer `key` is still in the wheel (not fired, not cancelled).
    pub(crate) fn has_timer(&self, key: TimerKey) -> bool {
        self.timers.borrow().contains(key)
    }

    /// Has `work.after_batch()` called once the running batch of ready entries is done.
    pub(crate) fn defer_after_batch(&self, work: Rc<dyn AfterBatch>) {
        self.after_batch.borrow_mut().push(work);
    }

    /// The number of the running iteration (it grows by one per iteration).
    pub(crate) fn iteration(&self) -> u64 {
        self.iteration.get()
    }

    // --- the run flags ---

    pub(crate) fn is_running(&self) -> bool {
        self.running.get()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.get()
    }

    /// Marks the loop running (`true`), or no longer running, which also forgets a
    /// `stop()` (`false`). Only `running.rs`'s guard calls this.
    pub(crate) fn set_running(&self, running: bool) {
        self.running.set(running);
        self.shared.set_running(running);
        if !running {
            self.stopping.set(false);
        }
    }

    /// Makes the run return after the current iteration (asyncio's `stop`).
    pub(crate) fn stop(&self) {
        self.stopping.set(true);
    }

    /// Runs iterations until `stop()` (the caller holds the running guard).
    pub(crate) fn run_until_stopped(&self) {
        loop {
            self.run_once();
            if self.stopping.get() {
                return;
            }
        }
    }

    // --- debug mode and errors ---

    pub(crate) fn debug(&self) -> bool {
        self.debug.get()
    }

    pub(crate) fn set_debug(&self, enabled: bool) {
        self.debug.set(enabled);
    }

    pub(crate) fn set_slow_callback_duration(&self, threshold: Duration) {
        self.slow_callback_duration.set(threshold);
    }

    pub(crate) fn set_exception_handler(&self, handler: Option<ExceptionHandler>) {
        *self.exception_handler.borrow_mut() = handler;
    }

    /// Reports an error nobody could receive, through the handler or the default one.
    pub(crate) fn call_exception_handler(&self, context: &ExceptionContext) {
        let handler = self.exception_handler.borrow().clone();
        match handler {
            None => default_exception_handler(context),
            Some(handler) => {
                let outcome =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(context)));
                if let Err(payload) = outcome {
                    default_exception_handler(&ExceptionContext {
                        message: format!(
                            "Unhandled error in exception handler while handling: {context}"
                        ),
                        panic: Some(PanicPayload::new(payload)),
                        task_name: None,
                    });
                }
            }
        }
    }

    /// Reports a callback that panicked (asyncio's "Exception in callback").
    pub(crate) fn report_callback_panic(&self, payload: Box<dyn std::any::Any + Send>) {
        self.call_exception_handler(&ExceptionContext {
            message: "Exception in callback".into(),
            panic: Some(PanicPayload::new(payload)),
            task_name: None,
        });
    }

    // --- the default executor (`run_in_executor(None, ..)`) ---

    /// The default pool, made on first use.
    pub(crate) fn default_executor(&self) -> ThreadPoolExecutor {
        let mut slot = self.default_executor.borrow_mut();
        if let Some(pool) = &*slot {
            return pool.clone();
        }
        let pool = ThreadPoolExecutor::builder()
            .thread_name_prefix("aloop")
            .build()
            .expect("the default executor's settings are valid");
        *slot = Some(pool.clone());
        pool
    }

    /// Registers `item` to be ended when the loop closes.
    pub(crate) fn end_on_close(&self, item: Weak<dyn EndOnClose>) {
        let mut items = self.end_on_close.borrow_mut();
        if items.len() >= 64 && items.len().is_power_of_two() {
            items.retain(|i| i.strong_count() > 0);
        }
        items.push(item);
    }

    /// The loop's iterations so far.
    pub(crate) fn iterations(&self) -> u64 {
        self.iteration.get()
    }

    /// Whether `create_task` starts tasks eagerly (the eager task factory).
    pub(crate) fn eager_tasks(&self) -> bool {
        self.eager_tasks.get()
    }

    pub(crate) fn set_eager_tasks(&self, eager: bool) {
        self.eager_tasks.set(eager);
    }

    /// Whether the runner is cancelling the leftover tasks at shutdown.
    pub(crate) fn shutting_down_tasks(&self) -> bool {
        self.shutting_down_tasks.get()
    }

    pub(crate) fn set_shutting_down_tasks(&self, on: bool) {
        self.shutting_down_tasks.set(on);
    }

    /// Puts `pool` in place of the default pool (or none); returns the previous one.
    pub(crate) fn replace_default_executor(
        &self,
        pool: Option<ThreadPoolExecutor>,
    ) -> Option<ThreadPoolExecutor> {
        self.default_executor.replace(pool)
    }
}

impl Drop for LoopState {
    fn drop(&mut self) {
        // Before any field goes: a task dropped with them finds no loop.
        self.shared.set_state(std::ptr::null());
    }
}
