//! Synchronisation shim: loom's `Mutex` and atomics when built with `--cfg loom`, std's
//! otherwise, so the loom models exercise exactly the code that ships.

#[cfg(loom)]
pub(crate) use loom::sync::{
    atomic::{AtomicBool, AtomicUsize, Ordering},
    Mutex, MutexGuard,
};
#[cfg(not(loom))]
pub(crate) use std::sync::{
    atomic::{AtomicBool, AtomicUsize, Ordering},
    Mutex, MutexGuard,
};

/// Locks `m`, ignoring poisoning.
///
/// No code in this crate panics while holding one of its mutexes (user code never runs
/// under them; wakers are woken after unlocking), so a poisoned mutex can only come from
/// a panic in a `Waker::clone`; the protected data is still consistent then, and refusing
/// to go on would turn one panic into a deadlock of every waiter.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
