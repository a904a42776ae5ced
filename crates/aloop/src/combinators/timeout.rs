//! `timeout` / `timeout_at` (asyncio 3.11's `asyncio.timeout`): run a future inline, in
//! the current task, and drop it at a deadline that can be moved while it runs; and
//! `TimeoutError`, the error every timed combinator returns.
//!
//! asyncio's `async with timeout(d) as cm: body` becomes `timeout(d, body).await`, and
//! `cm` is the [`Timeout`] handle ([`TimeoutFuture::handle`], or [`Timeout::wrap`] when
//! the body needs the handle itself, e.g. to `reschedule`).

use std::cell::{Cell, OnceCell, RefCell};
use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use pin_project_lite::pin_project;

use super::deadline_after;
use crate::sleep::{deadline, Sleep};

/// The deadline passed before the operation finished (asyncio's builtin `TimeoutError`).
///
/// ```
/// use std::time::Duration;
/// aloop::run(async {
///     let err = aloop::timeout(Duration::ZERO, aloop::sleep(Duration::from_secs(1))).await;
///     assert_eq!(err, Err(aloop::TimeoutError));
///     assert_eq!(aloop::TimeoutError.to_string(), "the operation timed out");
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TimeoutError;

impl fmt::Display for TimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the operation timed out")
    }
}

impl std::error::Error for TimeoutError {}

struct State {
    when: Cell<Option<Instant>>,
    expired: Cell<bool>,
    finished: Cell<bool>,
    /// The waker of the task running the body, so a `reschedule` from elsewhere re-arms
    /// the timer.
    waker: RefCell<Option<Waker>>,
}

/// A deadline for a block of code (asyncio's `Timeout` object): what
/// [`TimeoutFuture::handle`] returns, or made first and applied with [`Timeout::wrap`].
/// Clones share the deadline.
///
/// ```
/// use std::time::{Duration, Instant};
/// aloop::run(async {
///     let cm = aloop::Timeout::new(None); // asyncio.timeout(None)
///     let inside = cm.clone();
///     let out = cm
///         .wrap(async move {
///             assert_eq!(inside.when(), None);
///             inside.reschedule(Some(Instant::now() + Duration::from_millis(5)));
///             aloop::sleep(Duration::from_secs(10)).await;
///         })
///         .await;
///     assert_eq!(out, Err(aloop::TimeoutError));
///     assert!(cm.expired());
/// });
/// ```
#[derive(Clone)]
pub struct Timeout {
    state: Rc<State>,
}

impl Timeout {
    /// A timeout at `when` (`None`: never, until rescheduled), asyncio's `Timeout(when)`.
    pub fn new(when: Option<Instant>) -> Timeout {
        Timeout {
            state: Rc::new(State {
                when: Cell::new(when),
                expired: Cell::new(false),
                finished: Cell::new(false),
                waker: RefCell::new(None),
            }),
        }
    }

    /// A timeout `delay` from now (`None`: never). A delay too large for `Instant` is no
    /// deadline.
    ///
    /// ```
    /// use std::time::Duration;
    /// assert!(aloop::Timeout::after(Some(Duration::from_secs(1))).when().is_some());
    /// assert!(aloop::Timeout::after(Some(Duration::MAX)).when().is_none());
    /// ```
    pub fn after(delay: Option<Duration>) -> Timeout {
        Timeout::new(delay.and_then(deadline_after))
    }

    /// The current deadline (`None`: none).
    pub fn when(&self) -> Option<Instant> {
        self.state.when.get()
    }

    /// Moves the deadline (`None` removes it), also while the block runs, from inside it
    /// or from another task. A deadline already past expires the block at its next
    /// suspension. Returns `false`, changing nothing, once the block has finished
    /// (asyncio raises `RuntimeError` there).
    pub fn reschedule(&self, when: Option<Instant>) -> bool {
        if self.state.finished.get() {
            return false;
        }
        self.state.when.set(when);
        let waker = self.state.waker.borrow_mut().take();
        if let Some(waker) = waker {
            waker.wake();
        }
        true
    }

    /// Whether the deadline passed and the block was dropped (asyncio's `expired()`).
    pub fn expired(&self) -> bool {
        self.state.expired.get()
    }

    /// Runs `future` under this deadline (asyncio's `async with cm:`).
    pub fn wrap<F: IntoFuture>(&self, future: F) -> TimeoutFuture<F::IntoFuture> {
        TimeoutFuture {
            future: Some(future.into_future()),
            when: None,
            shared: OnceCell::from(self.clone()),
            sleep: None,
            started: false,
            expired: false,
        }
    }
}

