//! No thread leak: the process's thread count (from /proc/self/task) returns
//! to its starting value after pools are created, used and dropped. One test
//! in its own binary, so no other test's threads are counted.
#![cfg(not(loom))]

use std::thread;
use std::time::Duration;

use aloop_blocking::ThreadPoolExecutor;

/// Threads of this process, or `None` where /proc is unavailable.
fn thread_count() -> Option<usize> {
    std::fs::read_dir("/proc/self/task").ok().map(|d| d.count())
}

/// Polls for up to 5 s for the count to come back down to `target`.
fn settles_to(target: usize) -> bool {
    for _ in 0..500 {
        if thread_count() == Some(target) {
            return true;
        }
        thread::sleep(Duration::from_millis(10));
    }
    thread_count() == Some(target)
}

#[test]
fn pools_leave_no_thread_behind() {
    let Some(before) = thread_count() else {
        eprintln!("no /proc/self/task: skipping");
        return;
    };

    // Joined explicitly.
    let pool = ThreadPoolExecutor::new(4).expect("pool");
    let futs: Vec<_> = (0..200)
        .map(|i| pool.submit(move || i).expect("submit"))
        .collect();
    for f in futs {
        f.wait().expect("job");
    }
    assert!(
        thread_count().is_some_and(|n| n > before),
        "the pool started threads"
    );
    pool.shutdown(true, false);
    assert!(
        settles_to(before),
        "shutdown(wait) left threads: {:?} vs {before}",
        thread_count()
    );

    // Dropped without shutdown, workers idle with a long keep-alive.
    for _ in 0..5 {
        let pool = ThreadPoolExecutor::builder()
            .max_workers(3)
            .keep_alive(Duration::from_secs(3600))
            .build()
            .expect("pool");
        let clone = pool.clone();
        let futs: Vec<_> = (0..50)
            .map(|i| clone.submit(move || i * 2).expect("submit"))
            .collect();
        drop(pool);
        for f in futs {
            f.wait().expect("job");
        }
        drop(clone);
    }
    assert!(
        settles_to(before),
        "dropped pools left threads: {:?} vs {before}",
        thread_count()
    );

    // Dropped with jobs still queued and a panicking job among them.
    let pool = ThreadPoolExecutor::new(2).expect("pool");
    let futs: Vec<_> = (0..20)
        .map(|i| {
            pool.submit(move || {
                thread::sleep(Duration::from_millis(1));
                if i == 5 {
                    panic!("job 5");
                }
            })
            .expect("submit")
        })
        .collect();
    drop(pool);
    drop(futs); // unstarted jobs are cancelled, running ones finish
    assert!(
        settles_to(before),
        "pool dropped mid-work left threads: {:?} vs {before}",
        thread_count()
    );

    // Workers retired by the keep-alive while the pool stays alive.
    let pool = ThreadPoolExecutor::builder()
        .max_workers(2)
        .keep_alive(Duration::from_millis(20))
        .build()
        .expect("pool");
    pool.submit(|| ()).expect("submit").wait().expect("job");
    assert!(
        settles_to(before),
        "retired workers left threads: {:?} vs {before}",
        thread_count()
    );
    assert_eq!(pool.worker_count(), 0);
}
