//! A cheap identity for the current thread, used to check that a `!Send` future is only
//! ever polled and dropped on the thread that spawned it.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

static NEXT: AtomicUsize = AtomicUsize::new(1);

thread_local! {
    static ID: Cell<usize> = const { Cell::new(0) };
}

/// A number unique to the calling thread for the life of the process (never 0).
pub(crate) fn current() -> usize {
    ID.with(|id| {
        let v = id.get();
        if v != 0 {
            return v;
        }
        let v = NEXT.fetch_add(1, Ordering::Relaxed);
        id.set(v);
        v
    })
}
