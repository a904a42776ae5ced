//! Edge cases beyond the catalogue: cancellation at every hand-off point, bounded
//! semaphores, barrier abort/reset, queue slot reservations, error messages.

mod common;

use std::rc::Rc;
use std::sync::Arc;

use aloop_sync::{
    Barrier, BoundedSemaphore, BrokenBarrierError, Condition, Lock, PriorityQueue, Queue,
    Semaphore, TryPutError,
};
use common::{pause, Log, Sim};
use futures_util::task::noop_waker;
use futures_util::FutureExt;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll};

/// Polls `fut` once with a no-op waker.
fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    let waker = noop_waker();
    Pin::new(fut).poll(&mut Context::from_waker(&waker))
}
use std::pin::Pin;

#[test]
fn lock_cancelled_granted_waiter_with_nobody_behind_unlocks() {
    let lock = Lock::new();
    let held = lock.try_acquire().unwrap();
    let mut waiter = lock.acquire();
    assert!(poll_once(&mut waiter).is_pending());
    drop(held); // handed to `waiter`
    assert!(lock.locked());
    drop(waiter); // never looked: passes it back
    assert!(!lock.locked());
    assert!(lock.try_acquire().is_some());
}

#[test]
fn lock_cancelled_queued_waiter_leaves_the_line() {
    let lock = Lock::new();
    let held = lock.try_acquire().unwrap();
    let mut a = lock.acquire();
    let mut b = lock.acquire();
    let mut c = lock.acquire();
    assert!(poll_once(&mut a).is_pending());
    assert!(poll_once(&mut b).is_pending());
    assert!(poll_once(&mut c).is_pending());
    drop(b);
    drop(held);
    let ga = match poll_once(&mut a) {
        Poll::Ready(g) => g,
        Poll::Pending => panic!("a is first"),
    };
    assert!(poll_once(&mut c).is_pending());
    drop(ga);
    assert!(poll_once(&mut c).is_ready());
}

#[test]
fn semaphore_fifo_and_cancellation() {
    let mut sim = Sim::new();
    let sem = Rc::new(Semaphore::new(0));
    let log = Log::default();
    let mut tasks = Vec::new();
    for n in 0..4 {
        let (sem, log) = (sem.clone(), log.clone());
        tasks.push(sim.spawn(async move {
            sem.acquire().await.forget();
            log.push(n.to_string());
        }));
    }
    sim.run();
    sem.release(); // handed to 0
    sem.release(); // handed to 1
    tasks[0].cancel(); // 0 never ran: its permit goes to 2
    sim.run();
    assert_eq!(log.take(), ["1", "2"]);
    assert_eq!(sem.value(), 0);
    assert!(sem.locked());
    sem.release();
    sim.run();
    assert_eq!(log.take(), ["3"]);
    sem.release();
    assert_eq!(sem.value(), 1);
    assert!(!sem.locked());
}

#[test]
fn semaphore_newcomer_does_not_barge() {
    let sem = Semaphore::new(1);
    let p = sem.try_acquire().unwrap();
    let mut w = sem.acquire();
    assert!(poll_once(&mut w).is_pending());
    drop(p);
    assert!(sem.try_acquire().is_none());
    assert!(poll_once(&mut w).is_ready());
}

#[test]
fn bounded_semaphore_over_release_is_an_error() {
    let sem = BoundedSemaphore::new(2);
    let err = sem.release().unwrap_err();
    assert_eq!(err.to_string(), "BoundedSemaphore released too many times");
    assert_eq!(sem.value(), 2);
    sem.try_acquire().unwrap().forget();
    assert_eq!(sem.value(), 1);
    sem.release().unwrap();
    assert!(sem.release().is_err());
    let permit = futures_executor::block_on(sem.acquire());
    drop(permit);
    assert_eq!(sem.value(), 2);

    let zero = BoundedSemaphore::new(0);
    let mut w = zero.acquire();
    assert!(poll_once(&mut w).is_pending());
    assert!(
        zero.release().is_err(),
        "a zero bound never accepts a release"
    );
    assert!(poll_once(&mut w).is_pending());
}

#[test]
fn condition_notified_then_cancelled_passes_notification_on() {
    let mut sim = Sim::new();
    let cond = Rc::new(Condition::new());
    let log = Log::default();
    let mut tasks = Vec::new();
    for n in 0..3 {
        let (cond, log) = (cond.clone(), log.clone());
        tasks.push(sim.spawn(async move {
            let g = cond.acquire().await;
            let _g = g.wait().await;
            log.push(format!("woken {n}"));
        }));
    }
    sim.run();
    sim.block_on(async {
        cond.acquire().await.notify(1);
    });
    tasks[0].cancel();
    sim.run();
    assert_eq!(log.take(), ["woken 1"]);
    assert!(!cond.locked());
}

