//! Multi-threaded stress: 8 threads hammer a Lock and a bounded Queue, each thread with
//! its own `block_on`, some operations cancelled half-way. Checks: mutual exclusion
//! (no lost update), every item delivered exactly once, and termination (no deadlock).
//! Full size (8 x 100,000 operations each) even in debug builds, where it takes well
//! under a second.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;

use aloop_sync::{Lock, Queue};
use futures_executor::block_on;
use futures_util::FutureExt;

const THREADS: usize = 8;
const OPS: usize = 100_000;

#[test]
fn stress_lock_8_threads() {
    let lock = Arc::new(Lock::new());
    let counter = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (lock, counter) = (lock.clone(), counter.clone());
            thread::spawn(move || {
                let mut done = 0;
                for i in 0..OPS {
                    let guard = match (t + i) % 8 {
                        // try_acquire, retried by a blocking acquire on failure.
                        0 => match lock.try_acquire() {
                            Some(g) => g,
                            None => block_on(lock.acquire()),
                        },
                        // Cancellation: poll once and drop if it has to wait.
                        1 => match lock.acquire().now_or_never() {
                            Some(g) => g,
                            None => continue,
                        },
                        _ => block_on(lock.acquire()),
                    };
                    // Non-atomic increment: a second holder would lose updates.
                    let v = counter.load(Ordering::Relaxed);
                    counter.store(v + 1, Ordering::Relaxed);
                    drop(guard);
                    done += 1;
                }
                done
            })
        })
        .collect();
    let done: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(counter.load(Ordering::Relaxed), done);
    assert!(done >= THREADS * OPS * 7 / 8);
    assert!(!lock.locked());
    assert!(lock.try_acquire().is_some());
}

#[test]
fn stress_queue_8_threads() {
    let q = Arc::new(Queue::new(64));
    let producers = THREADS / 2;
    let per_producer = OPS;
    let producer_handles: Vec<_> = (0..producers)
        .map(|p| {
            let q = q.clone();
            thread::spawn(move || {
                for i in 0..per_producer {
                    let mut item = p * per_producer + i;
                    if i % 5 == 0 {
                        // Cancelled puts: poll once, take the item back if it waits.
                        loop {
                            match q.put_nowait(item) {
                                Ok(()) => break,
                                Err(e) => item = e.into_inner(),
                            }
                            if q.put(item).now_or_never().is_some() {
                                break;
                            }
                            // The future (and the item) was dropped; re-create it.
                            item = p * per_producer + i;
                        }
                    } else {
                        block_on(q.put(item)).unwrap();
                    }
                }
            })
        })
        .collect();
    let consumer_handles: Vec<_> = (0..THREADS - producers)
        .map(|c| {
            let q = q.clone();
            thread::spawn(move || {
                let mut got = Vec::new();
                let mut n = 0usize;
                loop {
                    n += 1;
                    if (n + c) % 7 == 0 {
                        // Cancelled get: an item earmarked for it must come back.
                        match q.get().now_or_never() {
                            Some(Ok(item)) => got.push(item),
                            Some(Err(_)) => break,
                            None => continue,
                        }
                    } else {
                        match block_on(q.get()) {
                            Ok(item) => got.push(item),
                            Err(_) => break,
                        }
                    }
                }
                got
            })
        })
        .collect();
    for h in producer_handles {
        h.join().unwrap();
    }
    q.shutdown(false);
    let mut seen = vec![false; producers * per_producer];
    let mut total = 0;
    for h in consumer_handles {
        for item in h.join().unwrap() {
            assert!(!seen[item], "item {item} delivered twice");
            seen[item] = true;
            total += 1;
        }
    }
    assert_eq!(total, producers * per_producer, "items lost");
    assert!(q.empty());
}
