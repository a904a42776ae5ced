//! Thread lifecycle: lazy start, the `max_workers` bound, reuse of idle
//! workers, keep-alive retirement and thread names.
#![cfg(not(loom))]

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::Duration;

mod common;
use common::eventually;

use aloop_blocking::ThreadPoolExecutor;

/// Submits `n` jobs that can only finish together (each waits on one barrier), so the
/// pool must run them on `n` threads at once, and waits for all of them; a pool that
/// queued one behind another would deadlock, which fails the test after a minute.
fn run_together(pool: &ThreadPoolExecutor, n: usize) {
    let barrier = Arc::new(Barrier::new(n));
    let futs: Vec<_> = (0..n)
        .map(|_| {
            let b = Arc::clone(&barrier);
            pool.submit(move || {
                b.wait();
            })
            .expect("submit")
        })
        .collect();
    for mut f in futs {
        f.wait_timeout(Duration::from_secs(60))
            .expect("deadlocked")
            .expect("job");
    }
}

#[test]
fn no_thread_starts_before_the_first_submit() {
    let pool = ThreadPoolExecutor::new(8).expect("pool");
    thread::sleep(Duration::from_millis(20));
    assert_eq!(pool.worker_count(), 0);
    assert_eq!(pool.idle_count(), 0);
    pool.submit(|| ()).expect("submit").wait().expect("job");
    assert_eq!(pool.worker_count(), 1, "one job needs one thread");
}

#[test]
fn never_more_than_max_workers_threads() {
    let pool = ThreadPoolExecutor::new(3).expect("pool");
    let names = Arc::new(Mutex::new(HashSet::new()));
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let futs: Vec<_> = (0..1000)
        .map(|_| {
            let (names, running, peak) =
                (Arc::clone(&names), Arc::clone(&running), Arc::clone(&peak));
            pool.submit(move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                if let Ok(mut n) = names.lock() {
                    n.insert(thread::current().id());
                }
                running.fetch_sub(1, Ordering::SeqCst);
            })
            .expect("submit")
        })
        .collect();
    assert!(pool.worker_count() <= 3);
    for f in futs {
        f.wait().expect("job");
    }
    assert!(pool.worker_count() <= 3);
    assert!(peak.load(Ordering::SeqCst) <= 3);
    let distinct = names.lock().map(|n| n.len()).unwrap_or(usize::MAX);
    assert!((1..=3).contains(&distinct), "{distinct} threads ran jobs");
}

#[test]
fn the_pool_grows_to_max_workers_when_jobs_block() {
    let pool = ThreadPoolExecutor::new(4).expect("pool");
    // Four jobs that can only finish together need four threads.
    run_together(&pool, 4);
    assert_eq!(pool.worker_count(), 4);
}

#[test]
fn quick_submits_do_not_all_count_on_one_idle_worker() {
    // One idle worker, then four jobs that can only finish together: each
    // submit after the first must start a thread (Python's idle semaphore
    // behaves the same), otherwise three jobs would queue behind a blocked one.
    for _ in 0..20 {
        let pool = ThreadPoolExecutor::new(4).expect("pool");
        pool.submit(|| ()).expect("submit").wait().expect("job");
        assert!(eventually(|| pool.idle_count() == 1));
        run_together(&pool, 4);
        assert_eq!(pool.worker_count(), 4);
    }
}

#[test]
fn an_idle_worker_is_reused_instead_of_starting_a_new_thread() {
    let pool = ThreadPoolExecutor::new(8).expect("pool");
    for _ in 0..50 {
        pool.submit(|| ()).expect("submit").wait().expect("job");
        // The worker goes idle right after completing; wait until it has.
        assert!(
            eventually(|| pool.idle_count() == 1),
            "idle {} workers {} queued {}",
            pool.idle_count(),
            pool.worker_count(),
            pool.queued_count()
        );
    }
    assert_eq!(pool.worker_count(), 1);
}

#[test]
fn idle_workers_retire_after_the_keep_alive_and_come_back_on_demand() {
    let pool = ThreadPoolExecutor::builder()
        .max_workers(4)
        .keep_alive(Duration::from_millis(50))
        .build()
        .expect("pool");
    run_together(&pool, 4);
    assert!(
        eventually(|| pool.worker_count() == 0),
        "workers did not retire"
    );
    assert_eq!(pool.idle_count(), 0);
    // A later submit starts a thread again.
    assert_eq!(pool.submit(|| 9).expect("submit").wait().expect("job"), 9);
    assert!(pool.worker_count() <= 1);
}

#[test]
fn threads_are_named_prefix_underscore_n() {
    let pool = ThreadPoolExecutor::builder()
        .max_workers(2)
        .thread_name_prefix("blk")
        .build()
        .expect("pool");
    assert_eq!(pool.thread_name_prefix(), "blk");
    let barrier = Arc::new(Barrier::new(2));
    let futs: Vec<_> = (0..2)
        .map(|_| {
            let b = Arc::clone(&barrier);
            pool.submit(move || {
                b.wait();
                thread::current().name().map(String::from)
            })
            .expect("submit")
        })
        .collect();
    let mut names: Vec<String> = futs
        .into_iter()
        .map(|f| f.wait().expect("job").expect("named"))
        .collect();
    names.sort();
    assert_eq!(names, ["blk_0", "blk_1"]);
}

#[test]
fn default_prefix_is_python_style() {
    let pool = ThreadPoolExecutor::new(1).expect("pool");
    let name = pool
        .submit(|| thread::current().name().map(String::from))
        .expect("submit")
        .wait()
        .expect("job")
        .expect("named");
    assert!(name.starts_with("ThreadPoolExecutor-"), "{name}");
    assert!(name.ends_with("_0"), "{name}");
    assert_eq!(name, format!("{}_0", pool.thread_name_prefix()));
}

#[test]
fn zero_workers_is_a_typed_error() {
    let err = ThreadPoolExecutor::new(0).unwrap_err();
    assert!(err.to_string().contains("max_workers"));
    assert!(ThreadPoolExecutor::builder()
        .max_workers(0)
        .build()
        .is_err());
}
