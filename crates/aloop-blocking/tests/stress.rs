//! Stress: many submitting threads, cancellation racing the workers,
//! shutdown racing submits, and keep-alive retirement racing submits. Every
//! job is accounted for exactly once and no future hangs.
#![cfg(not(loom))]

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use aloop_blocking::{JobError, SubmitError, ThreadPoolExecutor};

const THREADS: usize = 8;
const JOBS: usize = 10_000;

/// Generous bound on how long any single future may take; a hang fails.
const PATIENCE: Duration = Duration::from_secs(60);

#[test]
fn eight_threads_times_ten_thousand_jobs_each_result_exactly_once() {
    let pool = ThreadPoolExecutor::new(4).expect("pool");
    let runs: Arc<Vec<AtomicU8>> =
        Arc::new((0..THREADS * JOBS).map(|_| AtomicU8::new(0)).collect());
    let submitters: Vec<_> = (0..THREADS)
        .map(|t| {
            let (pool, runs) = (pool.clone(), Arc::clone(&runs));
            thread::spawn(move || {
                let mut seen = vec![false; JOBS];
                let mut cancelled = Vec::new();
                let mut futs = Vec::with_capacity(JOBS);
                for i in 0..JOBS {
                    let id = t * JOBS + i;
                    let runs = Arc::clone(&runs);
                    let fut = pool
                        .submit(move || {
                            runs[id].fetch_add(1, Ordering::SeqCst);
                            id
                        })
                        .expect("submit");
                    // Every 7th job races a cancel against the workers.
                    if i % 7 == 3 && fut.cancel() {
                        cancelled.push(id);
                    }
                    futs.push((i, fut));
                }
                for (n, (i, fut)) in futs.into_iter().enumerate() {
                    let r = if n % 2 == 0 {
                        fut.wait()
                    } else {
                        futures_executor::block_on(fut)
                    };
                    match r {
                        Ok(id) => {
                            assert_eq!(id, t * JOBS + i, "a result came back in the wrong future");
                            assert!(!seen[i], "result {i} delivered twice");
                            seen[i] = true;
                        }
                        Err(JobError::Cancelled) => assert!(cancelled.contains(&(t * JOBS + i))),
                        Err(e) => panic!("unexpected {e}"),
                    }
                }
                (seen, cancelled)
            })
        })
        .collect();
    let mut delivered = 0;
    let mut cancelled_total = 0;
    for (t, h) in submitters.into_iter().enumerate() {
        let (seen, cancelled) = h.join().expect("submitter");
        for (i, s) in seen.iter().enumerate() {
            let id = t * JOBS + i;
            let ran = runs[id].load(Ordering::SeqCst);
            if *s {
                assert_eq!(ran, 1, "job {id} ran {ran} times");
            } else {
                assert!(cancelled.contains(&id));
                assert_eq!(ran, 0, "cancelled job {id} ran");
            }
        }
        delivered += seen.iter().filter(|s| **s).count();
        cancelled_total += cancelled.len();
    }
    assert_eq!(delivered + cancelled_total, THREADS * JOBS);
    pool.shutdown(true, false);
    assert_eq!(pool.worker_count(), 0);
}

#[test]
fn shutdown_racing_submits_never_strands_a_job() {
    for round in 0..20 {
        let pool = ThreadPoolExecutor::new(3).expect("pool");
        let ran = Arc::new(AtomicUsize::new(0));
        let submitters: Vec<_> = (0..4)
            .map(|_| {
                let (pool, ran) = (pool.clone(), Arc::clone(&ran));
                thread::spawn(move || {
                    let mut accepted = Vec::new();
                    loop {
                        let r = Arc::clone(&ran);
                        match pool.submit(move || {
                            r.fetch_add(1, Ordering::SeqCst);
                        }) {
                            Ok(f) => accepted.push(f),
                            Err(SubmitError::Shutdown) => break,
                            Err(e) => panic!("unexpected {e}"),
                        }
                    }
                    accepted
                })
            })
            .collect();
        thread::sleep(Duration::from_millis(2));
        let cancel = round % 2 == 1;
        pool.shutdown(true, cancel);
        assert_eq!(
            pool.worker_count(),
            0,
            "round {round}: shutdown(wait) left a worker"
        );
        let mut ok = 0;
        for h in submitters {
            for mut f in h.join().expect("submitter") {
                match f
                    .wait_timeout(PATIENCE)
                    .expect("an accepted job's future hung")
                {
                    Ok(()) => ok += 1,
                    Err(JobError::Cancelled) => assert!(cancel, "cancelled without cancel_futures"),
                    Err(e) => panic!("unexpected {e}"),
                }
            }
        }
        assert_eq!(
            ran.load(Ordering::SeqCst),
            ok,
            "round {round}: runs != delivered results"
        );
    }
}

#[test]
fn retirement_racing_submits_never_strands_a_job() {
    // A 1 ms keep-alive makes workers retire constantly between submits.
    let pool = ThreadPoolExecutor::builder()
        .max_workers(2)
        .keep_alive(Duration::from_millis(1))
        .build()
        .expect("pool");
    let submitters: Vec<_> = (0..3u64)
        .map(|t| {
            let pool = pool.clone();
            thread::spawn(move || {
                for i in 0..300u64 {
                    if i % 10 == 0 {
                        thread::sleep(Duration::from_millis(1));
                    }
                    let mut f = pool.submit(move || t * 1000 + i).expect("submit");
                    let v = f
                        .wait_timeout(PATIENCE)
                        .expect("job stranded")
                        .expect("job");
                    assert_eq!(v, t * 1000 + i);
                    assert!(pool.worker_count() <= 2);
                }
            })
        })
        .collect();
    for h in submitters {
        h.join().expect("submitter");
    }
}

#[test]
fn awaiters_switching_wakers_are_always_woken() {
    // Poll each future first from a tokio task that gives up (timeout), then
    // block on it: the second waiter must replace the first one's waker.
    let pool = ThreadPoolExecutor::new(2).expect("pool");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    for i in 0..2000u32 {
        let mut fut = pool
            .submit(move || {
                if i % 3 == 0 {
                    thread::yield_now();
                }
                i
            })
            .expect("submit");
        let first =
            rt.block_on(async { tokio::time::timeout(Duration::ZERO, &mut fut).await.ok() });
        let v = match first {
            Some(r) => r.expect("job"),
            None => fut.wait_timeout(PATIENCE).expect("not woken").expect("job"),
        };
        assert_eq!(v, i);
    }
}

#[test]
fn worker_count_reads_zero_at_every_instant_after_shutdown_wait() {
    // Submits in flight when the pool shuts down may reserve a worker slot
    // and give it back; `worker_count` must never report such a slot as a
    // thread once `shutdown(wait = true)` has joined them all.
    for round in 0..200 {
        let pool = ThreadPoolExecutor::new(2).expect("pool");
        let submitters: Vec<_> = (0..3)
            .map(|_| {
                let pool = pool.clone();
                thread::spawn(move || while pool.submit(|| ()).is_ok() {})
            })
            .collect();
        thread::sleep(Duration::from_micros(200));
        pool.shutdown(true, round % 2 == 1);
        while !submitters.iter().all(|h| h.is_finished()) {
            assert_eq!(pool.worker_count(), 0, "round {round}");
        }
        for h in submitters {
            h.join().expect("submitter");
        }
        assert_eq!(pool.worker_count(), 0, "round {round}");
    }
}
