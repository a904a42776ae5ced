//! Workload "spawn": 200,000 tiny tasks spawned, then awaited in order; the sum of their
//! outputs must be 0 + 1 + ... + (n-1). Measures task creation, scheduling, one poll,
//! completion and join: the per-task fixed cost of each runtime.
//!
//! In a fresh process most of that cost can be the kernel's: 200,000 live tasks are
//! tens of MB of heap touched for the first time (page faults, zeroing), so a runtime's
//! bytes per task show up here. "spawn-warm" runs the same round twice in one process
//! and times the second, when the allocator can reuse the first round's memory, to
//! separate that from the runtime's own code path.
//!
//! "spawn-eager": aloop's tasks start eagerly (`create_eager_task`, Python 3.12's
//! eager start): each finishes inside the call and never enters the ready queue. The
//! other runtimes have no such thing and run their plain spawn.
//!
//! "spawn-await" and "spawn-await-eager": the short-lived task eager start is for,
//! spawned and awaited at once, one at a time (a helper task per request, an
//! `ensure_future` of a coroutine that usually has its answer cached): 200,000 times
//! spawn, then await that task. Only one task is alive at a time, so the allocator
//! reuses one cell and what is measured is the path, not memory. aloop spawns with
//! `create_task` or `create_eager_task`; the peers spawn as in "spawn".

use std::time::Instant;

use crate::{rt, Outcome, Runtime, Scale};

const FULL: u64 = 200_000;

/// "spawn-await" / "spawn-await-eager": spawn one task and await it, `n` times.
pub fn run_one_at_a_time(runtime: Runtime, scale: Scale, eager: bool) -> Outcome {
    let n = scale.n(FULL);
    let (elapsed, sum) = match runtime {
        Runtime::Aloop => rt::aloop(async move {
            let t = Instant::now();
            let mut sum = 0;
            for i in 0..n {
                let task = if eager {
                    aloop::create_eager_task(async move { i })
                } else {
                    aloop::create_task(async move { i })
                };
                sum += task.await.expect("aloop task failed");
            }
            (t.elapsed(), sum)
        }),
        Runtime::TokioCt | Runtime::TokioMt => rt::tokio(runtime, async move {
            let t = Instant::now();
            let mut sum = 0;
            for i in 0..n {
                sum += tokio::spawn(async move { i })
                    .await
                    .expect("tokio task failed");
            }
            (t.elapsed(), sum)
        }),
        Runtime::Smol => rt::smol(move |ex| async move {
            let t = Instant::now();
            let mut sum = 0;
            for i in 0..n {
                sum += ex.spawn(async move { i }).await;
            }
            (t.elapsed(), sum)
        }),
    };
    Outcome::new(n, elapsed, sum == n * (n - 1) / 2)
}

pub fn run(runtime: Runtime, scale: Scale, warm: bool, eager: bool) -> Outcome {
    let n = scale.n(FULL);
    let rounds = if warm { 2 } else { 1 };
    let (elapsed, sum) = match runtime {
        Runtime::Aloop => rt::aloop(async move {
            let mut last = (Default::default(), 0);
            for _ in 0..rounds {
                let t = Instant::now();
                let handles: Vec<_> = (0..n)
                    .map(|i| {
                        if eager {
                            aloop::create_eager_task(async move { i })
                        } else {
                            aloop::create_task(async move { i })
                        }
                    })
                    .collect();
                let mut sum = 0;
                for h in handles {
                    sum += h.await.expect("aloop task failed");
                }
                last = (t.elapsed(), sum);
            }
            last
        }),
        Runtime::TokioCt | Runtime::TokioMt => rt::tokio(runtime, async move {
            let mut last = (Default::default(), 0);
            for _ in 0..rounds {
                let t = Instant::now();
                let handles: Vec<_> = (0..n).map(|i| tokio::spawn(async move { i })).collect();
                let mut sum = 0;
                for h in handles {
                    sum += h.await.expect("tokio task failed");
                }
                last = (t.elapsed(), sum);
            }
            last
        }),
        Runtime::Smol => rt::smol(move |ex| async move {
            let mut last = (Default::default(), 0);
            for _ in 0..rounds {
                let t = Instant::now();
                let handles: Vec<_> = (0..n).map(|i| ex.spawn(async move { i })).collect();
                let mut sum = 0;
                for h in handles {
                    sum += h.await;
                }
                last = (t.elapsed(), sum);
            }
            last
        }),
    };
    Outcome::new(n, elapsed, sum == n * (n - 1) / 2)
}
