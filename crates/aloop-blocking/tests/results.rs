//! Results, panics, cancellation and the `JobFuture` state queries, checked
//! from plain threads (`wait`, `wait_timeout`).
#![cfg(not(loom))]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::thread;
use std::time::Duration;

mod common;
use common::eventually;

use aloop_blocking::{JobError, JobFuture, ThreadPoolExecutor};

/// A job that blocks its worker until the returned sender is used (or dropped).
fn blocker(pool: &ThreadPoolExecutor) -> (mpsc::Sender<()>, JobFuture<()>) {
    let (tx, rx) = mpsc::channel::<()>();
    let fut = pool.submit(move || {
        let _ = rx.recv();
    });
    (tx, fut.expect("submit"))
}

#[test]
fn each_job_returns_its_own_index() {
    let pool = ThreadPoolExecutor::new(4).expect("pool");
    let futs: Vec<_> = (0..1000usize)
        .map(|i| pool.submit(move || i).expect("submit"))
        .collect();
    for (i, f) in futs.into_iter().enumerate() {
        assert_eq!(f.wait().expect("job"), i);
    }
}

#[test]
fn a_panic_is_an_error_and_the_worker_keeps_serving() {
    let pool = ThreadPoolExecutor::new(1).expect("pool");
    let first_thread = pool
        .submit(|| thread::current().id())
        .expect("submit")
        .wait()
        .expect("job");
    let err = pool
        .submit(|| -> u32 { panic!("job exploded") })
        .expect("submit")
        .wait()
        .unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.panic_message(), Some("job exploded"));
    let payload = err.into_panic().expect("payload");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"job exploded"));
    // Same single thread, still alive and serving.
    let after = pool
        .submit(|| thread::current().id())
        .expect("submit")
        .wait()
        .expect("job");
    assert_eq!(after, first_thread);
    assert_eq!(pool.worker_count(), 1);
    // A formatted panic message (String payload) is reported too.
    let err = pool
        .submit(|| -> u32 { panic!("n = {}", 7) })
        .expect("submit")
        .wait()
        .unwrap_err();
    assert_eq!(err.panic_message(), Some("n = 7"));
}

#[test]
fn dropping_a_queued_future_means_the_job_never_runs() {
    let pool = ThreadPoolExecutor::new(1).expect("pool");
    let (release, gate) = blocker(&pool);
    let ran = Arc::new(AtomicBool::new(false));
    let r = Arc::clone(&ran);
    let queued = pool
        .submit(move || r.store(true, Ordering::SeqCst))
        .expect("submit");
    drop(queued);
    release.send(()).expect("release");
    gate.wait().expect("blocker");
    // A job submitted after it runs only once the dropped one was skipped.
    pool.submit(|| ()).expect("submit").wait().expect("job");
    pool.shutdown(true, false);
    assert!(!ran.load(Ordering::SeqCst), "a cancelled job ran");
}

#[test]
fn dropping_a_running_future_lets_the_job_finish() {
    let pool = ThreadPoolExecutor::new(1).expect("pool");
    let (started_tx, started) = mpsc::channel::<()>();
    let (release, gate) = mpsc::channel::<()>();
    let finished = Arc::new(AtomicBool::new(false));
    let f2 = Arc::clone(&finished);
    let fut = pool
        .submit(move || {
            let _ = started_tx.send(());
            let _ = gate.recv();
            f2.store(true, Ordering::SeqCst);
            String::from("discarded")
        })
        .expect("submit");
    started.recv().expect("started");
    assert!(fut.running());
    drop(fut);
    release.send(()).expect("release");
    pool.shutdown(true, false);
    assert!(finished.load(Ordering::SeqCst));
}

#[test]
fn cancel_succeeds_only_before_the_job_starts() {
    let pool = ThreadPoolExecutor::new(1).expect("pool");
    let (release, gate) = blocker(&pool);
    assert!(eventually(|| gate.running()));
    let ran = Arc::new(AtomicBool::new(false));
    let r = Arc::clone(&ran);
    let queued = pool
        .submit(move || r.store(true, Ordering::SeqCst))
        .expect("submit");
    assert!(!queued.done());
    assert!(!gate.cancel(), "a running job cannot be cancelled");
    assert!(queued.cancel());
    assert!(!queued.cancel(), "second cancel reports false");
    assert!(queued.cancelled() && queued.done());
    release.send(()).expect("release");
    assert!(gate.wait().is_ok());
    assert!(matches!(queued.wait(), Err(JobError::Cancelled)));
    let finished = pool.submit(|| 5).expect("submit");
    let mut finished2 = finished;
    assert_eq!(
        finished2
            .wait_timeout(Duration::from_secs(30))
            .expect("done")
            .expect("ok"),
        5
    );
    assert!(finished2.done() && !finished2.cancel());
    // Asking again is a typed error, not a panic.
    assert!(matches!(
        finished2.wait_timeout(Duration::ZERO),
        Some(Err(JobError::AlreadyTaken))
    ));
    pool.shutdown(true, false);
    assert!(!ran.load(Ordering::SeqCst));
}

