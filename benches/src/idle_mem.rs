//! Workload "idle-mem": bytes of memory per idle task. Spawns 100,000 tasks that each
//! count themselves as started and then park forever on a never-ready future, lets every
//! one be polled once, and divides the growth of the resident set (`/proc/self/statm`)
//! by 100,000. Handles are dropped/detached first so only the runtime's own per-task
//! memory (task cell, future, registry entry) is counted, not a `Vec` of join handles.
//!
//! The check: all 100,000 tasks started. ops/s is the spawn rate (spawn only, no join).
//! RSS also counts the allocator's overhead per allocation (glibc malloc here), which is
//! part of what a task really costs.

use std::cell::Cell;
use std::future::pending;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{rt, Outcome, Runtime, Scale};

const FULL: u64 = 100_000;
/// Long enough for every runtime to have polled every spawned task once.
const SETTLE: Duration = Duration::from_millis(50);

/// Resident set size in bytes: statm's second field (pages) × the page size.
fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("read /proc/self/statm");
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("statm: resident pages");
    pages * page_size()
}

/// The page size from the ELF auxiliary vector (AT_PAGESZ = 6), without libc.
fn page_size() -> u64 {
    let auxv = std::fs::read("/proc/self/auxv").unwrap_or_default();
    auxv.chunks_exact(16)
        .map(|kv| {
            let word = |b: &[u8]| u64::from_ne_bytes(b.try_into().expect("8 bytes"));
            (word(&kv[..8]), word(&kv[8..]))
        })
        .find(|&(k, _)| k == 6)
        .map_or(4096, |(_, v)| v)
}

pub fn run(runtime: Runtime, scale: Scale) -> Outcome {
    let n = scale.n(FULL);
    // (spawn time, RSS growth in bytes, tasks that started)
    let (elapsed, grown, started) = match runtime {
        Runtime::Aloop => rt::aloop(async move {
            let started = Rc::new(Cell::new(0u64));
            let before = rss_bytes();
            let t = Instant::now();
            for _ in 0..n {
                let started = started.clone();
                // Dropping an aloop Task handle does not cancel it: the loop keeps it.
                drop(aloop::create_task(async move {
                    started.set(started.get() + 1);
                    pending::<()>().await
                }));
            }
            let elapsed = t.elapsed();
            aloop::sleep(SETTLE).await;
            let grown = rss_bytes().saturating_sub(before);
            (elapsed, grown, started.get())
        }),
        Runtime::TokioCt | Runtime::TokioMt => rt::tokio(runtime, async move {
            let started = Arc::new(AtomicU64::new(0));
            let before = rss_bytes();
            let t = Instant::now();
            for _ in 0..n {
                let started = started.clone();
                // Dropping a JoinHandle detaches the task.
                drop(tokio::spawn(async move {
                    started.fetch_add(1, Ordering::Relaxed);
                    pending::<()>().await
                }));
            }
            let elapsed = t.elapsed();
            tokio::time::sleep(SETTLE).await;
            let grown = rss_bytes().saturating_sub(before);
            (elapsed, grown, started.load(Ordering::Relaxed))
        }),
        Runtime::Smol => rt::smol(move |ex| async move {
            let started = Rc::new(Cell::new(0u64));
            let before = rss_bytes();
            let t = Instant::now();
            for _ in 0..n {
                let started = started.clone();
                ex.spawn(async move {
                    started.set(started.get() + 1);
                    pending::<()>().await
                })
                .detach();
            }
            let elapsed = t.elapsed();
            async_io::Timer::after(SETTLE).await;
            let grown = rss_bytes().saturating_sub(before);
            (elapsed, grown, started.get())
        }),
    };
    Outcome::new(n, elapsed, started == n).with("bytes_per_task", grown as f64 / n as f64)
}
