//! [`LoopTimer`]: hyper's `rt::Timer` on the running loop's timer wheel, and
//! [`LoopSleep`], its sleep. Neighbours: `io.rs`, `executor.rs`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// hyper's timer (header-read timeouts, keep-alive idle timers) on the running aloop
/// loop: each sleep is an [`aloop::sleep`] in the loop's wheel, and
/// [`now`](hyper::rt::Timer::now) is the loop's clock ([`aloop::LoopRef::time`]), so
/// hyper's deadlines and aloop's agree.
///
/// hyper requires its sleeps to be `Send + Sync`; aloop's [`aloop::Sleep`] is both (it
/// names its loop by id instead of holding it), so no cross-thread timer is needed.
/// What aloop adds is where a sleep may be *polled*: on the loop it was made on (it
/// panics elsewhere), which is where hyper polls it, inside the connection's future.
///
/// # Panics
/// A sleep made by this timer panics when first polled outside a running aloop loop.
///
/// ```
/// use std::time::Duration;
/// use hyper::rt::Timer;
///
/// aloop::run(async {
///     let timer = aloop_hyper::LoopTimer;
///     let t0 = timer.now();
///     timer.sleep(Duration::from_millis(5)).await;
///     assert!(timer.now() - t0 >= Duration::from_millis(5));
/// });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct LoopTimer;

impl hyper::rt::Timer for LoopTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(LoopSleep {
            sleep: aloop::sleep(duration),
        })
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(LoopSleep {
            sleep: aloop::sleep_until(deadline),
        })
    }

    fn now(&self) -> Instant {
        // Outside a loop (a builder configured before `run`), the system clock, which
        // is what the loop's clock reads unless time is virtual.
        aloop::get_running_loop().map_or_else(|_| Instant::now(), |lp| lp.time())
    }
}

/// The sleep of [`LoopTimer`]: an [`aloop::Sleep`] with hyper's `Sleep` marker.
#[must_use = "a sleep does nothing unless awaited"]
pub struct LoopSleep {
    sleep: aloop::Sleep,
}

impl std::fmt::Debug for LoopSleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoopSleep")
            .field("deadline", &self.deadline())
            .finish()
    }
}

impl LoopSleep {
    /// When the sleep ends (`None` for a zero-length one).
    pub fn deadline(&self) -> Option<Instant> {
        self.sleep.deadline()
    }
}

impl Future for LoopSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        Pin::new(&mut self.get_mut().sleep).poll(cx)
    }
}

impl hyper::rt::Sleep for LoopSleep {}
