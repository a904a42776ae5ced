//! `EventLoop` and `LoopRef`: the asyncio-shaped loop API (`call_soon`, `call_later`,
//! `call_at`, `create_task`, `run_until_complete`, `run_forever`, `stop`, `close`, ...).
//!
//! `EventLoop` owns a loop and closes it when dropped; `LoopRef` is a cheap shared
//! reference to one (what `get_running_loop` returns). Both are `!Send`: a loop belongs to
//! the thread that made it. Other threads use a [`LoopHandle`](crate::LoopHandle).

mod fd_watch;
pub(crate) mod metrics;
#[cfg(feature = "process")]
mod signal_handlers;
mod task_dump;

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::callback::CallbackCell;
use crate::error::{CloseRunningLoop, LoopClosed, NoRunningLoop, RealTimeError, RunError};
use crate::exception::ExceptionContext;
use crate::handle::{Handle, TimerHandle};
use crate::loop_handle::LoopHandle;
use crate::loop_state::{LoopState, TimerEntry};
use crate::promise::Promise;
use crate::running::{running_state, LoopGuard};
use crate::task::{spawn_eager, spawn_with, AnyTask, Task, TaskOptions};

/// Creates a new event loop on this thread (asyncio's `new_event_loop`).
///
/// # Panics
/// If the operating system refuses the loop's poller (out of file descriptors); use
/// [`EventLoop::try_new`] to get that as an error.
pub fn new_event_loop() -> EventLoop {
    EventLoop::new()
}

/// The event loop running on this thread (asyncio's `get_running_loop`).
///
/// ```
/// assert!(aloop::get_running_loop().is_err());
/// let lp = aloop::new_event_loop();
/// let same = lp.run_until_complete(async {
///     aloop::get_running_loop().unwrap().is_running()
/// });
/// assert!(same.unwrap());
/// ```
pub fn get_running_loop() -> Result<LoopRef, NoRunningLoop> {
    running_state()
        .map(LoopRef::from_state)
        .ok_or(NoRunningLoop)
}

/// An event loop, owned: dropping it closes it. All methods are on [`LoopRef`], which
/// this dereferences to.
///
/// ```
/// use std::time::Duration;
/// let lp = aloop::new_event_loop();
/// lp.call_soon(|| println!("a")).unwrap();
/// lp.call_later(Duration::from_millis(1), || println!("b")).unwrap();
/// let value = lp.run_until_complete(async {
///     aloop::sleep(Duration::from_millis(5)).await;
///     42
/// });
/// assert_eq!(value.unwrap(), 42);
/// lp.close().unwrap();
/// assert!(lp.is_closed());
/// ```
pub struct EventLoop {
    lp: LoopRef,
}

impl EventLoop {
    /// Creates a new event loop (see [`new_event_loop`]).
    pub fn new() -> EventLoop {
        Self::try_new().expect("aloop: could not create the event loop's poller")
    }

    /// Creates a new event loop, or says why the OS refused its poller.
    pub fn try_new() -> std::io::Result<EventLoop> {
        // The loop runs on this thread: `aloop-sync`'s waits report to its tasks.
        aloop_sync::set_wait_hook(Some(crate::task::sync_wait_hook));
        crate::introspect::serve_if_asked();
        Ok(EventLoop {
            lp: LoopRef {
                state: LoopState::new()?,
            },
        })
    }
}

impl Default for EventLoop {
    fn default() -> Self {
        Self::new()
    }
}

impl Deref for EventLoop {
    type Target = LoopRef;
    fn deref(&self) -> &LoopRef {
        &self.lp
    }
}

impl Drop for EventLoop {
    fn drop(&mut self) {
        // An owned loop cannot be running here (running borrows it), so this succeeds.
        let _ = self.lp.close();
    }
}

impl fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.lp.fmt(f)
    }
}

/// A shared reference to an event loop (what [`get_running_loop`](crate::get_running_loop)
/// returns). Cloning is cheap. The loop's API lives here.
#[derive(Clone)]
pub struct LoopRef {
    pub(crate) state: Rc<LoopState>,
}

impl LoopRef {
    pub(crate) fn from_state(state: Rc<LoopState>) -> Self {
        LoopRef { state }
    }

    /// Another reference to the same loop, e.g. to move into a callback.
    pub fn clone_ref(&self) -> LoopRef {
        self.clone()
    }

    /// Schedules `callback` to run on the next iteration, after the callbacks already
    /// queued (FIFO). Fails on a closed loop.
    pub fn call_soon(&self, callback: impl FnOnce() + 'static) -> Result<Handle, LoopClosed> {
        self.check_open()?;
        Ok(Handle {
            callback: self.state.call_soon(callback),
        })
    }

    /// Schedules `callback` to run once `delay` has passed (never earlier). Timers with
    /// the same deadline run in the order they were scheduled.
    pub fn call_later(
        &self,
        delay: Duration,
        callback: impl FnOnce() + 'static,
    ) -> Result<TimerHandle, LoopClosed> {
        self.call_at(self.state.now() + delay, callback)
    }

