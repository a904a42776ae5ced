//! `Semaphore` and `BoundedSemaphore`: asyncio's counting semaphores, FIFO-fair.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::raw_semaphore::{RawAcquire, RawSemaphore, SemHandle, MAX_PERMITS};
use crate::wait_hook::WaitingOn;

/// Error of [`BoundedSemaphore::release`]: the release would raise the count above the
/// initial value (asyncio's `ValueError`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoundedReleaseError;

impl fmt::Display for BoundedReleaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BoundedSemaphore released too many times")
    }
}

impl Error for BoundedReleaseError {}

/// An async counting semaphore, asyncio's `Semaphore`.
///
/// [`acquire`](Semaphore::acquire) waits for a permit and returns a
/// [`SemaphorePermit`] that gives it back when dropped; asyncio's explicit
/// `acquire()`/`release()` pairs are [`SemaphorePermit::forget`] plus
/// [`release`](Semaphore::release). As in asyncio, `release` may raise the count above
/// the initial value. The initial value is a `usize`, so asyncio's "negative initial
/// value" error cannot happen; counts saturate at `usize::MAX >> 2`.
///
/// Waiters are served strictly FIFO: a released permit is handed directly to the first
/// waiter, and a newcomer never takes a permit while others wait. Dropping a waiting
/// [`SemaphoreAcquire`] leaves the line, passing on a permit it had just been handed.
/// The uncontended paths are one atomic compare-and-swap.
///
/// ```
/// use aloop_sync::Semaphore;
/// futures_executor::block_on(async {
///     let sem = Semaphore::new(2);
///     let a = sem.acquire().await;
///     let b = sem.acquire().await;
///     assert!(sem.locked() && sem.try_acquire().is_none());
///     drop(a);
///     assert_eq!(sem.value(), 1);
///     b.forget(); // keep it acquired; give it back by hand
///     sem.release();
///     assert_eq!(sem.value(), 2);
/// });
/// ```
pub struct Semaphore {
    raw: RawSemaphore,
}

impl Semaphore {
    /// A semaphore with `value` permits.
    pub fn new(value: usize) -> Self {
        Semaphore {
            raw: RawSemaphore::new(value, MAX_PERMITS),
        }
    }

    /// Waits for a permit.
    pub fn acquire(&self) -> SemaphoreAcquire<'_> {
        SemaphoreAcquire::new(&self.raw, false)
    }

    /// Takes a permit if one is free and nobody is waiting.
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        // `then`, not `then_some`: an eagerly built permit would release on drop.
        self.raw.try_acquire().then(|| SemaphorePermit {
            raw: &self.raw,
            bounded: false,
        })
    }

    /// Like [`acquire`](Semaphore::acquire), through an `Arc`: the future and the permit
    /// are `'static`.
    pub fn acquire_owned(self: &Arc<Self>) -> OwnedSemaphoreAcquire {
        OwnedSemaphoreAcquire::new(SemOwner::Plain(self.clone()))
    }

    /// Like [`try_acquire`](Semaphore::try_acquire), returning an owned permit.
    pub fn try_acquire_owned(self: &Arc<Self>) -> Option<OwnedSemaphorePermit> {
        self.raw
            .try_acquire()
            .then(|| OwnedSemaphorePermit::new(SemOwner::Plain(self.clone())))
    }

    /// Adds a permit, waking the first waiter if any (it may exceed the initial value).
    pub fn release(&self) {
        // Unbounded: the only refusal is impossible, and a saturated count stays put.
        let _ = self.raw.release();
    }

    /// Whether an acquire would wait.
    pub fn locked(&self) -> bool {
        self.raw.would_block()
    }

    /// Free permits.
    pub fn value(&self) -> usize {
        self.raw.available()
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Semaphore")
            .field("value", &self.value())
            .field("locked", &self.locked())
            .finish()
    }
}

/// A semaphore whose count may never exceed its initial value, asyncio's
/// `BoundedSemaphore`.
///
/// Same fairness and cancellation rules as [`Semaphore`];
/// [`release`](BoundedSemaphore::release) past the initial value is a
/// [`BoundedReleaseError`] and changes nothing.
///
/// ```
/// use aloop_sync::BoundedSemaphore;
/// let sem = BoundedSemaphore::new(1);
/// let permit = sem.try_acquire().unwrap();
/// permit.forget();
/// assert!(sem.release().is_ok());
/// assert!(sem.release().is_err());
/// ```
pub struct BoundedSemaphore {
    raw: RawSemaphore,
}

impl BoundedSemaphore {
    /// A bounded semaphore with `value` permits, which is also its bound.
    pub fn new(value: usize) -> Self {
        BoundedSemaphore {
            raw: RawSemaphore::new(value, value),
        }
    }

