//! The permit counter behind `Lock`, `Semaphore` and `BoundedSemaphore`.
//!
//! One atomic word holds `permits << 1 | WAITERS`. While nobody waits, acquiring and
//! releasing are a single compare-and-swap each, with no mutex and no allocation. The
//! `WAITERS` bit is only ever changed under the waiter-list mutex and is set exactly when
//! the list is non-empty; whenever it is set the permit count is zero, because a release
//! that finds waiters hands its permit straight to the first one instead of adding it to
//! the count. That hand-off is what makes the primitives strictly FIFO with no barging:
//! a newcomer sees no free permit (and `WAITERS` set) and queues behind the others.
//!
//! A waiter dropped after being handed a permit passes it on to the next waiter (or back
//! to the count), so cancellation never strands a permit.

use std::task::{Context, Poll, Waker};

use crate::sync::{lock, AtomicUsize, Mutex, MutexGuard, Ordering};
use crate::wait_hook::{waiting, WaitingOn};
use crate::waiters::WaitList;

/// Set while the waiter list is non-empty.
const WAITERS: usize = 1;
/// One permit in the state word.
const ONE: usize = 2;
/// Largest permit count the state word can hold.
pub(crate) const MAX_PERMITS: usize = usize::MAX >> 2;

/// Why a release added no permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReleaseError {
    /// The count already equals the semaphore's bound.
    AboveBound,
}

/// Counter plus FIFO waiter list; node data is "a permit was handed to me".
pub(crate) struct RawSemaphore {
    state: AtomicUsize,
    bound: usize,
    waiters: Mutex<WaitList<bool>>,
}

impl RawSemaphore {
    /// `permits` free permits (clamped to [`MAX_PERMITS`]); releases past `bound` fail.
    pub(crate) fn new(permits: usize, bound: usize) -> Self {
        RawSemaphore {
            state: AtomicUsize::new(permits.min(MAX_PERMITS) * ONE),
            bound: bound.min(MAX_PERMITS),
            waiters: Mutex::new(WaitList::new()),
        }
    }

    /// Free permits right now.
    pub(crate) fn available(&self) -> usize {
        self.state.load(Ordering::Acquire) / ONE
    }

    /// Whether an acquire would have to wait (no permit, or others already queued).
    pub(crate) fn would_block(&self) -> bool {
        let s = self.state.load(Ordering::Acquire);
        s & WAITERS != 0 || s < ONE
    }

    /// Lock fast path: exactly one CAS from "one free permit, nobody waiting".
    ///
    /// Only valid for a semaphore of at most one permit, where that is the only state
    /// in which an acquire can succeed.
    #[inline]
    pub(crate) fn try_acquire_single(&self) -> bool {
        self.state
            .compare_exchange(ONE, 0, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Takes a permit if one is free and nobody is queued (no barging).
    #[inline]
    pub(crate) fn try_acquire(&self) -> bool {
        if self.bound == 1 {
            // At most one permit: skip the load, guess the only acquirable state.
            return self.try_acquire_single();
        }
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            if s & WAITERS != 0 || s < ONE {
                return false;
            }
            match self
                .state
                .compare_exchange_weak(s, s - ONE, Ordering::Acquire, Ordering::Relaxed)
            {
                Ok(_) => return true,
                Err(actual) => s = actual,
            }
        }
    }

    /// Lock fast path for release: exactly one CAS from "held, nobody waiting".
    #[inline]
    pub(crate) fn release_single(&self) {
        if self
            .state
            .compare_exchange(0, ONE, Ordering::Release, Ordering::Relaxed)
            .is_err()
        {
            // Only a lock guard calls this, so the lock is held and the bound (1) is not
            // reached: the release cannot fail.
            let _ = self.release();
        }
    }

    /// Returns one permit: to the first waiter if any, else to the count.
    pub(crate) fn release(&self) -> Result<(), ReleaseError> {
        let mut s = self.state.load(Ordering::Relaxed);
        while s & WAITERS == 0 {
            let permits = s / ONE;
            if permits >= self.bound {
                return Err(ReleaseError::AboveBound);
            }
            if permits >= MAX_PERMITS {
                // Saturate rather than overflow into the WAITERS bit.
                return Ok(());
            }
            match self
                .state
                .compare_exchange_weak(s, s + ONE, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(actual) => s = actual,
            }
        }
        let mut list = lock(&self.waiters);
        let waker = self.release_locked(&mut list)?;
        drop(list);
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }

    /// Release with the waiter list already locked; returns the waker to call.
    fn release_locked(
        &self,
        list: &mut MutexGuard<'_, WaitList<bool>>,
    ) -> Result<Option<Waker>, ReleaseError> {
        if self.bound == 0 {
            // No count is below a zero bound; checked first so nobody is woken.
            return Err(ReleaseError::AboveBound);
        }
        if let Some(waker) = list.notify_front(|granted| *granted = true) {
            if list.is_empty() {
                self.state.fetch_and(!WAITERS, Ordering::Release);
            }
            return Ok(waker);
        }
        let mut s = self.state.load(Ordering::Relaxed);
        loop {
            let permits = s / ONE;
            if permits >= self.bound {
                return Err(ReleaseError::AboveBound);
            }
            let new = (s & !WAITERS) + if permits >= MAX_PERMITS { 0 } else { ONE };
            match self
                .state
                .compare_exchange_weak(s, new, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => return Ok(None),
                Err(actual) => s = actual,
            }
        }
    }
}

/// Where an acquire stands.
#[derive(Debug)]
enum AcqState {
    /// Not polled yet.
    Idle,
    /// Queued under this key.
    Waiting(usize),
    /// The permit was returned to the caller; the future is spent.
    Done,
}

/// Something that leads to a `RawSemaphore`: a borrow, or an `Arc` of its owner for the
/// owned (`'static`) acquire futures.
pub(crate) trait SemHandle {
    fn sem(&self) -> &RawSemaphore;
}

impl SemHandle for &RawSemaphore {
    fn sem(&self) -> &RawSemaphore {
        self
    }
}

/// The acquire state machine shared by the lock and semaphore futures.
pub(crate) struct RawAcquire<H: SemHandle> {
    handle: H,
    state: AcqState,
}

impl<H: SemHandle> RawAcquire<H> {
    pub(crate) fn new(handle: H) -> Self {
        RawAcquire {
            handle,
            state: AcqState::Idle,
        }
    }

