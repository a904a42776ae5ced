//! The wait hook: how an executor learns what its task is waiting on when one of this
//! crate's futures returns `Pending` (aloop's task dump shows "waits on Lock since
//! 12:03:04"). The crate depends on no executor, so the executor lends it a plain
//! function, per thread, through [`set_wait_hook`].
//!
//! Why a thread-local function pointer and not a trait or a dependency: this crate runs
//! under any executor (tokio, `futures-executor`, ...) and must not name one, and the
//! executor that cares (aloop's loop, one per thread) already keeps its "current task"
//! in a thread-local. With no hook installed, a wait costs one thread-local read and a
//! branch, and only on the path that returns `Pending` (which already queues a waker);
//! the paths that complete at once do not touch it. The other futures (`lock.rs`,
//! `semaphore.rs`, `event.rs`, `condition.rs`, `barrier.rs`, `queue/futures.rs`) call
//! [`waiting`] on each `Pending`.

use std::cell::Cell;

/// What one of this crate's futures is waiting for, as told to a wait hook.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WaitingOn {
    /// `Lock::acquire` (and a `Condition` taking its lock back).
    Lock,
    /// `Semaphore::acquire` / `BoundedSemaphore::acquire`.
    Semaphore,
    /// `Event::wait`.
    Event,
    /// `CondGuard::wait` (until notified).
    Condition,
    /// `Barrier::wait`.
    Barrier,
    /// A queue's `get` (the queue is empty).
    QueueGet,
    /// A queue's `put` (the queue is full).
    QueuePut,
    /// A queue's `join` (items not yet marked done).
    QueueJoin,
}

impl WaitingOn {
    /// A short name: `"Lock"`, `"Queue.get"`, ...
    ///
    /// ```
    /// assert_eq!(aloop_sync::WaitingOn::QueuePut.as_str(), "Queue.put");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            WaitingOn::Lock => "Lock",
            WaitingOn::Semaphore => "Semaphore",
            WaitingOn::Event => "Event",
            WaitingOn::Condition => "Condition",
            WaitingOn::Barrier => "Barrier",
            WaitingOn::QueueGet => "Queue.get",
            WaitingOn::QueuePut => "Queue.put",
            WaitingOn::QueueJoin => "Queue.join",
        }
    }
}

/// A wait hook: called with what the polled future waits on, and `true` when this is
/// the poll that starts the wait (`false`: the same wait goes on, after a wake-up that
/// did not end it).
pub type WaitHook = fn(WaitingOn, bool);

thread_local! {
    static HOOK: Cell<Option<WaitHook>> = const { Cell::new(None) };
}

/// Installs `hook` for the futures polled on this thread (or removes it, with `None`);
/// returns the hook it replaces. An executor installs one on its thread to learn what
/// each of its tasks waits on; the hook runs inside the task's poll, so it can read the
/// executor's "current task".
///
/// ```
/// use std::cell::Cell;
/// use std::future::Future;
/// use std::sync::Arc;
/// use std::task::{Context, Wake, Waker};
/// use aloop_sync::{set_wait_hook, Lock, WaitingOn};
///
/// thread_local!(static SEEN: Cell<Option<(WaitingOn, bool)>> = const { Cell::new(None) });
/// fn hook(on: WaitingOn, starts: bool) {
///     SEEN.with(|s| s.set(Some((on, starts))));
/// }
/// struct Noop;
/// impl Wake for Noop {
///     fn wake(self: Arc<Self>) {}
/// }
///
/// set_wait_hook(Some(hook));
/// let lock = Lock::new();
/// let _held = lock.try_acquire().unwrap();
/// let mut acquire = Box::pin(lock.acquire());
/// let waker = Waker::from(Arc::new(Noop));
/// assert!(acquire.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
/// assert_eq!(SEEN.with(Cell::get), Some((WaitingOn::Lock, true)));
/// ```
pub fn set_wait_hook(hook: Option<WaitHook>) -> Option<WaitHook> {
    HOOK.with(|h| h.replace(hook))
}

/// Tells the hook, if any, that the future being polled waits on `on` (`starts`: this
/// poll starts the wait).
#[inline]
pub(crate) fn waiting(on: WaitingOn, starts: bool) {
    if let Some(hook) = HOOK.with(Cell::get) {
        hook(on, starts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    thread_local!(static SEEN: std::cell::RefCell<Vec<(WaitingOn, bool)>> = const {
        std::cell::RefCell::new(Vec::new())
    });

    fn record(on: WaitingOn, starts: bool) {
        SEEN.with(|s| s.borrow_mut().push((on, starts)));
    }

    #[test]
    fn the_hook_hears_each_pending_poll_and_which_one_starts_the_wait() {
        let previous = set_wait_hook(Some(record));
        assert!(previous.is_none());
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);

        let lock = crate::Lock::new();
        let held = lock.try_acquire().unwrap();
        let mut acquire = Box::pin(lock.acquire());
        assert!(acquire.as_mut().poll(&mut cx).is_pending());
        assert!(acquire.as_mut().poll(&mut cx).is_pending());
        drop(held);
        assert!(matches!(acquire.as_mut().poll(&mut cx), Poll::Ready(_)));

        let queue = crate::Queue::<u8>::new(1);
        let mut get = Box::pin(queue.get());
        assert!(get.as_mut().poll(&mut cx).is_pending());

        let event = crate::Event::new();
        event.set();
        let mut wait = Box::pin(event.wait());
        assert!(
            wait.as_mut().poll(&mut cx).is_ready(),
            "a ready wait says nothing"
        );

        assert!(set_wait_hook(None).is_some());
        let seen = SEEN.with(|s| s.take());
        assert_eq!(
            seen,
            [
                (WaitingOn::Lock, true),
                (WaitingOn::Lock, false),
                (WaitingOn::QueueGet, true),
            ]
        );
    }
}