impl fmt::Debug for Timeout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout")
            .field("when", &self.when())
            .field("expired", &self.expired())
            .finish()
    }
}

pin_project! {
    /// The future returned by [`timeout`], [`timeout_at`] and [`Timeout::wrap`]: the
    /// block's output, or [`TimeoutError`] if the deadline passed first.
    ///
    /// # Panics
    /// When polled with a deadline outside a running aloop loop, as [`sleep`](crate::sleep).
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// aloop::run(async {
    ///     let t = aloop::timeout(Duration::from_secs(60), aloop::sleep(Duration::from_secs(10)));
    ///     t.handle().reschedule(Some(Instant::now())); // bring the deadline forward
    ///     assert_eq!(t.await, Err(aloop::TimeoutError));
    /// });
    /// ```
    #[must_use = "a timeout does nothing unless awaited"]
    pub struct TimeoutFuture<F> {
        #[pin]
        future: Option<F>,
        // The deadline, while no handle exists.
        when: Option<Instant>,
        // The state a handle shares, once one exists (`Timeout::wrap`, or `handle()`,
        // which moves `when` into it). Until then nothing outside can look at the
        // deadline or move it, and `timeout(d, body)` allocates nothing for it.
        shared: OnceCell<Timeout>,
        sleep: Option<Sleep>,
        started: bool,
        expired: bool,
    }

    impl<F> PinnedDrop for TimeoutFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            // Without a handle no one can look at `expired` or `finished`.
            let Some(timeout) = this.shared.get() else {
                return;
            };
            let state = &timeout.state;
            // A block dropped unfinished once its deadline has passed (an enclosing
            // timeout with the same deadline got there first, or the task was
            // cancelled) expired too, as asyncio's timer fired for it as well. Only
            // with a running loop: its clock (virtual or not) is the one to compare.
            // (The clock is read only for a block dropped unfinished.)
            if *this.started
                && this.future.is_some()
                && crate::running::is_loop_running()
                && state
                    .when
                    .get()
                    .is_some_and(|w| crate::running::loop_now() >= w)
            {
                state.expired.set(true);
            }
            state.finished.set(true);
        }
    }
}

impl<F> TimeoutFuture<F> {
    /// `future` under a deadline no handle shares yet.
    fn unshared(when: Option<Instant>, future: F) -> TimeoutFuture<F> {
        TimeoutFuture {
            future: Some(future),
            when,
            shared: OnceCell::new(),
            sleep: None,
            started: false,
            expired: false,
        }
    }

    /// The deadline's handle (asyncio's `cm`), to look at it or `reschedule` it.
    ///
    /// The first call moves the deadline into state the future and its handles share
    /// (one allocation); a timeout nobody asks a handle of allocates nothing for it.
    pub fn handle(&self) -> Timeout {
        self.shared
            .get_or_init(|| {
                let timeout = Timeout::new(self.when);
                timeout.state.expired.set(self.expired);
                timeout.state.finished.set(self.future.is_none());
                // Taken while the block waits: the waker its timer holds (its task's),
                // so a `reschedule` before the next poll still reaches the task.
                *timeout.state.waker.borrow_mut() =
                    self.sleep.as_ref().and_then(Sleep::armed_waker);
                timeout
            })
            .clone()
    }

    /// The deadline as it is now (a handle may have moved it).
    fn when(&self) -> Option<Instant> {
        match self.shared.get() {
            Some(timeout) => timeout.when(),
            None => self.when,
        }
    }
}

/// Runs `future` in the current task, dropping it if it has not finished `delay` from
/// now (asyncio 3.11's `async with asyncio.timeout(delay)`). `delay` is a `Duration` or
/// `None` (no deadline until [`Timeout::reschedule`]).
///
/// As in asyncio, the expiry reaches the block at a suspension point: the first poll
/// always runs it, so a block that finishes without suspending is never timed out. At
/// the deadline the block is dropped (its destructors are its `except CancelledError`
/// cleanup) and `Err(TimeoutError)` returned; [`Timeout::expired`] is then `true`.
/// Unlike asyncio, the current task is not cancelled to get there, so nothing needs
/// `uncancel`, nested timeouts are independent, and a block cannot swallow the expiry
/// (D20 cannot happen).
///
/// ```
/// use std::time::Duration;
/// aloop::run(async {
///     let t = aloop::timeout(Duration::from_millis(5), aloop::sleep(Duration::from_secs(10)));
///     let cm = t.handle();
///     assert_eq!(t.await, Err(aloop::TimeoutError));
///     assert!(cm.expired());
///     assert_eq!(aloop::timeout(None, async { 7 }).await, Ok(7));
/// });
/// ```
pub fn timeout<F: IntoFuture>(
    delay: impl Into<Option<Duration>>,
    future: F,
) -> TimeoutFuture<F::IntoFuture> {
    TimeoutFuture::unshared(delay.into().and_then(deadline_after), future.into_future())
}

