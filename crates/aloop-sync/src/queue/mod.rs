//! `Queue`, `LifoQueue`, `PriorityQueue`: asyncio's queues, one implementation over
//! three storage policies.
//!
//! One mutex guards the storage, the counters and three FIFO waiter lists (getters,
//! putters, joiners). Nobody is woken unless somebody waits. Items and slots are handed
//! over rather than raced for:
//!
//! * a put that finds a waiting getter moves the item straight into that getter's slot
//!   ("earmarked"); the item still counts in `qsize` until the getter takes it, and a
//!   getter dropped before taking it passes it to the next getter or puts it back;
//! * a get that frees a slot of a full queue reserves it for the first waiting putter;
//!   a putter dropped before using it passes the reservation on.
//!
//! So waiting getters and putters are served strictly FIFO and a newcomer never
//! overtakes them.

mod error;
mod futures;
mod storage;

pub use error::{QueueShutDown, TaskDoneError, TryGetError, TryPutError};
pub use futures::{Get, Join, Put};
pub use storage::{Fifo, Lifo, Priority, Storage};

use std::fmt;

use crate::sync::{lock, Mutex, MutexGuard};
use crate::waiters::{WaitList, WakeSet};

/// A FIFO queue, asyncio's `Queue`.
pub type Queue<T> = BaseQueue<Fifo<T>>;
/// A LIFO queue (a stack), asyncio's `LifoQueue`.
pub type LifoQueue<T> = BaseQueue<Lifo<T>>;
/// A queue handing out the smallest item first, asyncio's `PriorityQueue`.
pub type PriorityQueue<T> = BaseQueue<Priority<T>>;

/// What happened to a parked getter.
enum GetSlot<T> {
    Waiting,
    Item(T),
    ShutDown,
}

/// What happened to a parked putter.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PutSlot {
    Waiting,
    Granted,
    ShutDown,
}

struct Inner<S: Storage> {
    storage: S,
    /// Items moved into woken getters' slots but not yet taken by them.
    earmarked: usize,
    /// Free slots promised to woken putters that have not put yet.
    reserved: usize,
    unfinished: usize,
    shutdown: bool,
    getters: WaitList<GetSlot<S::Item>>,
    putters: WaitList<PutSlot>,
    joiners: WaitList<bool>,
}

impl<S: Storage> Inner<S> {
    fn qsize(&self) -> usize {
        self.storage.len() + self.earmarked
    }

    /// Whether a newcomer may put now: a free, unpromised slot and nobody ahead of it.
    fn has_room(&self, maxsize: usize) -> bool {
        maxsize == 0 || (self.putters.is_empty() && self.qsize() + self.reserved < maxsize)
    }

    /// Stores an already-admitted item, or hands it to the first waiting getter.
    fn push(&mut self, item: S::Item, wake: &mut WakeSet) {
        self.unfinished += 1;
        self.deliver(item, wake);
    }

    /// Gives `item` to the first waiting getter, or stores it.
    fn deliver(&mut self, item: S::Item, wake: &mut WakeSet) {
        match self.getters.pop_front() {
            Some(key) => {
                let node = self.getters.node_mut(key);
                node.data = GetSlot::Item(item);
                wake.push(node.waker.take());
                self.earmarked += 1;
            }
            None => self.storage.push(item),
        }
    }

    /// Promises freed slots to waiting putters, oldest first.
    fn grant_putters(&mut self, maxsize: usize, wake: &mut WakeSet) {
        while self.qsize() + self.reserved < maxsize {
            let Some(waker) = self.putters.notify_front(|slot| *slot = PutSlot::Granted) else {
                break;
            };
            self.reserved += 1;
            wake.push(waker);
        }
    }

    /// Takes the next stored item, passing the freed slot to a waiting putter.
    fn pop(&mut self, maxsize: usize, wake: &mut WakeSet) -> Option<S::Item> {
        let item = self.storage.pop()?;
        self.grant_putters(maxsize, wake);
        Some(item)
    }
}

/// An async queue with a storage policy `S`; use the aliases [`Queue`],
/// [`LifoQueue`] and [`PriorityQueue`].
///
/// `maxsize` 0 means unbounded. Blocked getters and putters are served in the order they
/// started waiting, and dropping a waiting [`Get`] or [`Put`] never loses an item or a
/// slot (see the module docs of the crate). After [`shutdown`](BaseQueue::shutdown)
/// puts fail and gets drain what is left, then fail, as in Python 3.13.
///
/// ```
/// use aloop_sync::{Queue, TryPutError, TryGetError};
/// futures_executor::block_on(async {
///     let q = Queue::new(1);
///     q.put("a").await.unwrap();
///     assert!(q.full());
///     assert_eq!(q.put_nowait("b"), Err(TryPutError::Full("b")));
///     assert_eq!(q.get().await, Ok("a"));
///     assert_eq!(q.get_nowait(), Err(TryGetError::Empty));
///     q.task_done().unwrap();
///     q.join().await; // every put item was marked done
/// });
/// ```
pub struct BaseQueue<S: Storage> {
    maxsize: usize,
    inner: Mutex<Inner<S>>,
}

