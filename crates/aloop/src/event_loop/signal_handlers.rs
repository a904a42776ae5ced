//! `add_signal_handler` / `remove_signal_handler` (asyncio's loop methods of the same
//! names): a Unix signal's deliveries become callbacks on the loop thread.
//!
//! Each handler is a small task that owns an `aloop_process::SignalListener`
//! registered with the loop's reactor and runs the callback once per wake-up, in an
//! ordinary iteration, never inside the OS handler. The table of handlers is part of
//! the loop state (`loop_state/watches.rs`); `runner.rs`'s Ctrl-C handling stands aside
//! for a loop with its own SIGINT handler, as asyncio's `Runner` does.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::{Rc, Weak};

use aloop_process::SignalListener;

use super::LoopRef;
use crate::error::{LoopClosed, SignalHandlerError};
use crate::exception::ExceptionContext;
use crate::loop_state::LoopState;
use crate::task::spawn_unlisted;

async fn watch(state: Weak<LoopState>, listener: SignalListener, callback: Rc<dyn Fn()>) {
    loop {
        if let Err(e) = listener.recv().await {
            if let Some(state) = state.upgrade() {
                state.call_exception_handler(&ExceptionContext::new(format!(
                    "watching signal {} failed: {e}",
                    listener.signum()
                )));
            }
            return;
        }
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| callback())) {
            if let Some(state) = state.upgrade() {
                state.report_callback_panic(payload);
            }
        }
    }
}

impl LoopRef {
    /// Runs `callback` on this loop's thread each time signal `signum` arrives
    /// (asyncio's `loop.add_signal_handler`); replaces an earlier handler for the same
    /// signal on this loop. A panic in the callback goes to the exception handler.
    ///
    /// Several deliveries that arrive before the loop looks run the callback once, as
    /// the OS merges pending signals. While any loop has a handler for a signal, the
    /// signal's default action (ending the process, for most) is replaced; when the
    /// last handler in the process is removed it acts as before. With loops on several
    /// threads, each loop with a handler for the signal runs its own handler, on its
    /// own thread.
    ///
    /// Errors: [`SignalHandlerError::Closed`] on a closed loop,
    /// [`SignalHandlerError::OutOfRange`] for a number that is not a signal,
    /// [`SignalHandlerError::Uncatchable`] for SIGKILL and SIGSTOP (and the faults
    /// SIGILL, SIGFPE, SIGSEGV), [`SignalHandlerError::Io`] if the OS refuses.
    ///
    /// ```
    /// use std::cell::Cell;
    /// use std::rc::Rc;
    ///
    /// let lp = aloop::new_event_loop();
    /// let got = Rc::new(Cell::new(false));
    /// let (seen, stopper) = (got.clone(), lp.clone_ref());
    /// lp.add_signal_handler(libc::SIGUSR1, move || {
    ///     seen.set(true);
    ///     stopper.stop();
    /// })
    /// .unwrap();
    /// // SAFETY: raise(3) only sends the signal to this thread.
    /// unsafe { libc::raise(libc::SIGUSR1) };
    /// lp.run_forever().unwrap();
    /// assert!(got.get());
    /// assert!(lp.remove_signal_handler(libc::SIGUSR1));
    /// ```
    pub fn add_signal_handler(
        &self,
        signum: i32,
        callback: impl Fn() + 'static,
    ) -> Result<(), SignalHandlerError> {
        let state = &self.state;
        if state.is_closed() {
            return Err(SignalHandlerError::Closed(LoopClosed));
        }
        let listener = SignalListener::with_reactor(signum, state.reactor())?;
        let task = spawn_unlisted(
            state,
            watch(Rc::downgrade(state), listener, Rc::new(callback)),
        );
        state.install_signal_watch(signum, task.into_raw());
        Ok(())
    }

    /// Removes this loop's handler for `signum` (asyncio's `remove_signal_handler`);
    /// returns whether there was one. No callback runs for the signal afterwards.
    pub fn remove_signal_handler(&self, signum: i32) -> bool {
        self.state.remove_signal_watch(signum)
    }
}
