//! The `put`, `get` and `join` futures of the queues, including what dropping each one
//! mid-wait gives back.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::{BaseQueue, GetSlot, PutSlot, QueueShutDown, Storage};
use crate::wait_hook::{waiting, WaitingOn};
use crate::waiters::WakeSet;

#[derive(Clone, Copy)]
enum State {
    Idle,
    Waiting(usize),
    Done,
}

/// Future returned by [`BaseQueue::put`].
///
/// Dropping it while it waits withdraws the put (the item is dropped with the future)
/// and passes on any slot that had been promised to it.
#[must_use = "futures do nothing unless polled"]
pub struct Put<'a, S: Storage> {
    queue: &'a BaseQueue<S>,
    item: Option<S::Item>,
    state: State,
}

impl<'a, S: Storage> Put<'a, S> {
    pub(super) fn new(queue: &'a BaseQueue<S>, item: S::Item) -> Self {
        Put {
            queue,
            item: Some(item),
            state: State::Idle,
        }
    }
}

// The item is only moved out, never pinned in place.
impl<S: Storage> Unpin for Put<'_, S> {}

impl<S: Storage> Future for Put<'_, S> {
    type Output = Result<(), QueueShutDown<S::Item>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let maxsize = this.queue.maxsize;
        let mut wake = WakeSet::default();
        let mut inner = this.queue.inner();
        let admitted = match this.state {
            State::Idle => {
                if inner.shutdown {
                    false
                } else if inner.has_room(maxsize) {
                    true
                } else {
                    let key = inner
                        .putters
                        .push_back(Some(cx.waker().clone()), PutSlot::Waiting);
                    drop(inner);
                    this.state = State::Waiting(key);
                    waiting(WaitingOn::QueuePut, true);
                    return Poll::Pending;
                }
            }
            State::Waiting(key) => match inner.putters.node(key).data {
                PutSlot::Waiting => {
                    inner.putters.update_waker(key, cx.waker());
                    drop(inner);
                    waiting(WaitingOn::QueuePut, false);
                    return Poll::Pending;
                }
                PutSlot::Granted => {
                    inner.putters.remove(key);
                    inner.reserved -= 1;
                    // A shutdown after the grant still refuses the put.
                    !inner.shutdown
                }
                PutSlot::ShutDown => {
                    inner.putters.remove(key);
                    false
                }
            },
            State::Done => return Poll::Pending,
        };
        this.state = State::Done;
        let Some(item) = this.item.take() else {
            return Poll::Pending;
        };
        if !admitted {
            return Poll::Ready(Err(QueueShutDown(item)));
        }
        inner.push(item, &mut wake);
        drop(inner);
        wake.wake();
        Poll::Ready(Ok(()))
    }
}

impl<S: Storage> Drop for Put<'_, S> {
    fn drop(&mut self) {
        let State::Waiting(key) = self.state else {
            return;
        };
        let mut wake = WakeSet::default();
        let mut inner = self.queue.inner();
        if inner.putters.remove(key) == PutSlot::Granted {
            inner.reserved -= 1;
            inner.grant_putters(self.queue.maxsize, &mut wake);
        }
        drop(inner);
        wake.wake();
    }
}

impl<S: Storage> fmt::Debug for Put<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Put").finish_non_exhaustive()
    }
}

/// Future returned by [`BaseQueue::get`].
///
/// Dropping it while it waits withdraws the get; an item already handed to it goes to
/// the next waiting getter, or back into the queue.
#[must_use = "futures do nothing unless polled"]
pub struct Get<'a, S: Storage> {
    queue: &'a BaseQueue<S>,
    state: State,
}

impl<'a, S: Storage> Get<'a, S> {
    pub(super) fn new(queue: &'a BaseQueue<S>) -> Self {
        Get {
            queue,
            state: State::Idle,
        }
    }
}

impl<S: Storage> Future for Get<'_, S> {
    type Output = Result<S::Item, QueueShutDown>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let maxsize = self.queue.maxsize;
        let mut wake = WakeSet::default();
        let mut inner = self.queue.inner();
        let result = match self.state {
            State::Idle => match inner.pop(maxsize, &mut wake) {
                Some(item) => Ok(item),
                None if inner.shutdown => Err(QueueShutDown(())),
                None => {
                    let key = inner
                        .getters
                        .push_back(Some(cx.waker().clone()), GetSlot::Waiting);
                    drop(inner);
                    self.state = State::Waiting(key);
                    waiting(WaitingOn::QueueGet, true);
                    return Poll::Pending;
                }
            },
            State::Waiting(key) => match inner.getters.node(key).data {
                GetSlot::Waiting => {
                    inner.getters.update_waker(key, cx.waker());
                    drop(inner);
                    waiting(WaitingOn::QueueGet, false);
                    return Poll::Pending;
                }
                GetSlot::Item(_) => {
                    let GetSlot::Item(item) = inner.getters.remove(key) else {
                        return Poll::Pending;
                    };
                    inner.earmarked -= 1;
                    inner.grant_putters(maxsize, &mut wake);
                    Ok(item)
                }
                GetSlot::ShutDown => {
                    inner.getters.remove(key);
                    Err(QueueShutDown(()))
                }
            },
            State::Done => return Poll::Pending,
        };
        drop(inner);
        self.state = State::Done;
        wake.wake();
        Poll::Ready(result)
    }
}

impl<S: Storage> Drop for Get<'_, S> {
    fn drop(&mut self) {
        let State::Waiting(key) = self.state else {
            return;
        };
        let mut wake = WakeSet::default();
        let mut inner = self.queue.inner();
        if let GetSlot::Item(item) = inner.getters.remove(key) {
            inner.earmarked -= 1;
            if inner.getters.is_empty() {
                inner.storage.give_back(item);
            } else {
                inner.deliver(item, &mut wake);
            }
        }
        drop(inner);
        wake.wake();
    }
}

impl<S: Storage> fmt::Debug for Get<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Get").finish_non_exhaustive()
    }
}

/// Future returned by [`BaseQueue::join`].
#[must_use = "futures do nothing unless polled"]
pub struct Join<'a, S: Storage> {
    queue: &'a BaseQueue<S>,
    state: State,
}

impl<'a, S: Storage> Join<'a, S> {
    pub(super) fn new(queue: &'a BaseQueue<S>) -> Self {
        Join {
            queue,
            state: State::Idle,
        }
    }
}

impl<S: Storage> Future for Join<'_, S> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut inner = self.queue.inner();
        match self.state {
            State::Idle => {
                if inner.unfinished > 0 {
                    let key = inner.joiners.push_back(Some(cx.waker().clone()), false);
                    drop(inner);
                    self.state = State::Waiting(key);
                    waiting(WaitingOn::QueueJoin, true);
                    return Poll::Pending;
                }
            }
            State::Waiting(key) => {
                if !inner.joiners.node(key).data {
                    inner.joiners.update_waker(key, cx.waker());
                    drop(inner);
                    waiting(WaitingOn::QueueJoin, false);
                    return Poll::Pending;
                }
                inner.joiners.remove(key);
            }
            State::Done => return Poll::Ready(()),
        }
        drop(inner);
        self.state = State::Done;
        Poll::Ready(())
    }
}

impl<S: Storage> Drop for Join<'_, S> {
    fn drop(&mut self) {
        if let State::Waiting(key) = self.state {
            self.queue.inner().joiners.remove(key);
        }
    }
}

impl<S: Storage> fmt::Debug for Join<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join").finish_non_exhaustive()
    }
}
