//! Atomics used by the task state machine: loom's under `--cfg loom`, std's otherwise.
//!
//! Only the state word crosses threads; everything else in a task is touched by its
//! owning thread alone, so only this one type needs to be swappable for model checking.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::AtomicUsize;
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::AtomicUsize;
