//! `Barrier`: asyncio's `Barrier`, a rendezvous for a fixed number of parties.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::sync::{lock, Mutex};
use crate::wait_hook::{waiting, WaitingOn};
use crate::waiters::{WaitList, WakeSet};

/// Error of [`Barrier::wait`]: the barrier was aborted or reset while waiting, or is
/// broken (asyncio's `BrokenBarrierError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BrokenBarrierError;

impl fmt::Display for BrokenBarrierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("barrier is broken (aborted or reset while waiting)")
    }
}

impl Error for BrokenBarrierError {}

/// What happened to a parked party.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Waiting,
    Passed,
    Broken,
}

struct Inner {
    /// Parties arrived in the current round.
    count: usize,
    broken: bool,
    waiters: WaitList<Outcome>,
}

/// A barrier for `parties` tasks, asyncio's `Barrier`.
///
/// [`wait`](Barrier::wait) blocks until `parties` tasks wait, then all of them return
/// their arrival index (`0..parties`); the last to arrive does not block at all, so it
/// returns first. The barrier then starts a new round at once (asyncio makes newcomers
/// wait until the whole round has left; with direct wake-ups there is nothing to drain).
/// A waiting party whose future is dropped leaves the round.
///
/// [`abort`](Barrier::abort) breaks the barrier: waiters and every later `wait` fail with
/// [`BrokenBarrierError`] until [`reset`](Barrier::reset), which fails the current
/// waiters and makes the barrier usable again.
///
/// ```
/// use aloop_sync::Barrier;
/// use futures_util::join;
/// futures_executor::block_on(async {
///     let barrier = Barrier::new(2);
///     let (a, b) = join!(barrier.wait(), barrier.wait());
///     assert_eq!((a, b), (Ok(0), Ok(1)));
/// });
/// ```
pub struct Barrier {
    parties: usize,
    inner: Mutex<Inner>,
}

impl Barrier {
    /// A barrier for `parties` tasks. asyncio rejects `parties < 1`; here 0 is treated
    /// as 1 (a barrier every `wait` passes at once), so construction cannot fail.
    pub fn new(parties: usize) -> Self {
        Barrier {
            parties: parties.max(1),
            inner: Mutex::new(Inner {
                count: 0,
                broken: false,
                waiters: WaitList::new(),
            }),
        }
    }

    /// Waits for all parties; resolves to this party's arrival index.
    pub fn wait(&self) -> BarrierWait<'_> {
        BarrierWait {
            barrier: self,
            state: WaitState::Idle,
        }
    }

    /// Number of parties needed to pass.
    pub fn parties(&self) -> usize {
        self.parties
    }

    /// Number of parties waiting in the current round.
    pub fn n_waiting(&self) -> usize {
        lock(&self.inner).count
    }

    /// Whether the barrier is broken.
    pub fn broken(&self) -> bool {
        lock(&self.inner).broken
    }

    /// Breaks the barrier: current and future waiters fail until [`reset`](Self::reset).
    pub fn abort(&self) {
        self.break_waiters(true);
    }

    /// Fails the current waiters with [`BrokenBarrierError`] and returns the barrier to
    /// its initial, unbroken state.
    pub fn reset(&self) {
        self.break_waiters(false);
    }

    fn break_waiters(&self, broken: bool) {
        let mut inner = lock(&self.inner);
        inner.broken = broken;
        inner.count = 0;
        let mut wake = WakeSet::default();
        inner
            .waiters
            .notify_all(|o| *o = Outcome::Broken, &mut wake);
        drop(inner);
        wake.wake();
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = lock(&self.inner);
        f.debug_struct("Barrier")
            .field("parties", &self.parties)
            .field("n_waiting", &inner.count)
            .field("broken", &inner.broken)
            .finish()
    }
}

enum WaitState {
    Idle,
    Waiting { key: usize, index: usize },
    Done,
}

/// Future returned by [`Barrier::wait`].
#[must_use = "futures do nothing unless polled"]
pub struct BarrierWait<'a> {
    barrier: &'a Barrier,
    state: WaitState,
}

impl Future for BarrierWait<'_> {
    type Output = Result<usize, BrokenBarrierError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let barrier = self.barrier;
        match self.state {
            WaitState::Idle => {
                let mut inner = lock(&barrier.inner);
                if inner.broken {
                    self.state = WaitState::Done;
                    return Poll::Ready(Err(BrokenBarrierError));
                }
                let index = inner.count;
                if index + 1 < barrier.parties {
                    inner.count += 1;
                    let key = inner
                        .waiters
                        .push_back(Some(cx.waker().clone()), Outcome::Waiting);
                    drop(inner);
                    self.state = WaitState::Waiting { key, index };
                    waiting(WaitingOn::Barrier, true);
                    return Poll::Pending;
                }
                inner.count = 0;
                let mut wake = WakeSet::default();
                inner
                    .waiters
                    .notify_all(|o| *o = Outcome::Passed, &mut wake);
                drop(inner);
                wake.wake();
                self.state = WaitState::Done;
                Poll::Ready(Ok(index))
            }
            WaitState::Waiting { key, index } => {
                let mut inner = lock(&barrier.inner);
                let result = match inner.waiters.node(key).data {
                    Outcome::Waiting => {
                        inner.waiters.update_waker(key, cx.waker());
                        drop(inner);
                        waiting(WaitingOn::Barrier, false);
                        return Poll::Pending;
                    }
                    Outcome::Passed => Ok(index),
                    Outcome::Broken => Err(BrokenBarrierError),
                };
                inner.waiters.remove(key);
                drop(inner);
                self.state = WaitState::Done;
                Poll::Ready(result)
            }
            WaitState::Done => Poll::Pending,
        }
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        if let WaitState::Waiting { key, .. } = self.state {
            let mut inner = lock(&self.barrier.inner);
            if inner.waiters.is_linked(key) {
                // Still waiting: leave the round, as a cancelled asyncio party does.
                inner.count -= 1;
            }
            inner.waiters.remove(key);
        }
    }
}

impl fmt::Debug for BarrierWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BarrierWait").finish_non_exhaustive()
    }
}
