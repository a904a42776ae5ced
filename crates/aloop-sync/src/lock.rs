//! `Lock`: asyncio's `Lock`, a FIFO-fair async mutex without data.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::raw_semaphore::{RawAcquire, RawSemaphore, SemHandle};
use crate::wait_hook::WaitingOn;

/// An async mutual-exclusion lock, asyncio's `Lock`.
///
/// Holding the lock is holding a [`LockGuard`]; dropping the guard releases it, so
/// "release an unlocked lock" (asyncio's `RuntimeError`) cannot be written.
///
/// * **Fast path:** an uncontended [`acquire`](Lock::acquire) or
///   [`try_acquire`](Lock::try_acquire) is one atomic compare-and-swap, as is the
///   release; no mutex, no allocation, and the first poll completes without yielding.
/// * **Fairness:** waiters get the lock strictly in the order they started waiting. A
///   release that finds waiters *hands the lock directly* to the first one, so
///   [`locked`](Lock::locked) stays `true` through the hand-off and a newcomer queues
///   behind the waiters (asyncio instead reports `locked() == False` until the woken
///   waiter runs, but also makes the newcomer wait: the order is the same).
/// * **Cancellation:** dropping an [`Acquire`] future gives up its place; if the lock
///   had already been handed to it, the lock passes on to the next waiter.
///
/// ```
/// use aloop_sync::Lock;
/// futures_executor::block_on(async {
///     let lock = Lock::new();
///     let guard = lock.acquire().await;
///     assert!(lock.locked());
///     assert!(lock.try_acquire().is_none());
///     drop(guard);
///     assert!(!lock.locked());
/// });
/// ```
pub struct Lock {
    raw: RawSemaphore,
}

impl Lock {
    /// An unlocked lock.
    pub fn new() -> Self {
        Lock {
            raw: RawSemaphore::new(1, 1),
        }
    }

    /// Waits for the lock and returns a guard that releases it when dropped.
    pub fn acquire(&self) -> Acquire<'_> {
        Acquire {
            lock: self,
            raw: RawAcquire::new(&self.raw),
        }
    }

    /// Takes the lock if it is free and nobody is waiting for it.
    #[inline]
    pub fn try_acquire(&self) -> Option<LockGuard<'_>> {
        // `then`, not `then_some`: an eagerly built guard would release on drop.
        self.raw
            .try_acquire_single()
            .then(|| LockGuard { lock: self })
    }

    /// Like [`acquire`](Lock::acquire), through an `Arc`: the future and the guard own
    /// a reference to the lock, so they are `'static` and can be stored or sent freely.
    pub fn acquire_owned(self: &Arc<Self>) -> OwnedAcquire {
        OwnedAcquire {
            raw: RawAcquire::new(ArcLock(self.clone())),
        }
    }

    /// Like [`try_acquire`](Lock::try_acquire), returning an owned guard.
    pub fn try_acquire_owned(self: &Arc<Self>) -> Option<OwnedLockGuard> {
        self.raw
            .try_acquire_single()
            .then(|| OwnedLockGuard { lock: self.clone() })
    }

    /// Whether the lock is held (including while being handed to a woken waiter).
    pub fn locked(&self) -> bool {
        self.raw.would_block()
    }
}

impl Default for Lock {
    fn default() -> Self {
        Lock::new()
    }
}

impl fmt::Debug for Lock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lock")
            .field("locked", &self.locked())
            .finish()
    }
}

/// Proof that a [`Lock`] is held; releases it when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a> {
    lock: &'a Lock,
}

impl<'a> LockGuard<'a> {
    /// The lock this guard holds.
    pub fn lock(&self) -> &'a Lock {
        self.lock
    }
}

impl Drop for LockGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        self.lock.raw.release_single();
    }
}

impl fmt::Debug for LockGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LockGuard").finish_non_exhaustive()
    }
}

/// Owned form of [`LockGuard`], from [`Lock::acquire_owned`]; releases when dropped.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct OwnedLockGuard {
    lock: Arc<Lock>,
}

impl OwnedLockGuard {
    /// The lock this guard holds.
    pub fn lock(&self) -> &Arc<Lock> {
        &self.lock
    }
}

impl Drop for OwnedLockGuard {
    #[inline]
    fn drop(&mut self) {
        self.lock.raw.release_single();
    }
}

impl fmt::Debug for OwnedLockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedLockGuard").finish_non_exhaustive()
    }
}

/// Lets the owned acquire future reach the counter inside the `Arc`.
struct ArcLock(Arc<Lock>);

impl SemHandle for ArcLock {
    fn sem(&self) -> &RawSemaphore {
        &self.0.raw
    }
}

/// Future returned by [`Lock::acquire_owned`]; resolves to an [`OwnedLockGuard`].
/// Dropping it mid-wait behaves as for [`Acquire`].
#[must_use = "futures do nothing unless polled"]
pub struct OwnedAcquire {
    raw: RawAcquire<ArcLock>,
}

impl Future for OwnedAcquire {
    type Output = OwnedLockGuard;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<OwnedLockGuard> {
        match self.raw.poll_acquire(cx, WaitingOn::Lock) {
            Poll::Ready(()) => Poll::Ready(OwnedLockGuard {
                lock: self.raw.handle().0.clone(),
            }),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl fmt::Debug for OwnedAcquire {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedAcquire").finish_non_exhaustive()
    }
}

/// Future returned by [`Lock::acquire`]; resolves to a [`LockGuard`].
///
/// Dropping it before completion gives up its place in line (and passes the lock on if
/// it had just been handed over).
#[must_use = "futures do nothing unless polled"]
pub struct Acquire<'a> {
    lock: &'a Lock,
    raw: RawAcquire<&'a RawSemaphore>,
}

impl<'a> Future for Acquire<'a> {
    type Output = LockGuard<'a>;

    #[inline]
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard<'a>> {
        let lock = self.lock;
        self.raw
            .poll_acquire(cx, WaitingOn::Lock)
            .map(|()| LockGuard { lock })
    }
}

impl fmt::Debug for Acquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acquire").finish_non_exhaustive()
    }
}
