//! Workload "queue": 1,000,000 integers through a bounded queue of capacity 64, one
//! producer task and one consumer task; the consumer's sum is checked. aloop:
//! `aloop::Queue` (asyncio's `Queue`); tokio: `tokio::sync::mpsc`; smol: `async-channel`.
//!
//! With a small bound the producer fills the queue and parks, so this measures both the
//! queue operation and the park/wake hand-off between two tasks.

use std::rc::Rc;
use std::time::Instant;

use crate::{rt, Outcome, Runtime, Scale};

const FULL: u64 = 1_000_000;
const BOUND: usize = 64;

pub fn run(runtime: Runtime, scale: Scale) -> Outcome {
    let n = scale.n(FULL);
    let (elapsed, sum) = match runtime {
        Runtime::Aloop => rt::aloop(async move {
            let q = Rc::new(aloop::Queue::new(BOUND));
            let t = Instant::now();
            let producer = aloop::create_task({
                let q = q.clone();
                async move {
                    for i in 0..n {
                        q.put(i).await.expect("queue shut down");
                    }
                }
            });
            let consumer = aloop::create_task(async move {
                let mut sum = 0u64;
                for _ in 0..n {
                    sum += q.get().await.expect("queue shut down");
                }
                sum
            });
            producer.await.expect("producer failed");
            let sum = consumer.await.expect("consumer failed");
            (t.elapsed(), sum)
        }),
        Runtime::TokioCt | Runtime::TokioMt => rt::tokio(runtime, async move {
            let (tx, mut rx) = tokio::sync::mpsc::channel(BOUND);
            let t = Instant::now();
            let producer = tokio::spawn(async move {
                for i in 0..n {
                    tx.send(i).await.expect("receiver gone");
                }
            });
            let consumer = tokio::spawn(async move {
                let mut sum = 0u64;
                for _ in 0..n {
                    sum += rx.recv().await.expect("sender gone");
                }
                sum
            });
            producer.await.expect("producer failed");
            let sum = consumer.await.expect("consumer failed");
            (t.elapsed(), sum)
        }),
        Runtime::Smol => rt::smol(move |ex| async move {
            let (tx, rx) = async_channel::bounded(BOUND);
            let t = Instant::now();
            let producer = ex.spawn(async move {
                for i in 0..n {
                    tx.send(i).await.expect("receiver gone");
                }
            });
            let consumer = ex.spawn(async move {
                let mut sum = 0u64;
                for _ in 0..n {
                    sum += rx.recv().await.expect("sender gone");
                }
                sum
            });
            producer.await;
            let sum = consumer.await;
            (t.elapsed(), sum)
        }),
    };
    Outcome::new(n, elapsed, sum == n * (n - 1) / 2)
}