    /// The handle this future acquires through.
    pub(crate) fn handle(&self) -> &H {
        &self.handle
    }

    /// Polls for one permit. After `Ready` the caller owns the permit; a spent future
    /// stays `Pending` rather than hand out a second permit. `on` is what a wait is
    /// reported as (`wait_hook.rs`): the lock or the semaphore built on this.
    pub(crate) fn poll_acquire(&mut self, cx: &mut Context<'_>, on: WaitingOn) -> Poll<()> {
        let sem = self.handle.sem();
        match self.state {
            AcqState::Idle => {
                if sem.try_acquire() {
                    self.state = AcqState::Done;
                    return Poll::Ready(());
                }
                let mut list = lock(&sem.waiters);
                let mut s = sem.state.load(Ordering::Relaxed);
                // Under the mutex nobody else can touch WAITERS: either grab a permit
                // that appeared meanwhile or announce ourselves and queue.
                while s & WAITERS == 0 {
                    let (new, ordering) = if s >= ONE {
                        (s - ONE, Ordering::Acquire)
                    } else {
                        (s | WAITERS, Ordering::Relaxed)
                    };
                    match sem
                        .state
                        .compare_exchange_weak(s, new, ordering, Ordering::Relaxed)
                    {
                        Ok(_) if s >= ONE => {
                            self.state = AcqState::Done;
                            return Poll::Ready(());
                        }
                        Ok(_) => break,
                        Err(actual) => s = actual,
                    }
                }
                let key = list.push_back(Some(cx.waker().clone()), false);
                drop(list);
                self.state = AcqState::Waiting(key);
                waiting(on, true);
                Poll::Pending
            }
            AcqState::Waiting(key) => {
                let mut list = lock(&sem.waiters);
                if list.node(key).data {
                    list.remove(key);
                    self.state = AcqState::Done;
                    Poll::Ready(())
                } else {
                    list.update_waker(key, cx.waker());
                    drop(list);
                    waiting(on, false);
                    Poll::Pending
                }
            }
            AcqState::Done => Poll::Pending,
        }
    }
}

impl<H: SemHandle> Drop for RawAcquire<H> {
    fn drop(&mut self) {
        let AcqState::Waiting(key) = self.state else {
            return;
        };
        let sem = self.handle.sem();
        let mut list = lock(&sem.waiters);
        let waker = if list.remove(key) {
            // We were handed a permit we will never use: pass it on. It was granted by
            // a successful release, so the bound cannot refuse it back.
            sem.release_locked(&mut list).ok().flatten()
        } else {
            if list.is_empty() {
                sem.state.fetch_and(!WAITERS, Ordering::Relaxed);
            }
            None
        };
        drop(list);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl std::fmt::Debug for RawSemaphore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.state.load(Ordering::Relaxed);
        f.debug_struct("RawSemaphore")
            .field("permits", &(s / ONE))
            .field("waiters", &(s & WAITERS != 0))
            .finish()
    }
}