    /// Schedules `callback` to run at `when` (on the loop's clock, [`LoopRef::time`]).
    /// A deadline in the past runs on the next iteration.
    pub fn call_at(
        &self,
        when: Instant,
        callback: impl FnOnce() + 'static,
    ) -> Result<TimerHandle, LoopClosed> {
        self.check_open()?;
        let cell = CallbackCell::new_rc(callback);
        let key = self
            .state
            .insert_timer(when, TimerEntry::Callback(cell.clone()));
        Ok(TimerHandle {
            handle: Handle { callback: cell },
            when,
            key,
            state: Rc::downgrade(&self.state),
        })
    }

    /// Wraps `future` in a task that starts on the next iteration (asyncio's
    /// `loop.create_task`). The future may be `!Send`. On a closed loop the task is
    /// cancelled at once (awaiting it yields `TaskError::Cancelled`).
    ///
    /// With [`set_eager_task_factory(true)`](Self::set_eager_task_factory) the task starts
    /// eagerly instead, as [`create_eager_task`](Self::create_eager_task).
    #[track_caller]
    pub fn create_task<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        spawn_with(&self.state, future, TaskOptions::default())
    }

    /// Wraps `future` in a task whose first step runs now, inside this call, when the
    /// loop is running (Python 3.12's `eager_start`; else it starts on the next
    /// iteration as [`create_task`](Self::create_task)'s). During that step the new task
    /// is the [`current_task`](crate::current_task). A task that finishes in its first
    /// step is done when this returns and never enters the ready queue (its done
    /// callbacks are still scheduled, not run inline); one that waits goes on as any
    /// task. Short-lived tasks cost less this way, and run before anything queued.
    ///
    /// ```
    /// aloop::run(async {
    ///     let lp = aloop::get_running_loop().unwrap();
    ///     let quick = lp.create_eager_task(async { 6 * 7 });
    ///     assert!(quick.done()); // it already ran
    ///     assert_eq!(quick.await.unwrap(), 42);
    /// });
    /// ```
    #[track_caller]
    pub fn create_eager_task<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        spawn_eager(&self.state, future)
    }

    /// [`create_task`](Self::create_task) with asyncio's keyword arguments: a `name`
    /// given before the first step (so an eager task already has it), and
    /// `eager_start` to choose eager or queued regardless of the loop's factory.
    ///
    /// ```
    /// aloop::run(async {
    ///     let lp = aloop::get_running_loop().unwrap();
    ///     let t = lp.create_task_with(async { 1 }, aloop::TaskOptions::named("one"));
    ///     assert_eq!(t.get_name(), "one");
    ///     assert_eq!(t.await.unwrap(), 1);
    /// });
    /// ```
    #[track_caller]
    pub fn create_task_with<F>(&self, future: F, options: TaskOptions) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        spawn_with(&self.state, future, options)
    }

    /// Makes [`create_task`](Self::create_task) (and [`aloop::create_task`](crate::create_task)
    /// on this loop) start tasks eagerly (asyncio's
    /// `loop.set_task_factory(asyncio.eager_task_factory)`); `false` restores the default.
    pub fn set_eager_task_factory(&self, eager: bool) {
        self.state.set_eager_tasks(eager);
    }

    /// Whether [`create_task`](Self::create_task) starts tasks eagerly.
    pub fn eager_task_factory(&self) -> bool {
        self.state.eager_tasks()
    }

    /// A new pending [`Promise`] bound to this loop (asyncio's `loop.create_future`).
    pub fn create_future<T: 'static>(&self) -> Promise<T> {
        Promise::new(&self.state)
    }

    /// Runs the loop until `future` completes and returns its output (asyncio's
    /// `run_until_complete`). The loop can be run again afterwards.
    ///
    /// Errors: the loop is closed or already running, another loop runs on this thread,
    /// `stop()` was called first, or the future was cancelled or panicked.
    #[track_caller]
    pub fn run_until_complete<F>(&self, future: F) -> Result<F::Output, RunError>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let guard = LoopGuard::enter(&self.state)?;
        let task = self.create_task(future);
        self.run_task(guard, task)
    }

    /// [`run_until_complete`](Self::run_until_complete) for a task made already (the
    /// runner's main task, which Ctrl-C cancels).
    #[cfg(feature = "process")]
    pub(crate) fn run_task_until_complete<T: 'static>(&self, task: Task<T>) -> Result<T, RunError> {
        let guard = LoopGuard::enter(&self.state)?;
        self.run_task(guard, task)
    }

    fn run_task<T: 'static>(&self, guard: LoopGuard, task: Task<T>) -> Result<T, RunError> {
        let weak = Rc::downgrade(&self.state);
        let stop_cb = task.add_done_callback(move |_| {
            if let Some(state) = weak.upgrade() {
                state.stop();
            }
        });
        self.state.run_until_stopped();
        drop(guard);
        task.remove_done_callback(stop_cb);
        match task.take_result() {
            Some(result) => result.map_err(RunError::Task),
            None => Err(RunError::Stopped),
        }
    }

    /// Runs the loop until [`LoopRef::stop`] is called.
    pub fn run_forever(&self) -> Result<(), RunError> {
        let _guard = LoopGuard::enter(&self.state)?;
        self.state.run_until_stopped();
        Ok(())
    }

    /// Makes `run_forever` return after the current iteration: callbacks already in this
    /// iteration's batch still run; what they schedule waits for the next run.
    pub fn stop(&self) {
        self.state.stop();
    }

    /// Whether the loop is running.
    pub fn is_running(&self) -> bool {
        self.state.is_running()
    }

    /// Whether [`LoopRef::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.state.is_closed()
    }

    /// Closes the loop: pending callbacks and timers are discarded, unfinished tasks are
    /// cancelled (their futures dropped now), and the loop refuses further work.
    /// Idempotent; an error on a running loop.
    pub fn close(&self) -> Result<(), CloseRunningLoop> {
        self.state.close()
    }

    /// The loop's clock (monotonic): the real one, or the virtual one after
    /// [`use_virtual_time`](Self::use_virtual_time).
    pub fn time(&self) -> Instant {
        self.state.now()
    }

    /// Switches the loop to virtual time (tokio's paused time, with auto-advance): the
    /// clock stands still while there is work, and when the loop has nothing ready and
    /// no I/O event is waiting, it jumps straight to the next timer instead of waiting
    /// for it. `time()`, `call_later`, `sleep`, `wait_for`, `timeout` and every timer
    /// follow it, so a test of timeouts of hours runs in microseconds, and a program
    /// without real I/O gives the same order of events on every run. The clock starts
    /// at the real present and only moves forward. Idempotent.
    ///
    /// I/O still takes real time: with a real connection in flight and a timer
    /// pending, the clock jumps to the timer (a timeout may fire before a slow peer
    /// answers), as tokio's auto-advance does.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// let lp = aloop::new_event_loop();
    /// lp.use_virtual_time();
    /// let wall = Instant::now();
    /// let t0 = lp.time();
    /// lp.run_until_complete(aloop::sleep(Duration::from_secs(24 * 3600))).unwrap();
    /// assert!(lp.time() - t0 >= Duration::from_secs(24 * 3600)); // a day passed...
    /// assert!(wall.elapsed() < Duration::from_secs(60)); // ...but not really
    /// ```
    pub fn use_virtual_time(&self) {
        self.state.use_virtual_time();
    }

    /// Whether the loop runs on virtual time.
    pub fn is_virtual_time(&self) -> bool {
        self.state.is_virtual_time()
    }

    /// Moves the virtual clock forward by `by` (timers now due fire in the next
    /// iteration); an error on real time, whose clock cannot be moved.
    pub fn advance(&self, by: Duration) -> Result<(), RealTimeError> {
        if self.state.advance_clock(by) {
            Ok(())
        } else {
            Err(RealTimeError)
        }
    }

    /// A `Send + Sync` handle for other threads (`call_soon_threadsafe`, `spawn`, `stop`).
    pub fn handle(&self) -> LoopHandle {
        LoopHandle::new(self.state.shared().clone())
    }

    /// Installs the handler that receives panics from callbacks and tasks and other
    /// errors nobody could receive; `None` restores the default (one line on stderr).
    pub fn set_exception_handler(&self, handler: Option<impl Fn(&ExceptionContext) + 'static>) {
        self.state
            .set_exception_handler(handler.map(|h| Rc::new(h) as _));
    }

    /// Reports `context` to the exception handler (or the default one).
    pub fn call_exception_handler(&self, context: &ExceptionContext) {
        self.state.call_exception_handler(context);
    }

    /// In debug mode, callbacks and task steps slower than
    /// [`LoopRef::set_slow_callback_duration`] (default 100 ms) are reported on stderr.
    pub fn set_debug(&self, enabled: bool) {
        self.state.set_debug(enabled);
    }

    /// Whether debug mode is on.
    pub fn get_debug(&self) -> bool {
        self.state.debug()
    }

    /// The threshold for slow-callback warnings in debug mode.
    pub fn set_slow_callback_duration(&self, threshold: Duration) {
        self.state.set_slow_callback_duration(threshold);
    }

    /// The tasks of this loop that have not finished.
    pub fn all_tasks(&self) -> Vec<AnyTask> {
        let tasks = self.state.tasks();
        tasks.into_iter().map(AnyTask::from_raw).collect()
    }

    fn check_open(&self) -> Result<(), LoopClosed> {
        if self.state.is_closed() {
            Err(LoopClosed)
        } else {
            Ok(())
        }
    }
}

impl PartialEq for LoopRef {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.state, &other.state)
    }
}

impl Eq for LoopRef {}

impl fmt::Debug for LoopRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventLoop")
            .field("running", &self.is_running())
            .field("closed", &self.is_closed())
            .field("tasks", &self.state.task_count())
            .finish()
    }
}
