//! `sleep` and `sleep_until`: a timer in the loop's wheel that wakes the sleeping task.
//!
//! A sleep stores the task's waker in the wheel itself, so sleeping costs no allocation
//! beyond the wheel's slab; dropping the future (e.g. on cancellation) removes the timer.
//! It names its loop by id rather than holding it, so `Sleep` is `Send` and may sit in a
//! future handed to `LoopHandle::spawn`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use aloop_timer::TimerKey;

use crate::loop_state::TimerEntry;
use crate::running::{running_state, with_loop};
use crate::task::note_sleep;

enum State {
    /// Not polled yet.
    Idle,
    /// `sleep(ZERO)`: yielded once, ready on the next poll.
    Yielded,
    /// Waiting for the timer.
    Armed {
        loop_id: usize,
        key: TimerKey,
    },
    Done,
}

/// The future returned by [`sleep`] and [`sleep_until`].
#[must_use = "a sleep does nothing unless awaited"]
pub struct Sleep {
    deadline: Option<Instant>,
    start: Start,
    state: State,
}

/// How a sleep's deadline was set, and whether it tells task dumps about itself.
#[derive(Clone, Copy)]
enum Start {
    /// At creation.
    Made,
    /// Made outside a running loop: the delay, counted from the first poll.
    FirstPoll(Duration),
    /// A combinator's deadline (`deadline`): the task waits on what the combinator
    /// runs, not on this timer, so the sleep tells task dumps nothing.
    Quiet,
}

/// Suspends the current task for `delay` (asyncio's `asyncio.sleep`).
///
/// `sleep(Duration::ZERO)` yields to the loop exactly once: the task goes to the back of
/// the ready queue, so other ready tasks and callbacks run first.
///
/// # Panics
/// When first polled outside a running aloop event loop (as tokio's timers do outside a
/// tokio runtime): the timer has no wheel to live in.
///
/// ```
/// use std::time::Duration;
/// let lp = aloop::new_event_loop();
/// let t0 = lp.time();
/// lp.run_until_complete(aloop::sleep(Duration::from_millis(5))).unwrap();
/// assert!(lp.time() - t0 >= Duration::from_millis(5));
/// ```
pub fn sleep(delay: Duration) -> Sleep {
    if delay.is_zero() {
        return Sleep {
            deadline: None,
            start: Start::Made,
            state: State::Idle,
        };
    }
    // Made inside a running loop: from its clock now (virtual or real). Made outside
    // one (to be given to `run_until_complete`): counted from the first poll, on the
    // clock of the loop that polls it, as asyncio's `sleep` starts counting when the
    // coroutine first runs.
    let from_first_poll = !crate::running::is_loop_running();
    Sleep {
        deadline: Some(crate::running::loop_now() + delay),
        start: match from_first_poll {
            true => Start::FirstPoll(delay),
            false => Start::Made,
        },
        state: State::Idle,
    }
}

/// Suspends the current task until `deadline` (the loop's clock is `Instant`).
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        deadline: Some(deadline),
        start: Start::Made,
        state: State::Idle,
    }
}

/// A combinator's timer (`timeout`, `wait_for`, `wait`, `as_completed`): `sleep_until`
/// that task dumps do not see, since the task waits on the work, not on the timer.
pub(crate) fn deadline(when: Instant) -> Sleep {
    let mut sleep = sleep_until(when);
    sleep.start = Start::Quiet;
    sleep
}

impl Sleep {
    /// When the sleep ends (`None` for a zero-length sleep).
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Whether the timer of a sleep already polled once has fired (its wheel entry is
    /// gone), without re-arming anything: `timeout` asks this instead of reading the
    /// clock when its body is about to resume.
    pub(crate) fn has_fired(&self) -> bool {
        match self.state {
            State::Armed { loop_id, key } => {
                with_loop(loop_id, |state| !state.has_timer(key)).unwrap_or(false)
            }
            State::Done => true,
            State::Idle | State::Yielded => false,
        }
    }

    /// The waker the armed timer of this sleep will wake (the one of its last poll),
    /// if it is armed on the loop running this thread.
    pub(crate) fn armed_waker(&self) -> Option<Waker> {
        match self.state {
            State::Armed { loop_id, key } => {
                with_loop(loop_id, |state| state.timer_waker(key)).flatten()
            }
            _ => None,
        }
    }

    /// The first poll of a sleep with a deadline: its timer goes into the wheel. Out of
    /// line, so that the polls that run most (a yield's, an armed sleep's again) do
    /// not pay for this one's registers.
    #[inline(never)]
    fn arm(&mut self, deadline: Instant, cx: &mut Context<'_>) {
        let state = running_state()
            .expect("aloop::sleep must be awaited inside a running aloop event loop");
        let deadline = match self.start {
            Start::FirstPoll(delay) => {
                let deadline = state.now() + delay;
                self.deadline = Some(deadline);
                self.start = Start::Made;
                deadline
            }
            Start::Made | Start::Quiet => deadline,
        };
        let key = state.insert_timer(deadline, TimerEntry::Waker(cx.waker().clone()));
        self.state = State::Armed {
            loop_id: state.id(),
            key,
        };
        if !matches!(self.start, Start::Quiet) {
            note_sleep(true, deadline);
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        match &this.state {
            State::Idle => {
                let Some(deadline) = this.deadline else {
                    this.state = State::Yielded;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                };
                this.arm(deadline, cx);
                Poll::Pending
            }
            State::Yielded | State::Done => {
                this.state = State::Done;
                Poll::Ready(())
            }
            State::Armed { loop_id, key } => {
                let (loop_id, key) = (*loop_id, *key);
                // Polled again before the deadline (e.g. inside a select, or a
                // `timeout` whose body is still running): the wheel must wake the waker
                // of this poll. Swapped in place, not re-armed: asyncio's timer handle
                // keeps its place too.
                let armed = with_loop(loop_id, |state| state.rewake_timer(key, cx.waker()))
                    .expect("aloop::sleep polled outside the event loop it started on");
                if !armed {
                    this.state = State::Done;
                    return Poll::Ready(());
                }
                if !matches!(this.start, Start::Quiet) {
                    if let Some(deadline) = this.deadline {
                        note_sleep(false, deadline);
                    }
                }
                Poll::Pending
            }
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let State::Armed { loop_id, key } = self.state {
            // Off the loop's thread, or after it stopped, the entry stays until it fires
            // or the loop closes; waking a finished task then does nothing.
            with_loop(loop_id, |state| state.cancel_timer(key));
        }
    }
}