#[test]
fn wait_timeout_returns_none_then_the_value() {
    let pool = ThreadPoolExecutor::new(1).expect("pool");
    let (release, gate) = mpsc::channel::<()>();
    let mut fut = pool
        .submit(move || {
            let _ = gate.recv();
            "late"
        })
        .expect("submit");
    assert!(fut.wait_timeout(Duration::from_millis(20)).is_none());
    assert!(!fut.done());
    release.send(()).expect("release");
    assert_eq!(
        fut.wait_timeout(Duration::from_secs(30))
            .expect("in time")
            .expect("ok"),
        "late"
    );
}

#[test]
fn map_returns_results_in_input_order() {
    let pool = ThreadPoolExecutor::new(4).expect("pool");
    // Later items finish first; the order must still be the input order.
    let out: Vec<u64> = pool
        .map(
            |i: u64| {
                thread::sleep(Duration::from_millis(20 - i));
                i * 10
            },
            0..20,
        )
        .expect("map")
        .collect::<Result<_, _>>()
        .expect("jobs");
    assert_eq!(out, (0..20).map(|i| i * 10).collect::<Vec<_>>());

    let mut m = pool
        .map(
            |i: i32| if i == 1 { panic!("item 1") } else { i },
            [0, 1, 2],
        )
        .expect("map");
    assert_eq!(m.len(), 3);
    assert_eq!(m.next().map(|r| r.ok()), Some(Some(0)));
    assert!(m.next().expect("item").unwrap_err().is_panic());
    assert_eq!(m.next().map(|r| r.ok()), Some(Some(2)));
    assert!(m.next().is_none());
}

#[test]
fn dropping_a_map_cancels_unstarted_items() {
    let pool = ThreadPoolExecutor::new(1).expect("pool");
    let (release, gate) = blocker(&pool);
    let ran = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&ran);
    let m = pool
        .map(move |_: u8| r.fetch_add(1, Ordering::SeqCst), 0..10)
        .expect("map");
    drop(m);
    release.send(()).expect("release");
    gate.wait().expect("blocker");
    pool.shutdown(true, false);
    assert_eq!(ran.load(Ordering::SeqCst), 0);
}

#[test]
fn futures_are_send_and_sync_and_debug() {
    fn assert_send_sync<X: Send + Sync>(_: &X) {}
    let pool = ThreadPoolExecutor::new(1).expect("pool");
    let fut = pool
        .submit(|| std::rc::Rc::strong_count(&std::rc::Rc::new(1)) as u8)
        .expect("submit");
    assert_send_sync(&fut);
    assert_send_sync(&pool);
    assert!(format!("{fut:?}").starts_with("JobFuture"));
    assert!(format!("{pool:?}").contains("max_workers: 1"));
    // Waitable from another thread than the submitter.
    let v = thread::spawn(move || fut.wait())
        .join()
        .expect("thread")
        .expect("job");
    assert_eq!(v, 1);
}

/// Panics when dropped.
struct PanicOnDrop;

impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !thread::panicking() {
            panic!("dropping the result panicked");
        }
    }
}

#[test]
fn a_result_whose_drop_panics_does_not_kill_the_worker() {
    let pool = ThreadPoolExecutor::new(1).expect("pool");
    let (started_tx, started) = mpsc::channel::<()>();
    let (release, gate) = mpsc::channel::<()>();
    let fut = pool
        .submit(move || {
            let _ = started_tx.send(());
            let _ = gate.recv();
            PanicOnDrop
        })
        .expect("submit");
    started.recv().expect("started");
    drop(fut); // the worker will drop the unclaimed result
    release.send(()).expect("release");
    assert_eq!(pool.submit(|| 3).expect("submit").wait().expect("job"), 3);
    assert_eq!(pool.worker_count(), 1);
    pool.shutdown(true, false);
    assert_eq!(pool.worker_count(), 0);
}
