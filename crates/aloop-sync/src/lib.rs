//! Runtime-agnostic async synchronisation primitives mirroring Python's asyncio.
//!
//! [`Lock`], [`Event`], [`Condition`], [`Semaphore`], [`BoundedSemaphore`],
//! [`Barrier`], and the queues [`Queue`], [`LifoQueue`] and [`PriorityQueue`]. They
//! depend on nothing but `std::task::Waker`, so they work under any executor (aloop's
//! loop, tokio, `futures-executor`, ...) and across threads: every type is
//! `Send + Sync`, and none is bound to a loop (asyncio binds a primitive to the first
//! loop that waits on it).
//!
//! Shared guarantees:
//! * **FIFO:** waiters are served in the order they started waiting, and a newcomer
//!   never overtakes a waiter (no barging). Locks and permits are handed directly to the
//!   woken waiter; queue items and queue slots are earmarked for it.
//! * **Cancellation:** dropping a waiting future leaves the line; whatever had already
//!   been handed to it (a lock, a permit, a notification, an item, a queue slot) passes
//!   on to the next waiter, so nothing is lost or stranded.
//! * **Misuse is a type or a typed error**, never a panic: a lock is released by
//!   dropping its guard; a condition is waited on or notified only through the guard of
//!   its lock; over-release of a [`BoundedSemaphore`], a surplus `task_done`, a broken
//!   [`Barrier`] and a shut-down queue are `Err` values implementing `std::error::Error`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod barrier;
mod condition;
mod event;
mod lock;
mod queue;
mod raw_semaphore;
mod semaphore;
mod sync;
mod wait_hook;
mod waiters;

pub use barrier::{Barrier, BarrierWait, BrokenBarrierError};
pub use condition::{CondAcquire, CondGuard, CondWait, Condition, ForeignGuardError};
pub use event::{Event, EventWait};
pub use lock::{Acquire, Lock, LockGuard, OwnedAcquire, OwnedLockGuard};
pub use queue::{
    BaseQueue, Fifo, Get, Join, Lifo, LifoQueue, Priority, PriorityQueue, Put, Queue,
    QueueShutDown, Storage, TaskDoneError, TryGetError, TryPutError,
};
pub use semaphore::{
    BoundedReleaseError, BoundedSemaphore, OwnedSemaphoreAcquire, OwnedSemaphorePermit, Semaphore,
    SemaphoreAcquire, SemaphorePermit,
};
pub use wait_hook::{set_wait_hook, WaitHook, WaitingOn};

#[cfg(test)]
mod assert_traits {
    use super::*;

    fn send_sync<T: Send + Sync>() {}

    #[test]
    fn all_types_are_send_and_sync() {
        send_sync::<Lock>();
        send_sync::<LockGuard<'static>>();
        send_sync::<Acquire<'static>>();
        send_sync::<OwnedAcquire>();
        send_sync::<OwnedLockGuard>();
        send_sync::<Event>();
        send_sync::<EventWait<'static>>();
        send_sync::<Condition>();
        send_sync::<CondGuard<'static>>();
        send_sync::<CondWait<'static>>();
        send_sync::<Semaphore>();
        send_sync::<BoundedSemaphore>();
        send_sync::<SemaphorePermit<'static>>();
        send_sync::<SemaphoreAcquire<'static>>();
        send_sync::<OwnedSemaphoreAcquire>();
        send_sync::<OwnedSemaphorePermit>();
        send_sync::<Barrier>();
        send_sync::<BarrierWait<'static>>();
        send_sync::<Queue<String>>();
        send_sync::<LifoQueue<String>>();
        send_sync::<PriorityQueue<String>>();
        send_sync::<Get<'static, Fifo<String>>>();
        send_sync::<Put<'static, Fifo<String>>>();
        send_sync::<Join<'static, Fifo<String>>>();
    }
}
