//! `RunnerBuilder`: a [`Runner`] or one `aloop::run` with the loop set up first (debug
//! mode, virtual time), as asyncio's `asyncio.run(main, debug=True)` and
//! `asyncio.Runner(debug=True)`. `runner.rs` beside it holds `Runner` and the plain
//! `run`/`try_run`, which are this builder with nothing set; `#[aloop::main]` and
//! `#[aloop::test]` (the `aloop-macros` crate) expand to it.

use std::future::Future;

use crate::error::{RunError, TaskError};
use crate::running::is_loop_running;
use crate::Runner;

/// How to set up the loop of a [`Runner`] or of one [`aloop::run`](crate::run): debug
/// mode and virtual time (asyncio's `asyncio.run(main, debug=True)`,
/// `asyncio.Runner(debug=True)`). Made by [`Runner::builder`].
///
/// ```
/// use std::time::Duration;
///
/// // An hour of timers, run on virtual time: it takes no real hour.
/// let waited = aloop::Runner::builder().virtual_time(true).run(async {
///     let lp = aloop::get_running_loop().unwrap();
///     let t0 = lp.time();
///     aloop::sleep(Duration::from_secs(3600)).await;
///     lp.time() - t0
/// });
/// assert!(waited >= Duration::from_secs(3600));
///
/// // A runner whose loop is in debug mode, for several runs.
/// let runner = aloop::Runner::builder().debug(true).build().unwrap();
/// assert!(runner.run(async { aloop::get_running_loop().unwrap().get_debug() }).unwrap());
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a RunnerBuilder does nothing until `build`, `run` or `try_run`"]
pub struct RunnerBuilder {
    /// `None`: the loop's own default (off).
    debug: Option<bool>,
    virtual_time: bool,
}

impl Runner {
    /// A [`RunnerBuilder`], to set the loop up before running on it.
    pub fn builder() -> RunnerBuilder {
        RunnerBuilder::new()
    }
}

impl RunnerBuilder {
    /// A builder with nothing set: [`build`](Self::build) is then [`Runner::new`] and
    /// [`run`](Self::run) is [`aloop::run`](crate::run).
    pub fn new() -> RunnerBuilder {
        RunnerBuilder::default()
    }

    /// Debug mode on the loop ([`LoopRef::set_debug`](crate::LoopRef::set_debug)):
    /// slow callbacks and task steps are reported, and the loop measures where its
    /// time goes (asyncio's `debug=True`).
    pub fn debug(mut self, enabled: bool) -> RunnerBuilder {
        self.debug = Some(enabled);
        self
    }

    /// Virtual time on the loop ([`LoopRef::use_virtual_time`](crate::LoopRef::use_virtual_time)):
    /// the clock stands still while there is work and jumps to the next timer when the
    /// loop is idle, so hours of timers run at once. Meant for tests: real I/O still
    /// takes real time, and a timeout racing it fires as soon as the loop is idle.
    /// `false` (the default) keeps real time.
    pub fn virtual_time(mut self, enabled: bool) -> RunnerBuilder {
        self.virtual_time = enabled;
        self
    }

    /// A [`Runner`] whose loop is set up as asked, or the OS's reason for refusing its
    /// poller.
    pub fn build(&self) -> std::io::Result<Runner> {
        let runner = Runner::new()?;
        let lp = runner.get_loop();
        if let Some(enabled) = self.debug {
            lp.set_debug(enabled);
        }
        if self.virtual_time {
            lp.use_virtual_time();
        }
        Ok(runner)
    }

    /// [`aloop::run`](crate::run) on a loop set up as asked: runs `future` to
    /// completion on a new loop, cancels the tasks it left behind, closes the loop.
    /// A panic in `future` is resumed here; Ctrl-C ends the process after the main
    /// task's cleanup, as `aloop::run` describes.
    ///
    /// # Panics
    /// If called while an event loop runs on this thread, or if `future`'s task
    /// panicked.
    #[track_caller]
    pub fn run<F>(self, future: F) -> F::Output
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        match self.try_run(future) {
            Ok(value) => value,
            Err(RunError::Task(TaskError::Panicked(panic))) => match panic.take() {
                Some(payload) => std::panic::resume_unwind(payload),
                None => panic!("aloop::run: the main task panicked: {}", panic.message()),
            },
            #[cfg(feature = "process")]
            Err(RunError::Interrupted) => {
                // Dying by the signal skips `atexit`: the socket goes first.
                crate::introspect::remove_socket();
                aloop_process::exit_by_signal(aloop_process::signum::SIGINT)
            }
            Err(e) => panic!("aloop::run: {e}"),
        }
    }

    /// [`run`](Self::run), returning failures as a [`RunError`] instead of panicking
    /// ([`aloop::try_run`](crate::try_run) on a loop set up as asked).
    #[track_caller]
    pub fn try_run<F>(self, future: F) -> Result<F::Output, RunError>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        if is_loop_running() {
            return Err(RunError::AnotherLoopRunning);
        }
        let runner = self
            .build()
            .map_err(|e| RunError::Io(std::sync::Arc::new(e)))?;
        let result = runner.run(future);
        runner.close();
        result
    }
}