impl<S: Storage> BaseQueue<S> {
    /// An empty queue holding at most `maxsize` items (0 = unbounded).
    pub fn new(maxsize: usize) -> Self {
        BaseQueue {
            maxsize,
            inner: Mutex::new(Inner {
                storage: S::default(),
                earmarked: 0,
                reserved: 0,
                unfinished: 0,
                shutdown: false,
                getters: WaitList::new(),
                putters: WaitList::new(),
                joiners: WaitList::new(),
            }),
        }
    }

    fn inner(&self) -> MutexGuard<'_, Inner<S>> {
        lock(&self.inner)
    }

    /// The capacity given at construction (0 = unbounded).
    pub fn maxsize(&self) -> usize {
        self.maxsize
    }

    /// Items in the queue, counting those already handed to a woken getter that has
    /// not run yet (as asyncio counts them until the getter takes them).
    pub fn qsize(&self) -> usize {
        self.inner().qsize()
    }

    /// Whether `qsize() == 0`.
    pub fn empty(&self) -> bool {
        self.qsize() == 0
    }

    /// Whether a `put_nowait` would fail for lack of room: `maxsize > 0` and every slot
    /// is taken or promised to a woken putter.
    pub fn full(&self) -> bool {
        !self.inner().has_room(self.maxsize)
    }

    /// Puts `item` without waiting; gives it back if the queue is full or shut down.
    pub fn put_nowait(&self, item: S::Item) -> Result<(), TryPutError<S::Item>> {
        let mut wake = WakeSet::default();
        let mut inner = self.inner();
        if inner.shutdown {
            return Err(TryPutError::ShutDown(item));
        }
        if !inner.has_room(self.maxsize) {
            return Err(TryPutError::Full(item));
        }
        inner.push(item, &mut wake);
        drop(inner);
        wake.wake();
        Ok(())
    }

    /// Takes an item without waiting.
    pub fn get_nowait(&self) -> Result<S::Item, TryGetError> {
        let mut wake = WakeSet::default();
        let mut inner = self.inner();
        match inner.pop(self.maxsize, &mut wake) {
            Some(item) => {
                drop(inner);
                wake.wake();
                Ok(item)
            }
            None if inner.shutdown => Err(TryGetError::ShutDown),
            None => Err(TryGetError::Empty),
        }
    }

    /// Puts `item`, waiting for a free slot; fails (returning the item) after shutdown.
    pub fn put(&self, item: S::Item) -> Put<'_, S> {
        Put::new(self, item)
    }

    /// Takes an item, waiting for one; fails once shut down and drained.
    pub fn get(&self) -> Get<'_, S> {
        Get::new(self)
    }

    /// Marks one gotten item as processed, for [`join`](BaseQueue::join).
    pub fn task_done(&self) -> Result<(), TaskDoneError> {
        let mut inner = self.inner();
        if inner.unfinished == 0 {
            return Err(TaskDoneError);
        }
        inner.unfinished -= 1;
        if inner.unfinished == 0 && !inner.joiners.is_empty() {
            let mut wake = WakeSet::default();
            inner.joiners.notify_all(|done| *done = true, &mut wake);
            drop(inner);
            wake.wake();
        }
        Ok(())
    }

    /// Waits until [`task_done`](BaseQueue::task_done) was called for every item put.
    pub fn join(&self) -> Join<'_, S> {
        Join::new(self)
    }

    /// Shuts the queue down (Python 3.13): later puts fail, waiting putters fail
    /// (getting their items back), and getters fail once the queue is drained.
    ///
    /// With `immediate`, the stored items are dropped first (counting as done for
    /// `join`), so every waiting getter fails at once and `join` returns unless items
    /// still being processed are unfinished. Items already handed to a woken getter are
    /// that getter's and are still delivered.
    pub fn shutdown(&self, immediate: bool) {
        let mut wake = WakeSet::default();
        let mut inner = self.inner();
        inner.shutdown = true;
        if immediate {
            let dropped = inner.storage.clear();
            inner.unfinished = inner.unfinished.saturating_sub(dropped);
            if inner.unfinished == 0 {
                inner.joiners.notify_all(|done| *done = true, &mut wake);
            }
        }
        if inner.storage.is_empty() {
            inner
                .getters
                .notify_all(|slot| *slot = GetSlot::ShutDown, &mut wake);
        }
        inner
            .putters
            .notify_all(|slot| *slot = PutSlot::ShutDown, &mut wake);
        drop(inner);
        wake.wake();
    }

    /// Whether [`shutdown`](BaseQueue::shutdown) was called.
    pub fn is_shut_down(&self) -> bool {
        self.inner().shutdown
    }
}

impl<S: Storage> Default for BaseQueue<S> {
    /// An unbounded queue.
    fn default() -> Self {
        BaseQueue::new(0)
    }
}

impl<S: Storage> fmt::Debug for BaseQueue<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.inner();
        f.debug_struct("BaseQueue")
            .field("maxsize", &self.maxsize)
            .field("qsize", &inner.qsize())
            .field("getters", &inner.getters.len())
            .field("putters", &inner.putters.len())
            .field("unfinished", &inner.unfinished)
            .field("shutdown", &inner.shutdown)
            .finish()
    }
}