#[test]
fn condition_wait_for_predicate_and_shared_lock() {
    let mut sim = Sim::new();
    let lock = Arc::new(Lock::new());
    let cond = Rc::new(Condition::with_lock(lock.clone()));
    let value = Rc::new(std::cell::Cell::new(0));
    let log = Log::default();
    let (c, v, l) = (cond.clone(), value.clone(), log.clone());
    sim.spawn(async move {
        let g = c.acquire().await;
        let _g = g.wait_for(|| v.get() >= 3).await;
        l.push(format!("saw {}", v.get()));
    });
    for _ in 0..3 {
        sim.run();
        sim.block_on(async {
            // Take the shared lock directly and adopt it.
            let g = cond.adopt(lock.acquire().await).ok().unwrap();
            value.set(value.get() + 1);
            g.notify_all();
        });
    }
    sim.run();
    assert_eq!(log.take(), ["saw 3"]);
}

#[test]
fn condition_cancelled_while_waiting_releases_nothing_twice() {
    let cond = Condition::new();
    let g = cond.acquire().now_or_never().unwrap();
    let mut w = g.wait();
    assert!(poll_once(&mut w).is_pending());
    assert!(!cond.locked(), "waiting released the lock");
    drop(w);
    assert!(!cond.locked());
    let g = cond.acquire().now_or_never().unwrap();
    assert_eq!(g.notify_all(), 0, "the dropped waiter left the queue");
}

#[test]
fn barrier_abort_reset_and_cancelled_party() {
    let mut sim = Sim::new();
    let barrier = Rc::new(Barrier::new(3));
    let log = Log::default();
    let party = |n: usize| {
        let (barrier, log) = (barrier.clone(), log.clone());
        async move {
            let r = barrier.wait().await;
            log.push(format!("{n}: {r:?}"));
        }
    };
    let a = sim.spawn(party(0));
    sim.spawn(party(1));
    sim.run();
    assert_eq!(barrier.n_waiting(), 2);
    a.cancel();
    sim.run();
    assert_eq!(barrier.n_waiting(), 1, "a cancelled party leaves the round");
    barrier.abort();
    sim.run();
    assert!(barrier.broken());
    assert_eq!(log.take(), ["1: Err(BrokenBarrierError)"]);
    assert_eq!(
        sim.block_on(barrier.wait()),
        Err(BrokenBarrierError),
        "broken until reset"
    );
    assert_eq!(
        BrokenBarrierError.to_string(),
        "barrier is broken (aborted or reset while waiting)"
    );
    barrier.reset();
    assert!(!barrier.broken());
    sim.spawn(party(2));
    sim.run();
    barrier.reset(); // fails the current waiter, stays usable
    sim.run();
    assert_eq!(log.take(), ["2: Err(BrokenBarrierError)"]);
    for n in 3..6 {
        sim.spawn(party(n));
    }
    sim.run();
    assert_eq!(log.take(), ["5: Ok(2)", "3: Ok(0)", "4: Ok(1)"]);
    assert_eq!(barrier.parties(), 3);
    let one = Barrier::new(0);
    assert_eq!(one.wait().now_or_never(), Some(Ok(0)));
}

#[test]
fn queue_putter_cancelled_after_grant_passes_slot_on() {
    let q = Queue::new(1);
    q.put_nowait(0).unwrap();
    let mut p1 = q.put(1);
    let mut p2 = q.put(2);
    assert!(poll_once(&mut p1).is_pending());
    assert!(poll_once(&mut p2).is_pending());
    assert_eq!(q.get_nowait(), Ok(0)); // slot reserved for p1
    assert!(q.full(), "the freed slot is promised to p1");
    assert!(matches!(q.put_nowait(9), Err(TryPutError::Full(9))));
    drop(p1); // withdraws: p2 gets the slot
    assert_eq!(poll_once(&mut p2), Poll::Ready(Ok(())));
    assert_eq!(q.get_nowait(), Ok(2));
    assert!(q.empty() && !q.full());
}

#[test]
fn queue_putters_fifo() {
    let mut sim = Sim::new();
    let q = Rc::new(Queue::new(1));
    q.put_nowait(0).unwrap();
    for n in 1..4 {
        let q = q.clone();
        sim.spawn(async move { q.put(n).await.unwrap() });
    }
    sim.run();
    let got: Vec<i32> = (0..4).map(|_| sim.block_on(q.get()).unwrap()).collect();
    assert_eq!(got, [0, 1, 2, 3]);
}

