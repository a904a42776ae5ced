//! The two types a source's readiness protocol (`source.rs`) shares between the
//! reactor's thread and the tasks': the state words and the waiter lists' lock.
//! std's and parking_lot's normally, loom's under `--cfg loom`, so the models in
//! `source_loom.rs` check the shipped protocol. The rest of the crate (the slab, the
//! poller, the interest bits) is not modelled and keeps parking_lot directly.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::AtomicU64;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::AtomicU64;

#[cfg(loom)]
pub(crate) use loom::sync::{Mutex as WaitLock, MutexGuard as WaitGuard};
#[cfg(not(loom))]
pub(crate) use parking_lot::{Mutex as WaitLock, MutexGuard as WaitGuard};

/// Locks a waiter list. Neither lock poisons here: parking_lot's never does, and a
/// loom model that panics has failed already.
#[inline]
pub(crate) fn lock_waiters<T>(m: &WaitLock<T>) -> WaitGuard<'_, T> {
    #[cfg(loom)]
    return m.lock().unwrap();
    #[cfg(not(loom))]
    m.lock()
}
