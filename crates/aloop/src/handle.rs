//! `Handle` and `TimerHandle`: the small objects `call_soon` / `call_later` return. Each
//! wraps the callback cell (`callback.rs`) it shares with the ready queue or the timer
//! wheel of the loop state (`loop_state/`).

use std::fmt;
use std::rc::{Rc, Weak};
use std::time::Instant;

use aloop_timer::TimerKey;

use crate::callback::Callback;
use crate::loop_state::LoopState;

/// What `call_soon` returns: lets the caller cancel the callback before it runs.
///
/// ```
/// let lp = aloop::new_event_loop();
/// let h = lp.call_soon(|| println!("never printed")).unwrap();
/// h.cancel();
/// h.cancel(); // harmless
/// assert!(h.cancelled());
/// lp.call_soon({ let lp = lp.clone_ref(); move || lp.stop() }).unwrap();
/// lp.run_forever().unwrap();
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) callback: Rc<dyn Callback>,
}

impl Handle {
    /// Cancels the callback: it will not run. Cancelling twice, or after it ran, does
    /// nothing.
    pub fn cancel(&self) {
        self.callback.cancel();
    }

    /// Whether [`Handle::cancel`] was called.
    pub fn cancelled(&self) -> bool {
        self.callback.cancelled()
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("cancelled", &self.cancelled())
            .finish()
    }
}

/// What `call_later` / `call_at` return: a [`Handle`] with a deadline.
///
/// ```
/// use std::time::Duration;
/// let lp = aloop::new_event_loop();
/// let h = lp.call_later(Duration::from_secs(10), || println!("never printed")).unwrap();
/// assert!(h.when() >= lp.time() + Duration::from_secs(9));
/// h.cancel();
/// assert!(h.cancelled());
/// ```
#[derive(Clone)]
pub struct TimerHandle {
    pub(crate) handle: Handle,
    pub(crate) when: Instant,
    pub(crate) key: TimerKey,
    pub(crate) state: Weak<LoopState>,
}

impl TimerHandle {
    /// Cancels the timer: the callback will not run, and the timer leaves the wheel now
    /// (O(1)), so cancelled timers cost no memory.
    pub fn cancel(&self) {
        if self.handle.cancelled() {
            return;
        }
        self.handle.cancel();
        if let Some(state) = self.state.upgrade() {
            state.cancel_timer(self.key);
        }
    }

    /// Whether [`TimerHandle::cancel`] was called.
    pub fn cancelled(&self) -> bool {
        self.handle.cancelled()
    }

    /// The absolute time at which the callback is due (the loop's clock, `lp.time()`).
    pub fn when(&self) -> Instant {
        self.when
    }
}

impl fmt::Debug for TimerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerHandle")
            .field("when", &self.when)
            .field("cancelled", &self.cancelled())
            .finish()
    }
}
