//! `Event`: asyncio's `Event`, a flag that tasks can wait for.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use crate::sync::{lock, AtomicBool, Mutex, Ordering};
use crate::wait_hook::{waiting, WaitingOn};
use crate::waiters::{WaitList, WakeSet};

/// An async event flag, asyncio's `Event`.
///
/// [`wait`](Event::wait) completes once the flag is set; [`set`](Event::set) wakes every
/// waiter, and each of them completes even if the flag is cleared again before it runs
/// (as in asyncio, where `set()` resolves the waiters' futures). Waiting on a set event
/// completes on the first poll without locking.
///
/// ```
/// use aloop_sync::Event;
/// futures_executor::block_on(async {
///     let ev = Event::new();
///     assert!(!ev.is_set());
///     ev.set();
///     ev.wait().await; // already set: returns at once
///     ev.clear();
///     assert!(!ev.is_set());
/// });
/// ```
pub struct Event {
    flag: AtomicBool,
    // Node data: "set() has released me".
    waiters: Mutex<WaitList<bool>>,
}

impl Event {
    /// An event that is not set.
    pub fn new() -> Self {
        Event {
            flag: AtomicBool::new(false),
            waiters: Mutex::new(WaitList::new()),
        }
    }

    /// Whether the flag is set.
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }

    /// Sets the flag and wakes every waiter.
    pub fn set(&self) {
        if self.is_set() {
            return;
        }
        let mut list = lock(&self.waiters);
        // Stored under the mutex so a waiter checking the flag under it either sees it
        // or is queued before this drains the list.
        self.flag.store(true, Ordering::Release);
        let mut wake = WakeSet::default();
        list.notify_all(|released| *released = true, &mut wake);
        drop(list);
        wake.wake();
    }

    /// Clears the flag; later `wait`s block until the next `set`.
    pub fn clear(&self) {
        let _list = lock(&self.waiters);
        self.flag.store(false, Ordering::Release);
    }

    /// Waits until the flag is set.
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
            key: None,
            done: false,
        }
    }
}

impl Default for Event {
    fn default() -> Self {
        Event::new()
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Event")
            .field("is_set", &self.is_set())
            .finish()
    }
}

/// Future returned by [`Event::wait`].
#[must_use = "futures do nothing unless polled"]
pub struct EventWait<'a> {
    event: &'a Event,
    key: Option<usize>,
    done: bool,
}

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.done {
            return Poll::Ready(());
        }
        if self.key.is_none() && self.event.is_set() {
            self.done = true;
            return Poll::Ready(());
        }
        let mut list = lock(&self.event.waiters);
        match self.key {
            None => {
                if self.event.flag.load(Ordering::Acquire) {
                    drop(list);
                    self.done = true;
                    return Poll::Ready(());
                }
                self.key = Some(list.push_back(Some(cx.waker().clone()), false));
                drop(list);
                waiting(WaitingOn::Event, true);
                Poll::Pending
            }
            Some(key) => {
                if list.node(key).data {
                    list.remove(key);
                    drop(list);
                    self.key = None;
                    self.done = true;
                    Poll::Ready(())
                } else {
                    list.update_waker(key, cx.waker());
                    drop(list);
                    waiting(WaitingOn::Event, false);
                    Poll::Pending
                }
            }
        }
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            lock(&self.event.waiters).remove(key);
        }
    }
}

impl fmt::Debug for EventWait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventWait")
            .field("done", &self.done)
            .finish()
    }
}
