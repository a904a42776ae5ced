//! Runtime independence: the primitives under tokio's multi-threaded runtime.
#![cfg(not(loom))]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use aloop_sync::{Barrier, Condition, Event, Lock, Queue, Semaphore};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn lock_mutual_exclusion_across_tokio_workers() {
    let lock = Arc::new(Lock::new());
    let counter = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (lock, counter) = (lock.clone(), counter.clone());
            tokio::spawn(async move {
                for _ in 0..500 {
                    let _g = lock.acquire().await;
                    // A non-atomic read-modify-write: loses updates without exclusion.
                    let v = counter.load(Ordering::Relaxed);
                    tokio::task::yield_now().await;
                    counter.store(v + 1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(counter.load(Ordering::Relaxed), 16 * 500);
    assert!(!lock.locked());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bounded_queue_producers_consumers_under_tokio() {
    let q = Arc::new(Queue::new(8));
    let producers: Vec<_> = (0..4u64)
        .map(|p| {
            let q = q.clone();
            tokio::spawn(async move {
                for i in 0..1000 {
                    q.put(p * 1000 + i).await.unwrap();
                }
            })
        })
        .collect();
    let consumers: Vec<_> = (0..4)
        .map(|_| {
            let q = q.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                while let Ok(item) = q.get().await {
                    got.push(item);
                }
                got
            })
        })
        .collect();
    for p in producers {
        p.await.unwrap();
    }
    q.shutdown(false);
    let mut all = Vec::new();
    for c in consumers {
        all.extend(c.await.unwrap());
    }
    all.sort_unstable();
    assert_eq!(all, (0..4000).collect::<Vec<u64>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_condition_semaphore_barrier_under_tokio() {
    let ev = Arc::new(Event::new());
    let sem = Arc::new(Semaphore::new(0));
    let barrier = Arc::new(Barrier::new(3));
    let cond = Arc::new(Condition::new());
    let flag = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let (ev, sem, barrier, cond, flag) = (
            ev.clone(),
            sem.clone(),
            barrier.clone(),
            cond.clone(),
            flag.clone(),
        );
        tasks.push(tokio::spawn(async move {
            ev.wait().await;
            sem.acquire().await.forget();
            let index = barrier.wait().await.unwrap();
            let g = cond.acquire().await;
            let _g = g.wait_for(|| flag.load(Ordering::Relaxed) == 1).await;
            index
        }));
    }
    ev.set();
    sem.release();
    sem.release();
    let mine = barrier.wait().await.unwrap();
    {
        let g = cond.acquire().await;
        flag.store(1, Ordering::Relaxed);
        g.notify_all();
    }
    let mut indices = vec![mine];
    for t in tasks {
        indices.push(t.await.unwrap());
    }
    indices.sort_unstable();
    assert_eq!(indices, [0, 1, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owned_guards_move_into_spawned_tasks() {
    let lock = Arc::new(Lock::new());
    let sem = Arc::new(Semaphore::new(2));
    let guard = lock.acquire_owned().await;
    let in_flight = Arc::new(AtomicUsize::new(0));
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (lock, sem, in_flight) = (lock.clone(), sem.clone(), in_flight.clone());
            tokio::spawn(async move {
                let permit = sem.acquire_owned().await;
                assert!(in_flight.fetch_add(1, Ordering::SeqCst) < 2);
                let g = lock.acquire_owned().await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                drop(g);
                drop(permit);
            })
        })
        .collect();
    tokio::task::yield_now().await;
    drop(guard); // let the tasks through one by one
    for t in tasks {
        t.await.unwrap();
    }
    assert!(!lock.locked());
    assert_eq!(sem.value(), 2);
}
