//! Shutdown semantics: refusing new work, running or cancelling queued work,
//! joining the threads, and what dropping the last handle does.
#![cfg(not(loom))]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

mod common;
use common::eventually;

use aloop_blocking::{JobError, SubmitError, ThreadPoolExecutor};

#[test]
fn submit_after_shutdown_is_an_error_and_the_job_is_dropped_unrun() {
    let pool = ThreadPoolExecutor::new(2).expect("pool");
    assert!(!pool.is_shutdown());
    pool.shutdown(false, false);
    assert!(pool.is_shutdown());
    let ran = Arc::new(AtomicBool::new(false));
    let r = Arc::clone(&ran);
    let err = pool
        .submit(move || r.store(true, Ordering::SeqCst))
        .unwrap_err();
    assert!(matches!(err, SubmitError::Shutdown));
    assert!(err.to_string().contains("shut down"));
    assert!(matches!(
        pool.map(|x: u8| x, [1, 2]),
        Err(SubmitError::Shutdown)
    ));
    // Clones see the same state.
    assert!(matches!(
        pool.clone().submit(|| ()),
        Err(SubmitError::Shutdown)
    ));
    assert!(!ran.load(Ordering::SeqCst));
    assert_eq!(
        Arc::strong_count(&ran),
        1,
        "the refused closure was dropped"
    );
}

#[test]
fn queued_jobs_still_run_without_cancel_futures() {
    let pool = ThreadPoolExecutor::new(1).expect("pool");
    let (release, gate) = mpsc::channel::<()>();
    let first = pool.submit(move || gate.recv().is_ok()).expect("submit");
    let count = Arc::new(AtomicUsize::new(0));
    let queued: Vec<_> = (0..10)
        .map(|i| {
            let c = Arc::clone(&count);
            pool.submit(move || {
                c.fetch_add(1, Ordering::SeqCst);
                i
            })
            .expect("submit")
        })
        .collect();
    let p2 = pool.clone();
    let waiter = thread::spawn(move || p2.shutdown(true, false));
    release.send(()).expect("release");
    waiter.join().expect("shutdown thread");
    // shutdown(wait = true) returned: everything ran and the thread is gone.
    assert_eq!(count.load(Ordering::SeqCst), 10);
    assert_eq!(pool.worker_count(), 0);
    assert!(first.wait().expect("first"));
    for (i, f) in queued.into_iter().enumerate() {
        assert!(f.done());
        assert_eq!(f.wait().expect("queued job"), i);
    }
}

#[test]
fn cancel_futures_cancels_queued_jobs_and_wakes_their_waiters() {
    let pool = ThreadPoolExecutor::new(1).expect("pool");
    let (started_tx, started) = mpsc::channel::<()>();
    let (release, gate) = mpsc::channel::<()>();
    let running = pool
        .submit(move || {
            let _ = started_tx.send(());
            let _ = gate.recv();
            "finished"
        })
        .expect("submit");
    started.recv().expect("started");
    let ran = Arc::new(AtomicUsize::new(0));
    let queued: Vec<_> = (0..5)
        .map(|_| {
            let r = Arc::clone(&ran);
            pool.submit(move || r.fetch_add(1, Ordering::SeqCst))
                .expect("submit")
        })
        .collect();
    // Block a thread on one of them: the cancellation must wake it.
    let mut queued = queued.into_iter();
    let blocked = queued.next().expect("first queued");
    let waiter = thread::spawn(move || blocked.wait());
    thread::sleep(Duration::from_millis(20));
    pool.shutdown(false, true);
    assert!(matches!(
        waiter.join().expect("waiter"),
        Err(JobError::Cancelled)
    ));
    for f in queued {
        assert!(f.cancelled());
        assert!(matches!(f.wait(), Err(JobError::Cancelled)));
    }
    // The running job is not interrupted.
    release.send(()).expect("release");
    assert_eq!(running.wait().expect("running job"), "finished");
    pool.shutdown(true, false);
    assert_eq!(ran.load(Ordering::SeqCst), 0);
    assert_eq!(pool.worker_count(), 0);
}

#[test]
fn shutdown_wait_joins_every_worker() {
    let pool = ThreadPoolExecutor::new(4).expect("pool");
    let (release, gate) = mpsc::channel::<()>();
    let gate = Arc::new(std::sync::Mutex::new(gate));
    let futs: Vec<_> = (0..4)
        .map(|_| {
            let g = Arc::clone(&gate);
            pool.submit(move || {
                thread::sleep(Duration::from_millis(30));
                let _ = g.lock().map(|g| g.try_recv());
            })
            .expect("submit")
        })
        .collect();
    assert!(pool.worker_count() >= 1);
    drop(release);
    pool.shutdown(true, false);
    assert_eq!(pool.worker_count(), 0);
    assert!(futs.iter().all(|f| f.done()));
    // A second shutdown is harmless.
    pool.shutdown(true, true);
}

