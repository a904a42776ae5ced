//! Workload "lock": 100 tasks × 10,000 lock/unlock each, holding the lock across one
//! yield to the scheduler, so every acquisition is contended and goes through the
//! lock's wait list. Inside the critical section each task reads a counter, yields,
//! then writes it back plus one: any failure of mutual exclusion loses an update, so the
//! final count (checked) must be exactly 100 × 10,000.
//!
//! aloop: `aloop::Lock` + `aloop::sleep(ZERO)`; tokio: `tokio::sync::Mutex` +
//! `yield_now`; smol: `async_lock::Mutex` + `futures_lite::future::yield_now`.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{rt, Outcome, Runtime, Scale};

const TASKS: u64 = 100;
const FULL_ITERS: u64 = 10_000;

pub fn run(runtime: Runtime, scale: Scale) -> Outcome {
    let iters = scale.n(FULL_ITERS);
    let (elapsed, count) = match runtime {
        Runtime::Aloop => rt::aloop(async move {
            // aloop's Lock guards no data (asyncio's doesn't); the counter sits beside it.
            let lock = Rc::new(aloop::Lock::new());
            let counter = Rc::new(Cell::new(0u64));
            let t = Instant::now();
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    let (lock, counter) = (lock.clone(), counter.clone());
                    aloop::create_task(async move {
                        for _ in 0..iters {
                            let _guard = lock.acquire().await;
                            let v = counter.get();
                            aloop::sleep(Duration::ZERO).await;
                            counter.set(v + 1);
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.expect("lock task failed");
            }
            (t.elapsed(), counter.get())
        }),
        Runtime::TokioCt | Runtime::TokioMt => rt::tokio(runtime, async move {
            let counter = Arc::new(tokio::sync::Mutex::new(0u64));
            let t = Instant::now();
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    let counter = counter.clone();
                    tokio::spawn(async move {
                        for _ in 0..iters {
                            let mut guard = counter.lock().await;
                            let v = *guard;
                            tokio::task::yield_now().await;
                            *guard = v + 1;
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await.expect("lock task failed");
            }
            let count = *counter.lock().await;
            (t.elapsed(), count)
        }),
        Runtime::Smol => rt::smol(move |ex| async move {
            let counter = Rc::new(async_lock::Mutex::new(0u64));
            let t = Instant::now();
            let tasks: Vec<_> = (0..TASKS)
                .map(|_| {
                    let counter = counter.clone();
                    ex.spawn(async move {
                        for _ in 0..iters {
                            let mut guard = counter.lock().await;
                            let v = *guard;
                            futures_lite::future::yield_now().await;
                            *guard = v + 1;
                        }
                    })
                })
                .collect();
            for task in tasks {
                task.await;
            }
            let count = *counter.lock().await;
            (t.elapsed(), count)
        }),
    };
    Outcome::new(TASKS * iters, elapsed, count == TASKS * iters)
}
