//! Workload "spawn": 200,000 tiny tasks spawned, then awaited in order; the sum of their
//! outputs must be 0 + 1 + ... + (n-1). Measures task creation, scheduling, one poll,
//! completion and join: the per-task fixed cost of each runtime.

use std::time::Instant;

use crate::{rt, Outcome, Runtime, Scale};

const FULL: u64 = 200_000;

pub fn run(runtime: Runtime, scale: Scale) -> Outcome {
    let n = scale.n(FULL);
    let (elapsed, sum) = match runtime {
        Runtime::Aloop => rt::aloop(async move {
            let t = Instant::now();
            let handles: Vec<_> = (0..n)
                .map(|i| aloop::create_task(async move { i }))
                .collect();
            let mut sum = 0;
            for h in handles {
                sum += h.await.expect("aloop task failed");
            }
            (t.elapsed(), sum)
        }),
        Runtime::TokioCt | Runtime::TokioMt => rt::tokio(runtime, async move {
            let t = Instant::now();
            let handles: Vec<_> = (0..n).map(|i| tokio::spawn(async move { i })).collect();
            let mut sum = 0;
            for h in handles {
                sum += h.await.expect("tokio task failed");
            }
            (t.elapsed(), sum)
        }),
        Runtime::Smol => rt::smol(move |ex| async move {
            let t = Instant::now();
            let handles: Vec<_> = (0..n).map(|i| ex.spawn(async move { i })).collect();
            let mut sum = 0;
            for h in handles {
                sum += h.await;
            }
            (t.elapsed(), sum)
        }),
    };
    Outcome::new(n, elapsed, sum == n * (n - 1) / 2)
}