#[test]
fn shutdown_wait_from_inside_a_job_does_not_deadlock() {
    let pool = ThreadPoolExecutor::new(2).expect("pool");
    let p2 = pool.clone();
    let fut = pool
        .submit(move || {
            p2.shutdown(true, false);
            p2.is_shutdown()
        })
        .expect("submit");
    let mut fut = fut;
    let out = fut
        .wait_timeout(Duration::from_secs(30))
        .expect("shutdown inside a job returned");
    assert!(out.expect("job"));
    pool.shutdown(true, false);
    assert_eq!(pool.worker_count(), 0);
}

#[test]
fn dropping_the_last_handle_runs_queued_work() {
    let pool = ThreadPoolExecutor::builder()
        .max_workers(2)
        .keep_alive(Duration::from_secs(3600))
        .build()
        .expect("pool");
    let clone = pool.clone();
    assert!(pool.ptr_eq(&clone));
    let count = Arc::new(AtomicUsize::new(0));
    let futs: Vec<_> = (0..50)
        .map(|_| {
            let c = Arc::clone(&count);
            pool.submit(move || {
                thread::sleep(Duration::from_millis(1));
                c.fetch_add(1, Ordering::SeqCst);
            })
            .expect("submit")
        })
        .collect();
    drop(pool);
    assert!(!clone.is_shutdown(), "a live clone keeps the pool open");
    clone
        .submit(|| ())
        .expect("still accepting work")
        .wait()
        .expect("job");
    drop(clone);
    for f in futs {
        f.wait().expect("queued work runs after the drop");
    }
    assert_eq!(count.load(Ordering::SeqCst), 50);
}

/// Counts worker threads that have exited: dropped with the thread's locals.
static EXITED: AtomicUsize = AtomicUsize::new(0);

struct ExitGuard;

impl Drop for ExitGuard {
    fn drop(&mut self) {
        EXITED.fetch_add(1, Ordering::SeqCst);
    }
}

thread_local! {
    static GUARD: ExitGuard = const { ExitGuard };
}

#[test]
fn dropping_the_pool_lets_workers_exit_despite_a_long_keep_alive() {
    let pool = ThreadPoolExecutor::builder()
        .max_workers(3)
        .keep_alive(Duration::from_secs(3600))
        .build()
        .expect("pool");
    let (go_tx, go) = mpsc::channel::<()>();
    let go = Arc::new(std::sync::Mutex::new(go));
    let (ids_tx, ids) = mpsc::channel();
    // Three jobs held until all three started, so three distinct threads.
    let started = Arc::new(std::sync::Barrier::new(3));
    let futs: Vec<_> = (0..3)
        .map(|_| {
            let (b, g, tx) = (Arc::clone(&started), Arc::clone(&go), ids_tx.clone());
            pool.submit(move || {
                GUARD.with(|_| ());
                let _ = tx.send(thread::current().id());
                b.wait();
                let _ = g.lock().map(|g| g.recv_timeout(Duration::from_secs(30)));
            })
            .expect("submit")
        })
        .collect();
    drop(ids_tx);
    let distinct: std::collections::HashSet<_> = ids.iter().take(3).collect();
    assert_eq!(distinct.len(), 3);
    assert_eq!(pool.worker_count(), 3);
    drop(go_tx);
    for f in futs {
        f.wait().expect("job");
    }
    assert_eq!(
        EXITED.load(Ordering::SeqCst),
        0,
        "idle workers wait for the keep-alive"
    );
    drop(pool);
    assert!(
        eventually(|| EXITED.load(Ordering::SeqCst) == 3),
        "workers still alive after the drop"
    );
}

#[test]
fn a_thread_that_cannot_start_is_a_typed_error_not_a_panic() {
    // No system can map a 2^47-byte stack, so spawning the first worker fails.
    let pool = ThreadPoolExecutor::builder()
        .max_workers(2)
        .stack_size(1 << 47)
        .build()
        .expect("pool");
    let ran = Arc::new(AtomicBool::new(false));
    let r = Arc::clone(&ran);
    match pool.submit(move || r.store(true, Ordering::SeqCst)) {
        Err(SubmitError::Spawn(e)) => {
            assert!(SubmitError::Spawn(e).to_string().contains("worker thread"));
        }
        other => panic!("expected a spawn error, got {other:?}"),
    }
    assert_eq!(pool.worker_count(), 0);
    assert!(!ran.load(Ordering::SeqCst));
    assert_eq!(
        Arc::strong_count(&ran),
        1,
        "the refused closure was dropped"
    );
    pool.shutdown(true, false);
}
