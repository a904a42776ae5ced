//! `Condition`: asyncio's `Condition`, a wait/notify queue tied to a `Lock`.
//!
//! The Rust shape makes asyncio's "wait/notify on an un-acquired lock" (`RuntimeError`,
//! catalogue E8) unrepresentable: `wait`, `wait_for`, `notify` and `notify_all` are
//! methods of [`CondGuard`], which only exists while the condition's lock is held.

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::lock::{Acquire, Lock, LockGuard};
use crate::sync::{lock, Mutex};
use crate::wait_hook::{waiting, WaitingOn};
use crate::waiters::{WaitList, WakeSet};

/// An async condition variable, asyncio's `Condition`.
///
/// The condition owns (or shares, see [`with_lock`](Condition::with_lock)) a [`Lock`].
/// [`acquire`](Condition::acquire) returns a [`CondGuard`]; waiting consumes the guard,
/// releases the lock, waits for a notification, and re-acquires the lock (in FIFO order
/// with every other acquirer) before handing a guard back.
///
/// Notified waiters are woken in the order they started waiting. A waiter dropped after
/// it was notified (before or while re-acquiring the lock) passes the notification on to
/// the next waiter, as asyncio 3.13 does, so a wake-up is never lost; that can make a
/// wake-up spurious, which [`CondGuard::wait_for`] absorbs.
///
/// ```
/// use aloop_sync::Condition;
/// use futures_util::join;
/// use std::sync::atomic::{AtomicBool, Ordering};
///
/// let cond = Condition::new();
/// let ready = AtomicBool::new(false);
/// futures_executor::block_on(async {
///     let consumer = async {
///         let guard = cond.acquire().await;
///         let _guard = guard.wait_for(|| ready.load(Ordering::Relaxed)).await;
///         "consumed"
///     };
///     let producer = async {
///         let guard = cond.acquire().await;
///         ready.store(true, Ordering::Relaxed);
///         guard.notify_all();
///     };
///     assert_eq!(join!(consumer, producer).0, "consumed");
/// });
/// ```
///
/// Waiting or notifying without holding the lock does not compile (asyncio raises
/// `RuntimeError: cannot wait on un-acquired lock`):
///
/// ```compile_fail
/// let cond = aloop_sync::Condition::new();
/// let _ = cond.wait();
/// ```
///
/// ```compile_fail
/// let cond = aloop_sync::Condition::new();
/// cond.notify(1);
/// ```
pub struct Condition {
    lock: Arc<Lock>,
    // Node data: "notify() picked me".
    waiters: Mutex<WaitList<bool>>,
}

impl Condition {
    /// A condition with its own lock.
    pub fn new() -> Self {
        Condition::with_lock(Arc::new(Lock::new()))
    }

    /// A condition over a lock shared with other code (asyncio's `Condition(lock)`).
    pub fn with_lock(lock: Arc<Lock>) -> Self {
        Condition {
            lock,
            waiters: Mutex::new(WaitList::new()),
        }
    }

    /// The underlying lock.
    pub fn inner_lock(&self) -> &Arc<Lock> {
        &self.lock
    }

    /// Whether the underlying lock is held.
    pub fn locked(&self) -> bool {
        self.lock.locked()
    }

    /// Acquires the underlying lock.
    pub fn acquire(&self) -> CondAcquire<'_> {
        CondAcquire {
            cond: self,
            inner: self.lock.acquire(),
        }
    }

    /// Turns a guard of the underlying lock (taken through
    /// [`inner_lock`](Condition::inner_lock)) into a [`CondGuard`].
    ///
    /// A guard of any other lock is refused and handed back inside the error.
    pub fn adopt<'a>(
        &'a self,
        guard: LockGuard<'a>,
    ) -> Result<CondGuard<'a>, ForeignGuardError<'a>> {
        if std::ptr::eq(guard.lock(), &*self.lock) {
            Ok(CondGuard { cond: self, guard })
        } else {
            Err(ForeignGuardError { guard })
        }
    }

    /// Wakes up to `n` waiters, oldest first; returns how many.
    fn notify_n(&self, n: usize) -> usize {
        let mut list = lock(&self.waiters);
        let mut wake = WakeSet::default();
        let mut count = 0;
        while count < n {
            match list.notify_front(|notified| *notified = true) {
                Some(waker) => {
                    wake.push(waker);
                    count += 1;
                }
                None => break,
            }
        }
        drop(list);
        wake.wake();
        count
    }
}

impl Default for Condition {
    fn default() -> Self {
        Condition::new()
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("locked", &self.locked())
            .field("waiters", &lock(&self.waiters).len())
            .finish()
    }
}

/// Error of [`Condition::adopt`]: the guard holds a different lock. The guard comes
/// back in [`guard`](ForeignGuardError::guard) so the lock is not released by surprise.
pub struct ForeignGuardError<'a> {
    /// The refused guard, still holding its lock.
    pub guard: LockGuard<'a>,
}