#[test]
fn queue_earmarked_item_occupies_its_slot_until_taken() {
    let q = Queue::new(1);
    let mut g = q.get();
    assert!(poll_once(&mut g).is_pending());
    q.put_nowait("a").unwrap(); // earmarked for g
    assert_eq!(q.qsize(), 1);
    assert!(q.full());
    assert!(q.put_nowait("b").is_err());
    assert_eq!(poll_once(&mut g), Poll::Ready(Ok("a")));
    assert!(q.empty());
    q.put_nowait("b").unwrap();
}

#[test]
fn queue_cancelled_getter_gives_item_back_in_order() {
    let q = PriorityQueue::new(0);
    let mut g = q.get();
    assert!(poll_once(&mut g).is_pending());
    q.put_nowait(5).unwrap(); // earmarked for g
    q.put_nowait(7).unwrap();
    q.put_nowait(1).unwrap();
    drop(g);
    assert_eq!(q.qsize(), 3);
    let all: Vec<i32> = (0..3).map(|_| q.get_nowait().unwrap()).collect();
    assert_eq!(all, [1, 5, 7]);

    let fifo = Queue::new(0);
    let mut g = fifo.get();
    assert!(poll_once(&mut g).is_pending());
    fifo.put_nowait("first").unwrap();
    fifo.put_nowait("second").unwrap();
    drop(g);
    assert_eq!(fifo.get_nowait(), Ok("first"));
    assert_eq!(fifo.get_nowait(), Ok("second"));
}

#[test]
fn queue_join_counts_handed_over_items() {
    let mut sim = Sim::new();
    let q = Rc::new(Queue::new(0));
    let log = Log::default();
    let (q2, l) = (q.clone(), log.clone());
    sim.spawn(async move {
        while let Ok(item) = q2.get().await {
            pause().await;
            l.push(format!("done {item}"));
            q2.task_done().unwrap();
        }
    });
    sim.run();
    q.put_nowait(1).unwrap();
    q.put_nowait(2).unwrap();
    sim.block_on(q.join());
    assert_eq!(log.take(), ["done 1", "done 2"]);
    q.shutdown(false);
    sim.run();
}

#[test]
fn spent_futures_stay_pending_instead_of_double_acquiring() {
    let lock = Lock::new();
    let mut acq = pin!(lock.acquire());
    let waker = noop_waker();
    let mut cx = Context::from_waker(&waker);
    let Poll::Ready(g) = acq.as_mut().poll(&mut cx) else {
        panic!("free lock")
    };
    assert!(acq.as_mut().poll(&mut cx).is_pending());
    drop(g);
    assert!(!lock.locked());
}

#[test]
fn failed_try_acquire_does_not_release_the_holder() {
    let lock = Lock::new();
    let _g = lock.try_acquire().unwrap();
    assert!(lock.try_acquire().is_none());
    assert!(lock.locked(), "a failed try_acquire must not release");
    assert!(lock.try_acquire().is_none());

    let sem = Semaphore::new(1);
    let _p = sem.try_acquire().unwrap();
    assert!(sem.try_acquire().is_none());
    assert_eq!(sem.value(), 0);

    let bsem = BoundedSemaphore::new(1);
    let _p = bsem.try_acquire().unwrap();
    assert!(bsem.try_acquire().is_none());
    assert_eq!(bsem.value(), 0);
}

#[test]
fn owned_guards_and_permits() {
    let lock = Arc::new(Lock::new());
    let g = lock.try_acquire_owned().unwrap();
    assert!(lock.try_acquire_owned().is_none());
    let mut waiter = lock.acquire_owned();
    assert!(poll_once(&mut waiter).is_pending());
    drop(g); // handed to `waiter`
    assert!(Arc::ptr_eq(
        match &poll_once(&mut waiter) {
            Poll::Ready(g) => g.lock(),
            Poll::Pending => panic!("handed over"),
        },
        &lock
    ));
    // The guard made by that poll was dropped with the match: the lock is free again.
    assert!(!lock.locked());
    drop(waiter);
    assert_eq!(Arc::strong_count(&lock), 1, "no Arc leaked");

    let sem = Arc::new(Semaphore::new(2));
    let p = sem.try_acquire_owned().unwrap();
    let q = futures_executor::block_on(sem.acquire_owned());
    assert!(sem.locked());
    p.forget();
    drop(q);
    assert_eq!(sem.value(), 1, "the forgotten permit stays out");
    sem.release();
    assert_eq!(sem.value(), 2);
    assert_eq!(Arc::strong_count(&sem), 1);

    let bsem = Arc::new(BoundedSemaphore::new(1));
    let p = bsem.try_acquire_owned().unwrap();
    let mut w = bsem.acquire_owned();
    assert!(poll_once(&mut w).is_pending());
    drop(w); // cancelled while queued
    drop(p);
    assert_eq!(bsem.value(), 1);
    assert!(bsem.release().is_err());
}
