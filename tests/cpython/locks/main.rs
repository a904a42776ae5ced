//! Port of CPython's `Lib/test/test_asyncio/test_locks.py` (see `docs/conformance.md`
//! for the version, and for each method that has no Rust form and why): one Rust test
//! per test method, named `locks_<class>_<method>`, in one file per test class:
//! `lock.rs`, `event.rs`, `condition.rs`, `semaphore.rs`, `barrier.rs`.
//!
//! asyncio's `await asyncio.sleep(0)` is [`tick`](aloop_tests::cpython::tick); a primitive
//! shared by the tasks of a test is leaked to `&'static`; a lock or permit that asyncio
//! releases from another task is parked in a [`Held`](aloop_tests::cpython::Held) by the
//! task that took it. asyncio's `_waiters` lists are private; where a test counts them,
//! the Rust test checks what the count stands for (who gets the lock next) instead.

mod barrier;
mod condition;
mod event;
mod lock;
mod semaphore;
