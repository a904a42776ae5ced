//! Workloads "callbacks" and "yield": 1,000,000 hops through the scheduler, counted.
//!
//! * "callbacks" (the workload): on aloop, a chain of `call_soon` callbacks, each
//!   scheduling the next — asyncio's cheapest unit of work, which tokio and smol do not
//!   have. Their closest equivalent, and what they run here, is one task doing
//!   `yield_now` 1,000,000 times (one re-schedule and one poll per hop).
//! * "yield": the task form on every runtime, aloop included (`aloop::sleep(ZERO)`, which
//!   is asyncio's `await asyncio.sleep(0)`), for an apples-to-apples row.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aloop::LoopRef;

use crate::{rt, Outcome, Runtime, Scale};

const FULL: u64 = 1_000_000;

pub fn run(runtime: Runtime, scale: Scale, callbacks: bool) -> Outcome {
    let n = scale.n(FULL);
    let (elapsed, count) = match runtime {
        Runtime::Aloop if callbacks => aloop_chain(n),
        Runtime::Aloop => rt::aloop(async move {
            let t = Instant::now();
            let mut count = 0;
            for _ in 0..n {
                aloop::sleep(Duration::ZERO).await;
                count += 1;
            }
            (t.elapsed(), count)
        }),
        Runtime::TokioCt | Runtime::TokioMt => {
            // An atomic counter, as a tokio user would share one with other tasks;
            // a plain local would do here, but keep the loop from being optimised away.
            let counter = Arc::new(AtomicU64::new(0));
            rt::tokio(runtime, async move {
                let t = Instant::now();
                for _ in 0..n {
                    tokio::task::yield_now().await;
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                (t.elapsed(), counter.load(Ordering::Relaxed))
            })
        }
        Runtime::Smol => rt::smol(move |_ex| async move {
            let t = Instant::now();
            let mut count = 0;
            for _ in 0..n {
                futures_lite::future::yield_now().await;
                count += 1;
            }
            (t.elapsed(), count)
        }),
    };
    Outcome::new(n, elapsed, count == n)
}

/// `n` callbacks, each scheduling the next with `call_soon`; the last stops the loop.
fn aloop_chain(n: u64) -> (Duration, u64) {
    let lp = aloop::new_event_loop();
    let count = Rc::new(Cell::new(0u64));
    let first = {
        let (lp, count) = (lp.clone_ref(), count.clone());
        move || hop(lp, n, count)
    };
    lp.call_soon(first).expect("loop is open");
    let t = Instant::now();
    lp.run_forever().expect("aloop: run_forever failed");
    (t.elapsed(), count.get())
}

/// One link of the chain: count, then schedule the next link (or stop after the last).
fn hop(lp: LoopRef, left: u64, count: Rc<Cell<u64>>) {
    count.set(count.get() + 1);
    if left <= 1 {
        lp.stop();
        return;
    }
    let next = lp.clone();
    next.call_soon(move || hop(lp, left - 1, count))
        .expect("loop is open");
}
