//! Port of CPython's `Lib/test/test_asyncio/test_queues.py` (see `docs/conformance.md`
//! for the version, and for each method that has no Rust form and why): one Rust test
//! per test method, named `queues_<class>_<method>`. `basic_get_put.rs` holds the
//! `QueueBasicTests`, `QueueGetTests`, `QueuePutTests`, `LifoQueueTests` and
//! `PriorityQueueTests`; `join_shutdown.rs` the join and shutdown mixins, instantiated
//! for the three queue kinds as CPython does.
//!
//! asyncio's `_getters` / `_putters` / `_unfinished_tasks` are private; the queue's
//! `Debug` form shows their counts, which is what the tests read where CPython counts
//! them. asyncio's `QueueEmpty` / `QueueFull` / `QueueShutDown` exceptions are the
//! `TryGetError` / `TryPutError` / `QueueShutDown` values.

mod basic_get_put;
mod join_shutdown;

/// The value of `field` in a queue's `Debug` form.
fn debug_field(q: &impl std::fmt::Debug, field: &str) -> String {
    let debug = format!("{q:?}");
    let key = format!("{field}: ");
    let at = debug
        .find(&key)
        .unwrap_or_else(|| panic!("{field} in {debug}"))
        + key.len();
    debug[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect()
}