impl fmt::Debug for ForeignGuardError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ForeignGuardError").finish_non_exhaustive()
    }
}

impl fmt::Display for ForeignGuardError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("cannot use the condition with a guard of a different lock")
    }
}

impl Error for ForeignGuardError<'_> {}

/// Holds a [`Condition`]'s lock; the only way to wait on or notify the condition.
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct CondGuard<'a> {
    cond: &'a Condition,
    guard: LockGuard<'a>,
}

impl<'a> CondGuard<'a> {
    /// Releases the lock, waits to be notified, then re-acquires the lock.
    ///
    /// Dropping the returned future gives up the wait (the lock stays released, as the
    /// guard went with it); if it had been notified, the notification passes on.
    pub fn wait(self) -> CondWait<'a> {
        CondWait {
            cond: self.cond,
            state: WaitState::Start(self.guard),
        }
    }

    /// Waits until `pred` returns `true`; `pred` is only called with the lock held.
    pub async fn wait_for<F: FnMut() -> bool>(mut self, mut pred: F) -> CondGuard<'a> {
        while !pred() {
            self = self.wait().await;
        }
        self
    }

    /// Wakes up to `n` waiters, oldest first; returns how many were woken.
    pub fn notify(&self, n: usize) -> usize {
        self.cond.notify_n(n)
    }

    /// Wakes every waiter; returns how many were woken.
    pub fn notify_all(&self) -> usize {
        self.cond.notify_n(usize::MAX)
    }

    /// The condition this guard belongs to.
    pub fn condition(&self) -> &'a Condition {
        self.cond
    }

    /// Gives up the condition view, keeping the lock held.
    pub fn into_lock_guard(self) -> LockGuard<'a> {
        self.guard
    }
}

impl fmt::Debug for CondGuard<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CondGuard").finish_non_exhaustive()
    }
}

/// Future returned by [`Condition::acquire`].
#[must_use = "futures do nothing unless polled"]
pub struct CondAcquire<'a> {
    cond: &'a Condition,
    inner: Acquire<'a>,
}

impl<'a> Future for CondAcquire<'a> {
    type Output = CondGuard<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<CondGuard<'a>> {
        let cond = self.cond;
        Pin::new(&mut self.inner)
            .poll(cx)
            .map(|guard| CondGuard { cond, guard })
    }
}

impl fmt::Debug for CondAcquire<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CondAcquire").finish_non_exhaustive()
    }
}

enum WaitState<'a> {
    /// Not polled yet: still holding the lock.
    Start(LockGuard<'a>),
    /// Queued for a notification under this key, lock released.
    Waiting(usize),
    /// Notified; re-acquiring the lock.
    Reacquire(Acquire<'a>),
    Done,
}

/// Future returned by [`CondGuard::wait`]; resolves to the guard once the lock is back.
#[must_use = "futures do nothing unless polled"]
pub struct CondWait<'a> {
    cond: &'a Condition,
    state: WaitState<'a>,
}

impl<'a> Future for CondWait<'a> {
    type Output = CondGuard<'a>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<CondGuard<'a>> {
        let cond = self.cond;
        loop {
            match &mut self.state {
                WaitState::Start(_) => {
                    // Queue before releasing the lock: a notifier needs the lock, so it
                    // cannot slip in between and be missed.
                    let key = lock(&cond.waiters).push_back(Some(cx.waker().clone()), false);
                    let old = std::mem::replace(&mut self.state, WaitState::Waiting(key));
                    if let WaitState::Start(guard) = old {
                        drop(guard); // releases the lock
                    }
                    waiting(WaitingOn::Condition, true);
                    return Poll::Pending;
                }
                WaitState::Waiting(key) => {
                    let key = *key;
                    let mut list = lock(&cond.waiters);
                    if !list.node(key).data {
                        list.update_waker(key, cx.waker());
                        drop(list);
                        waiting(WaitingOn::Condition, false);
                        return Poll::Pending;
                    }
                    list.remove(key);
                    drop(list);
                    self.state = WaitState::Reacquire(cond.lock.acquire());
                }
                WaitState::Reacquire(acquire) => {
                    return match Pin::new(acquire).poll(cx) {
                        Poll::Ready(guard) => {
                            self.state = WaitState::Done;
                            Poll::Ready(CondGuard { cond, guard })
                        }
                        Poll::Pending => Poll::Pending,
                    };
                }
                WaitState::Done => return Poll::Pending,
            }
        }
    }
}

impl Drop for CondWait<'_> {
    fn drop(&mut self) {
        let notified = match std::mem::replace(&mut self.state, WaitState::Done) {
            WaitState::Waiting(key) => lock(&self.cond.waiters).remove(key),
            // Dropping the acquire gives up (or passes on) the lock by itself.
            WaitState::Reacquire(_) => true,
            WaitState::Start(_) | WaitState::Done => false,
        };
        if notified {
            self.cond.notify_n(1);
        }
    }
}

impl fmt::Debug for CondWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CondWait").finish_non_exhaustive()
    }
}
