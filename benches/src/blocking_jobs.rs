//! Workload "blocking": 20,000 small blocking jobs (a few hundred ns of arithmetic each)
//! sent to each runtime's thread pool, 64 in flight: 64 driver tasks each take the next
//! job number, submit it, await its result, repeat. The sum of results is checked
//! against the same jobs run inline.
//!
//! aloop: `loop.run_in_executor(Some(&pool), f)` on an aloop-blocking pool of its default
//! size (Python's `min(32, cores + 4)`); tokio: `spawn_blocking` (its pool grows on
//! demand, up to 512 threads); smol: `blocking::unblock` (grows on demand, up to 500).
//! Each runtime picks its own thread count, as its users would get; `workers` in the
//! JSON records aloop's. This measures the hand-off both ways (submit → worker wake →
//! completion → loop wake), not the jobs.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use crate::{rt, Outcome, Runtime, Scale};

const FULL: u64 = 20_000;
const IN_FLIGHT: u64 = 64;

/// The blocking job: a short LCG walk seeded by the job number.
fn job(i: u64) -> u64 {
    let mut x = i;
    for _ in 0..200 {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
    }
    x >> 32
}

pub fn run(runtime: Runtime, scale: Scale) -> Outcome {
    let n = scale.n(FULL);
    let expected: u64 = (0..n).map(job).sum();
    let workers = aloop_blocking::default_max_workers();
    let (elapsed, sum) = match runtime {
        Runtime::Aloop => rt::aloop(async move {
            let pool = aloop_blocking::ThreadPoolExecutor::new(workers).expect("pool");
            let next = Rc::new(Cell::new(0u64));
            let t = Instant::now();
            let drivers: Vec<_> = (0..IN_FLIGHT)
                .map(|_| {
                    let (pool, next) = (pool.clone(), next.clone());
                    aloop::create_task(async move {
                        let lp = aloop::get_running_loop().expect("in a task");
                        let mut sum = 0u64;
                        loop {
                            let i = next.get();
                            if i >= n {
                                return sum;
                            }
                            next.set(i + 1);
                            sum += lp
                                .run_in_executor(Some(&pool), move || job(i))
                                .await
                                .expect("job failed");
                        }
                    })
                })
                .collect();
            let mut sum = 0;
            for d in drivers {
                sum += d.await.expect("driver failed");
            }
            let elapsed = t.elapsed();
            pool.shutdown(true, false);
            (elapsed, sum)
        }),
        Runtime::TokioCt | Runtime::TokioMt => rt::tokio(runtime, async move {
            let next = Arc::new(AtomicU64::new(0));
            let t = Instant::now();
            let drivers: Vec<_> = (0..IN_FLIGHT)
                .map(|_| {
                    let next = next.clone();
                    tokio::spawn(async move {
                        let mut sum = 0u64;
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if i >= n {
                                return sum;
                            }
                            sum += tokio::task::spawn_blocking(move || job(i))
                                .await
                                .expect("job failed");
                        }
                    })
                })
                .collect();
            let mut sum = 0;
            for d in drivers {
                sum += d.await.expect("driver failed");
            }
            (t.elapsed(), sum)
        }),
        Runtime::Smol => rt::smol(move |ex| async move {
            let next = Rc::new(Cell::new(0u64));
            let t = Instant::now();
            let drivers: Vec<_> = (0..IN_FLIGHT)
                .map(|_| {
                    let next = next.clone();
                    ex.spawn(async move {
                        let mut sum = 0u64;
                        loop {
                            let i = next.get();
                            if i >= n {
                                return sum;
                            }
                            next.set(i + 1);
                            sum += blocking::unblock(move || job(i)).await;
                        }
                    })
                })
                .collect();
            let mut sum = 0;
            for d in drivers {
                sum += d.await;
            }
            (t.elapsed(), sum)
        }),
    };
    let out = Outcome::new(n, elapsed, sum == expected);
    match runtime {
        Runtime::Aloop => out.with("workers", workers as f64),
        _ => out,
    }
}