/// [`timeout`] with an absolute deadline on the loop's clock (asyncio's `timeout_at`).
///
/// ```
/// use std::time::{Duration, Instant};
/// aloop::run(async {
///     let t = aloop::timeout_at(Instant::now() + Duration::from_secs(1), aloop::sleep(Duration::ZERO));
///     let cm = t.handle();
///     assert_eq!(t.await, Ok(()));
///     assert!(!cm.expired());
/// });
/// ```
pub fn timeout_at<F: IntoFuture>(
    when: impl Into<Option<Instant>>,
    future: F,
) -> TimeoutFuture<F::IntoFuture> {
    TimeoutFuture::unshared(when.into(), future.into_future())
}

impl<F: Future> Future for TimeoutFuture<F> {
    type Output = Result<F::Output, TimeoutError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let shared = this.shared.get().map(|timeout| &*timeout.state);
        let when_now = |when: &Option<Instant>| shared.map_or(*when, |state| state.when.get());
        assert!(
            this.future.is_some(),
            "aloop: a timeout was polled after it returned"
        );
        // After the first poll the block only resumes while its deadline's timer has not
        // fired: asyncio's timer callback cancels the task, and until that callback has
        // run the task resumes. The armed sleep answers that without reading the clock;
        // a deadline rescheduled since it was armed is compared with the clock.
        let expire_now = *this.started
            && match (when_now(this.when), this.sleep.as_ref()) {
                (None, _) => false,
                (Some(when), Some(sleep)) if sleep.deadline() == Some(when) => sleep.has_fired(),
                (Some(when), _) => crate::running::loop_now() >= when,
            };
        if !expire_now {
            *this.started = true;
            let polled = match this.future.as_mut().as_pin_mut() {
                Some(future) => future.poll(cx),
                None => Poll::Pending,
            };
            if let Poll::Ready(output) = polled {
                this.future.set(None);
                *this.sleep = None;
                if let Some(state) = shared {
                    state.finished.set(true);
                }
                return Poll::Ready(Ok(output));
            }
        }
        // The block may have rescheduled: arm the timer for the deadline as it is now. A
        // deadline already past fires on the next iteration, as asyncio's
        // `call_soon(_on_timeout)` for it does.
        let when = when_now(this.when);
        let mut expired = expire_now;
        if !expired {
            match when {
                None => *this.sleep = None,
                Some(when) => {
                    if this.sleep.as_ref().and_then(Sleep::deadline) != Some(when) {
                        *this.sleep = Some(deadline(when));
                    }
                    if let Some(sleep) = this.sleep.as_mut() {
                        expired = Pin::new(sleep).poll(cx).is_ready();
                    }
                }
            }
        }
        if expired {
            // Dropping the block is its cancellation; its destructors run here, in the task.
            this.future.set(None);
            *this.sleep = None;
            *this.expired = true;
            if let Some(state) = shared {
                state.expired.set(true);
                state.finished.set(true);
                state.waker.borrow_mut().take();
            }
            return Poll::Ready(Err(TimeoutError));
        }
        // Only a `Timeout` handle held elsewhere (`handle()`, `wrap`) can reschedule and
        // needs the waker; a bare `timeout(d, body)` keeps none. A block with no
        // deadline has no timer for a later `handle()` to take the waker from, so it
        // shares its state (and keeps the waker) from its first wait.
        let keeps_waker = match when {
            None => Some(this.shared.get_or_init(|| Timeout::new(None))),
            Some(_) => this
                .shared
                .get()
                .filter(|timeout| Rc::strong_count(&timeout.state) > 1),
        };
        if let Some(timeout) = keeps_waker {
            let mut waker = timeout.state.waker.borrow_mut();
            if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *waker = Some(cx.waker().clone());
            }
        }
        Poll::Pending
    }
}

impl<F> fmt::Debug for TimeoutFuture<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimeoutFuture")
            .field("when", &self.when())
            .field("expired", &self.expired)
            .finish()
    }
}