    /// Waits for a permit.
    pub fn acquire(&self) -> SemaphoreAcquire<'_> {
        SemaphoreAcquire::new(&self.raw, true)
    }

    /// Takes a permit if one is free and nobody is waiting.
    pub fn try_acquire(&self) -> Option<SemaphorePermit<'_>> {
        // `then`, not `then_some`: an eagerly built permit would release on drop.
        self.raw.try_acquire().then(|| SemaphorePermit {
            raw: &self.raw,
            bounded: true,
        })
    }

    /// Like [`acquire`](BoundedSemaphore::acquire), through an `Arc`: the future and the
    /// permit are `'static`.
    pub fn acquire_owned(self: &Arc<Self>) -> OwnedSemaphoreAcquire {
        OwnedSemaphoreAcquire::new(SemOwner::Bounded(self.clone()))
    }

    /// Like [`try_acquire`](BoundedSemaphore::try_acquire), returning an owned permit.
    pub fn try_acquire_owned(self: &Arc<Self>) -> Option<OwnedSemaphorePermit> {
        self.raw
            .try_acquire()
            .then(|| OwnedSemaphorePermit::new(SemOwner::Bounded(self.clone())))
    }

    /// Returns a permit; fails if the count is already at the initial value.
    pub fn release(&self) -> Result<(), BoundedReleaseError> {
        self.raw.release().map_err(|_| BoundedReleaseError)
    }

    /// Whether an acquire would wait.
    pub fn locked(&self) -> bool {
        self.raw.would_block()
    }

    /// Free permits.
    pub fn value(&self) -> usize {
        self.raw.available()
    }
}

impl fmt::Debug for BoundedSemaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BoundedSemaphore")
            .field("value", &self.value())
            .field("locked", &self.locked())
            .finish()
    }
}

/// A held permit of a [`Semaphore`] or [`BoundedSemaphore`]; released when dropped.
#[must_use = "the permit is released as soon as it is dropped"]
pub struct SemaphorePermit<'a> {
    raw: &'a RawSemaphore,
    bounded: bool,
}

impl SemaphorePermit<'_> {
    /// Keeps the permit acquired without a guard (asyncio-style manual `release`).
    pub fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for SemaphorePermit<'_> {
    fn drop(&mut self) {
        // A bounded semaphore can only refuse here if the user over-released by hand
        // while holding this permit; the surplus permit is then simply not added.
        let _ = self.raw.release();
    }
}

impl fmt::Debug for SemaphorePermit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit")
            .field("bounded", &self.bounded)
            .finish()
    }
}

/// Future returned by `acquire` on either semaphore; resolves to a [`SemaphorePermit`].
#[must_use = "futures do nothing unless polled"]
pub struct SemaphoreAcquire<'a> {
    raw: RawAcquire<&'a RawSemaphore>,
    sem: &'a RawSemaphore,
    bounded: bool,
}

impl<'a> SemaphoreAcquire<'a> {
    fn new(sem: &'a RawSemaphore, bounded: bool) -> Self {
        SemaphoreAcquire {
            raw: RawAcquire::new(sem),
            sem,
            bounded,
        }
    }
}

impl<'a> Future for SemaphoreAcquire<'a> {
    type Output = SemaphorePermit<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<SemaphorePermit<'a>> {
        let (raw, bounded) = (self.sem, self.bounded);
        self.raw
            .poll_acquire(cx, WaitingOn::Semaphore)
            .map(|()| SemaphorePermit { raw, bounded })
    }
}

impl fmt::Debug for SemaphoreAcquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphoreAcquire").finish_non_exhaustive()
    }
}

/// Owner of a semaphore for the owned permit and future.
#[derive(Clone)]
enum SemOwner {
    Plain(Arc<Semaphore>),
    Bounded(Arc<BoundedSemaphore>),
}

impl SemHandle for SemOwner {
    fn sem(&self) -> &RawSemaphore {
        match self {
            SemOwner::Plain(s) => &s.raw,
            SemOwner::Bounded(s) => &s.raw,
        }
    }
}

/// Owned form of [`SemaphorePermit`], from `acquire_owned`; released when dropped.
#[must_use = "the permit is released as soon as it is dropped"]
pub struct OwnedSemaphorePermit {
    owner: SemOwner,
    /// Cleared by `forget`: the permit stays out, only the `Arc` is dropped.
    release: bool,
}

impl OwnedSemaphorePermit {
    fn new(owner: SemOwner) -> Self {
        OwnedSemaphorePermit {
            owner,
            release: true,
        }
    }

    /// Keeps the permit acquired without a guard (asyncio-style manual `release`).
    pub fn forget(mut self) {
        self.release = false;
    }
}

impl Drop for OwnedSemaphorePermit {
    fn drop(&mut self) {
        if self.release {
            // As for `SemaphorePermit`: only a hand-made over-release can be refused.
            let _ = self.owner.sem().release();
        }
    }
}

impl fmt::Debug for OwnedSemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphorePermit")
            .finish_non_exhaustive()
    }
}

/// Future returned by `acquire_owned` on either semaphore; resolves to an
/// [`OwnedSemaphorePermit`]. Dropping it mid-wait behaves as for [`SemaphoreAcquire`].
#[must_use = "futures do nothing unless polled"]
pub struct OwnedSemaphoreAcquire {
    raw: RawAcquire<SemOwner>,
}

impl OwnedSemaphoreAcquire {
    fn new(owner: SemOwner) -> Self {
        OwnedSemaphoreAcquire {
            raw: RawAcquire::new(owner),
        }
    }
}

impl Future for OwnedSemaphoreAcquire {
    type Output = OwnedSemaphorePermit;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<OwnedSemaphorePermit> {
        match self.raw.poll_acquire(cx, WaitingOn::Semaphore) {
            Poll::Ready(()) => Poll::Ready(OwnedSemaphorePermit::new(self.raw.handle().clone())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl fmt::Debug for OwnedSemaphoreAcquire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedSemaphoreAcquire")
            .finish_non_exhaustive()
    }
}
