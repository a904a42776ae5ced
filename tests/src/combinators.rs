//! Helpers shared by the combinator tests (`conformance/d_*.rs`, `stress/combinators.rs`;
//! `until` also by `conformance/core_extras.rs`):
//! short durations, delayed values and failures, panic messages, polling until a
//! condition holds, and a drop counter. The event record is the crate's [`crate::Log`].

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use aloop::{sleep, TaskError};

/// `n` milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Returns `x` after sleeping `delay_ms` milliseconds.
pub async fn val<T>(x: T, delay_ms: u64) -> T {
    sleep(ms(delay_ms)).await;
    x
}

/// Panics with `msg` after sleeping `delay_ms` milliseconds (at once when 0): the
/// snippets' `raise`.
pub async fn fail<T>(delay_ms: u64, msg: &'static str) -> T {
    if delay_ms > 0 {
        sleep(ms(delay_ms)).await;
    }
    panic!("{msg}")
}

/// The panic message of a failed task, or `"<cancelled>"`.
pub fn panic_message(e: &TaskError) -> &str {
    match e {
        TaskError::Panicked(p) => p.message(),
        TaskError::Cancelled => "<cancelled>",
    }
}

/// Yields to the loop until `cond` holds (bounded, so a bug fails instead of hanging).
pub async fn until(cond: impl Fn() -> bool) {
    for _ in 0..100_000 {
        if cond() {
            return;
        }
        sleep(ms(1)).await;
    }
    panic!("condition never held");
}

/// Counts drops, to prove a cancelled future's destructors ran.
pub struct DropGuard(pub Rc<Cell<usize>>);

impl Drop for DropGuard {
    fn drop(&mut self) {
        self.0.set(self.0.get() + 1);
    }
}
