//! Unit tests of the job state machine and waker protocol, driving
//! `Runnable::run` by hand (no pool, no threads unless stated).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use super::{new_job, JobFuture};
use crate::error::JobError;

/// Counts its wake-ups.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

fn counting() -> (Arc<CountingWaker>, Waker) {
    let c = Arc::new(CountingWaker::default());
    (Arc::clone(&c), Waker::from(c))
}

fn poll<T>(fut: &mut JobFuture<T>, waker: &Waker) -> Poll<Result<T, JobError>> {
    Pin::new(fut).poll(&mut Context::from_waker(waker))
}

fn wakes(c: &CountingWaker) -> usize {
    c.0.load(Ordering::SeqCst)
}

#[test]
fn completion_wakes_the_registered_waker_once() {
    let (job, mut fut) = new_job(|| 7);
    let (c, w) = counting();
    assert!(poll(&mut fut, &w).is_pending());
    assert!(
        poll(&mut fut, &w).is_pending(),
        "same waker: no re-registration"
    );
    assert_eq!(wakes(&c), 0);
    job.run();
    assert_eq!(wakes(&c), 1);
    assert!(fut.done());
    assert!(matches!(poll(&mut fut, &w), Poll::Ready(Ok(7))));
    assert!(matches!(
        poll(&mut fut, &w),
        Poll::Ready(Err(JobError::AlreadyTaken))
    ));
    job.run(); // a second run is a no-op
    assert_eq!(wakes(&c), 1);
}

#[test]
fn a_replaced_waker_is_not_woken() {
    let (job, mut fut) = new_job(|| "x");
    let (old, w_old) = counting();
    let (new, w_new) = counting();
    assert!(poll(&mut fut, &w_old).is_pending());
    assert!(poll(&mut fut, &w_new).is_pending());
    job.run();
    assert_eq!(wakes(&old), 0);
    assert_eq!(wakes(&new), 1);
    assert!(matches!(poll(&mut fut, &w_new), Poll::Ready(Ok("x"))));
}

#[test]
fn a_job_done_before_the_first_poll_is_ready_at_once() {
    let (job, mut fut) = new_job(|| 1u8);
    job.run();
    let (c, w) = counting();
    assert!(matches!(poll(&mut fut, &w), Poll::Ready(Ok(1))));
    assert_eq!(wakes(&c), 0);
}

#[test]
fn pool_side_cancel_wakes_and_drops_the_closure_at_once() {
    let captured = Arc::new(());
    let inside = Arc::clone(&captured);
    let (job, mut fut) = new_job(move || Arc::strong_count(&inside));
    let (c, w) = counting();
    assert!(poll(&mut fut, &w).is_pending());
    assert!(job.cancel());
    assert_eq!(wakes(&c), 1);
    assert_eq!(
        Arc::strong_count(&captured),
        1,
        "closure dropped by the cancel"
    );
    assert!(!job.cancel(), "only once");
    job.run(); // the worker dequeues the husk: nothing runs
    assert!(fut.cancelled());
    assert!(matches!(
        poll(&mut fut, &w),
        Poll::Ready(Err(JobError::Cancelled))
    ));
}

#[test]
fn dropping_the_future_cancels_a_queued_job() {
    let runs = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&runs);
    let (job, fut) = new_job(move || r.fetch_add(1, Ordering::SeqCst));
    drop(fut);
    assert_eq!(
        Arc::strong_count(&runs),
        1,
        "closure dropped with the future"
    );
    job.run();
    assert_eq!(runs.load(Ordering::SeqCst), 0);
}

#[test]
fn a_panic_is_stored_as_the_outcome() {
    let (job, fut) = new_job(|| -> u32 { panic!("inside") });
    job.run();
    assert_eq!(fut.wait().unwrap_err().panic_message(), Some("inside"));
}

#[test]
fn state_queries_follow_the_stages() {
    let (job, fut) = new_job(|| ());
    assert!(!fut.done() && !fut.running() && !fut.cancelled());
    assert!(format!("{fut:?}").contains("queued"));
    job.run();
    assert!(fut.done() && !fut.running() && !fut.cancelled());
    assert!(format!("{fut:?}").contains("done"));
    assert!(!fut.cancel());
}

#[test]
fn completion_from_another_thread_wakes_a_blocked_waiter() {
    for _ in 0..200 {
        let (job, fut) = new_job(|| 5u64);
        let worker = std::thread::spawn(move || job.run());
        assert_eq!(fut.wait().ok(), Some(5));
        worker.join().expect("worker");
    }
}

#[test]
fn one_allocation_holds_the_job() {
    // The queue's handle and the future share one Arc.
    let (job, fut) = new_job(|| ());
    assert_eq!(Arc::strong_count(&job), 2);
    drop(fut);
    assert_eq!(Arc::strong_count(&job), 1);
}

#[test]
fn a_detached_future_does_not_cancel_its_job() {
    let runs = Arc::new(AtomicUsize::new(0));
    let r = Arc::clone(&runs);
    let (job, fut) = new_job(move || r.fetch_add(1, Ordering::SeqCst));
    fut.detach();
    job.run();
    assert_eq!(runs.load(Ordering::SeqCst), 1);

    let r = Arc::clone(&runs);
    let (job, mut fut) = new_job(move || r.fetch_add(1, Ordering::SeqCst));
    fut.set_cancel_on_drop(false);
    let (c, w) = counting();
    assert!(poll(&mut fut, &w).is_pending());
    drop(fut);
    job.run();
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    assert_eq!(
        wakes(&c),
        0,
        "the dropped future's waker was released, not woken"
    );
}
