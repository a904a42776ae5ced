//! Workload "lock-uncontended": one task acquires and releases a free lock 1,000,000
//! times (the aloop-sync issue's "uncontended lock" case). Nobody waits, so this measures
//! the fast path alone: for aloop one compare-and-swap in and one out. The count of
//! critical sections entered is checked.
//!
//! aloop: `aloop::Lock`; tokio: `tokio::sync::Mutex`; smol: `async_lock::Mutex`.

use std::cell::Cell;
use std::hint::black_box;
use std::rc::Rc;
use std::time::Instant;

use crate::{rt, Outcome, Runtime, Scale};

const FULL_ITERS: u64 = 1_000_000;

pub fn run(runtime: Runtime, scale: Scale) -> Outcome {
    let iters = scale.n(FULL_ITERS);
    let (elapsed, count) = match runtime {
        Runtime::Aloop => rt::aloop(async move {
            let lock = aloop::Lock::new();
            let counter = Cell::new(0u64);
            let t = Instant::now();
            for _ in 0..iters {
                let _guard = black_box(&lock).acquire().await;
                counter.set(counter.get() + 1);
            }
            (t.elapsed(), counter.get())
        }),
        Runtime::TokioCt | Runtime::TokioMt => rt::tokio(runtime, async move {
            let counter = tokio::sync::Mutex::new(0u64);
            let t = Instant::now();
            for _ in 0..iters {
                *black_box(&counter).lock().await += 1;
            }
            let count = *counter.lock().await;
            (t.elapsed(), count)
        }),
        Runtime::Smol => rt::smol(move |_ex| async move {
            let counter = Rc::new(async_lock::Mutex::new(0u64));
            let t = Instant::now();
            for _ in 0..iters {
                *black_box(&counter).lock().await += 1;
            }
            let count = *counter.lock().await;
            (t.elapsed(), count)
        }),
    };
    Outcome::new(iters, elapsed, count == iters)
}
