//! Loom models of the hand-off paths under cancellation: every interleaving of a lock
//! release racing a waiter that is dropped mid-wait, of a condition notification racing
//! a waiter that is dropped, and of queue gets/puts racing cancelled gets/puts. Run with
//! `RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=/work/target-loom-sync cargo test -p aloop-sync --release --test loom`.
#![cfg(loom)]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use aloop_sync::{Condition, Lock, Queue};
use futures_util::task::noop_waker;
use loom::future::block_on;
use loom::sync::Arc;
use loom::thread;

fn model(f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(f);
}

/// Polls once with a no-op waker, then returns the future (to be dropped: cancelled).
fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    let waker = noop_waker();
    Pin::new(fut).poll(&mut Context::from_waker(&waker))
}

/// A release hands the lock to a waiter that is cancelled at any point around it; a
/// second waiter must still get the lock, and the lock ends up free.
#[test]
fn lock_handoff_with_cancelled_waiter() {
    model(|| {
        let lock = Arc::new(Lock::new());
        let held = lock.try_acquire().unwrap();

        let l1 = lock.clone();
        let cancelled = thread::spawn(move || {
            let mut acquire = l1.acquire();
            // Ready (the release came first) or queued; either way dropped right after.
            let _ = poll_once(&mut acquire);
        });
        let l2 = lock.clone();
        let waiter = thread::spawn(move || {
            let guard = block_on(l2.acquire());
            assert!(l2.locked());
            drop(guard);
        });

        drop(held);
        cancelled.join().unwrap();
        waiter.join().unwrap();
        assert!(!lock.locked());
        assert!(lock.try_acquire().is_some());
    });
}

/// Two threads contend through the fast paths and the waiter list; mutual exclusion
/// holds in every interleaving.
#[test]
fn lock_mutual_exclusion() {
    model(|| {
        let lock = Arc::new(Lock::new());
        let inside = Arc::new(loom::sync::atomic::AtomicBool::new(false));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (lock, inside) = (lock.clone(), inside.clone());
                thread::spawn(move || {
                    let _g = block_on(lock.acquire());
                    assert!(!inside.swap(true, loom::sync::atomic::Ordering::Relaxed));
                    inside.store(false, loom::sync::atomic::Ordering::Relaxed);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(!lock.locked());
    });
}

/// A getter cancelled around the moment an item is earmarked for it gives the item
/// back: both items are received exactly once.
#[test]
fn queue_cancelled_getter_loses_nothing() {
    model(|| {
        let q = Arc::new(Queue::new(1));

        let qp = q.clone();
        let producer = thread::spawn(move || {
            block_on(qp.put(1)).unwrap();
            block_on(qp.put(2)).unwrap();
        });
        let qc = q.clone();
        let canceller = thread::spawn(move || {
            let mut get = qc.get();
            match poll_once(&mut get) {
                Poll::Ready(item) => Some(item.unwrap()),
                Poll::Pending => None, // dropped: cancelled
            }
        });

        let mut got: Vec<i32> = canceller.join().unwrap().into_iter().collect();
        while got.len() < 2 {
            got.push(block_on(q.get()).unwrap());
        }
        producer.join().unwrap();
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        assert!(q.empty());
    });
}

/// A putter cancelled around the moment a slot is reserved for it releases the slot:
/// the other putter still gets in, nothing deadlocks.
#[test]
fn queue_cancelled_putter_releases_slot() {
    model(|| {
        let q = Arc::new(Queue::new(1));
        q.put_nowait(0).unwrap();

        let qa = q.clone();
        let cancelled = thread::spawn(move || {
            let mut put = qa.put(1);
            matches!(poll_once(&mut put), Poll::Ready(Ok(())))
        });
        let qb = q.clone();
        let putter = thread::spawn(move || block_on(qb.put(2)).unwrap());

        let mut got = vec![block_on(q.get()).unwrap()];
        let one_was_put = cancelled.join().unwrap();
        let expected = if one_was_put { 3 } else { 2 };
        while got.len() < expected {
            got.push(block_on(q.get()).unwrap());
        }
        putter.join().unwrap();
        got.sort_unstable();
        let want: Vec<i32> = if one_was_put {
            vec![0, 1, 2]
        } else {
            vec![0, 2]
        };
        assert_eq!(got, want);
        assert!(q.empty());
    });
}

/// `notify(1)` may pick a waiter that is then dropped: the notification passes on, so the
/// remaining waiter still sees the predicate become true.
#[test]
fn condition_notification_passes_on_from_cancelled_waiter() {
    use loom::sync::atomic::{AtomicBool, Ordering};
    model(|| {
        let cond = Arc::new(Condition::new());
        let flag = Arc::new(AtomicBool::new(false));

        let (c1, f1) = (cond.clone(), flag.clone());
        let waiter = thread::spawn(move || {
            block_on(async {
                let g = c1.acquire().await;
                let _g = g.wait_for(|| f1.load(Ordering::Relaxed)).await;
            });
        });
        let c2 = cond.clone();
        let cancelled = thread::spawn(move || {
            let g = block_on(c2.acquire());
            let mut wait = g.wait();
            let _ = poll_once(&mut wait); // queues and releases the lock; then dropped
        });

        block_on(async {
            let g = cond.acquire().await;
            flag.store(true, Ordering::Relaxed);
            g.notify(1);
        });
        cancelled.join().unwrap();
        waiter.join().unwrap();
        assert!(!cond.locked());
    });
}
