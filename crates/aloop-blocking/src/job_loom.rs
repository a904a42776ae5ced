//! Loom models of the job protocol (`--cfg loom`): every interleaving of a
//! worker finishing or a canceller cancelling against the future polling,
//! re-registering or being dropped. They check for data races on the cells
//! (loom tracks every `UnsafeCell` access) and for lost wake-ups.
//!
//! `RUSTFLAGS="--cfg loom" cargo test -p aloop-blocking --lib --release`

use std::sync::Arc;
use std::task::{Poll, Wake, Waker};

use loom::sync::atomic::{AtomicBool, AtomicUsize};
use loom::thread;
use std::sync::atomic::Ordering;

use super::new_job;
use crate::error::JobError;

/// Records that it was woken.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

fn flag() -> (Arc<Flag>, Waker) {
    let f = Arc::new(Flag(AtomicBool::new(false)));
    (Arc::clone(&f), Waker::from(f))
}

fn woken(f: &Flag) -> bool {
    f.0.load(Ordering::SeqCst)
}

#[test]
fn completion_racing_the_first_poll_is_never_lost() {
    loom::model(|| {
        let (job, mut fut) = new_job(|| 7u8);
        let worker = thread::spawn(move || job.run());
        let (f, w) = flag();
        let first = fut.poll_with(&w);
        worker.join().expect("worker");
        match first {
            Poll::Ready(r) => assert_eq!(r.ok(), Some(7)),
            Poll::Pending => {
                assert!(woken(&f), "lost wake-up");
                assert!(matches!(fut.poll_with(&w), Poll::Ready(Ok(7))));
            }
        }
    });
}

#[test]
fn re_registering_a_new_waker_racing_completion() {
    loom::model(|| {
        let (job, mut fut) = new_job(|| 1u8);
        let (_old, w_old) = flag();
        assert!(fut.poll_with(&w_old).is_pending());
        let worker = thread::spawn(move || job.run());
        let (f, w_new) = flag();
        let second = fut.poll_with(&w_new);
        worker.join().expect("worker");
        if second.is_pending() {
            assert!(woken(&f), "the replacement waker was not woken");
            assert!(fut.poll_with(&w_new).is_ready());
        }
    });
}

#[test]
fn pool_side_cancel_racing_the_worker_and_a_poll() {
    loom::model(|| {
        let runs = Arc::new(AtomicUsize::new(0));
        let r = Arc::clone(&runs);
        let (job, mut fut) = new_job(move || r.fetch_add(1, Ordering::SeqCst));
        let canceller_job = Arc::clone(&job);
        let worker = thread::spawn(move || job.run());
        let canceller = thread::spawn(move || canceller_job.cancel());
        let (f, w) = flag();
        let polled = fut.poll_with(&w);
        worker.join().expect("worker");
        let cancelled = canceller.join().expect("canceller");
        let ran = runs.load(Ordering::SeqCst);
        assert_eq!(
            ran + usize::from(cancelled),
            1,
            "exactly one of run / cancel wins"
        );
        let outcome = match polled {
            Poll::Ready(r) => r,
            Poll::Pending => {
                assert!(woken(&f), "lost wake-up");
                match fut.poll_with(&w) {
                    Poll::Ready(r) => r,
                    Poll::Pending => panic!("pending after both finished"),
                }
            }
        };
        assert_eq!(matches!(outcome, Err(JobError::Cancelled)), cancelled);
    });
}

#[test]
fn dropping_the_future_racing_the_worker() {
    loom::model(|| {
        let runs = Arc::new(AtomicUsize::new(0));
        let r = Arc::clone(&runs);
        let (job, mut fut) = new_job(move || r.fetch_add(1, Ordering::SeqCst));
        let (_f, w) = flag();
        let _ = fut.poll_with(&w);
        let worker = thread::spawn(move || job.run());
        drop(fut);
        worker.join().expect("worker");
        assert!(runs.load(Ordering::SeqCst) <= 1);
    });
}
