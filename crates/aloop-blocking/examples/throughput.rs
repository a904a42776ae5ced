//! Throughput of small blocking jobs with a bounded number in flight, from an
//! async task: `aloop-blocking` against `tokio::task::spawn_blocking`.
//!
//! `cargo run --release -p aloop-blocking --example throughput [jobs] [in_flight]`
//! (defaults 20000 and 64). Numbers on a busy machine are noisy: compare
//! several runs.

use std::collections::VecDeque;
use std::future::Future;
use std::time::Instant;

use aloop_blocking::ThreadPoolExecutor;

/// Awaits `jobs` jobs with at most `in_flight` outstanding, oldest first.
async fn window<F, Fut>(jobs: u64, in_flight: usize, mut submit: F) -> u64
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = u64>,
{
    let mut queue = VecDeque::with_capacity(in_flight);
    let (mut next, mut sum) = (0, 0u64);
    while next < jobs || !queue.is_empty() {
        while next < jobs && queue.len() < in_flight {
            queue.push_back(submit(next));
            next += 1;
        }
        if let Some(f) = queue.pop_front() {
            sum = sum.wrapping_add(f.await);
        }
    }
    sum
}

fn job(i: u64) -> u64 {
    std::hint::black_box(i.wrapping_mul(2_654_435_761))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let jobs: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(20_000);
    let in_flight: usize = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64)
        .max(1);
    let rt = tokio::runtime::Builder::new_current_thread().build()?;
    let pool = ThreadPoolExecutor::default();
    for rep in 0..5 {
        let t = Instant::now();
        let a = rt.block_on(window(jobs, in_flight, |i| {
            let fut = pool.submit(move || job(i)).ok();
            async move {
                match fut {
                    Some(f) => f.await.unwrap_or(0),
                    None => 0,
                }
            }
        }));
        let ours = t.elapsed();
        let t = Instant::now();
        let b = rt.block_on(window(jobs, in_flight, |i| {
            let handle = tokio::task::spawn_blocking(move || job(i));
            async move { handle.await.unwrap_or(0) }
        }));
        let theirs = t.elapsed();
        if a != b {
            return Err("results differ".into());
        }
        let rate = |d: std::time::Duration| jobs as f64 / d.as_secs_f64() / 1e3;
        println!(
            "rep {rep}: aloop-blocking {:8.1} k jobs/s ({} threads) | tokio spawn_blocking {:8.1} k jobs/s",
            rate(ours),
            pool.worker_count(),
            rate(theirs)
        );
    }
    pool.shutdown(true, false);
    Ok(())
}
