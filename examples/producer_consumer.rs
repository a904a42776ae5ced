//! Producer/consumer with `Queue` and `Lock`: producers put work items into a bounded
//! queue (they wait when it is full), consumers take them and update a shared tally under
//! a lock, and `join()` waits until every item was marked done. `#[aloop::main]` runs
//! the `async fn main` as `aloop::run` would (asyncio's `asyncio.run(main())`).
//!
//! Run: `cargo run --release --example producer_consumer`

use std::sync::Arc;
use std::time::Duration;

use aloop::{Lock, Queue};

#[aloop::main]
async fn main() {
    let queue: Arc<Queue<u32>> = Arc::new(Queue::new(4)); // maxsize 4
    let tally = Arc::new(Lock::new());
    let total = Arc::new(std::sync::atomic::AtomicU32::new(0));

    let mut producers = Vec::new();
    for p in 0..3u32 {
        let q = queue.clone();
        producers.push(aloop::create_task(async move {
            for i in 0..5 {
                let item = p * 100 + i;
                q.put(item).await.expect("queue open");
                println!("producer {p} put {item:>3} (qsize {})", q.qsize());
            }
        }));
    }

    let mut consumers = Vec::new();
    for c in 0..2 {
        let (q, lock, total) = (queue.clone(), tally.clone(), total.clone());
        consumers.push(aloop::create_task(async move {
            loop {
                let Ok(item) = q.get().await else { break };
                aloop::sleep(Duration::from_millis(2)).await; // the "work"
                {
                    let _guard = lock.acquire().await;
                    total.fetch_add(item, std::sync::atomic::Ordering::Relaxed);
                    println!("  consumer {c} handled {item:>3}");
                }
                q.task_done().expect("one task_done per item");
            }
        }));
    }

    for p in producers {
        p.await.unwrap();
    }
    queue.join().await;
    println!(
        "all items processed; total = {}",
        total.load(std::sync::atomic::Ordering::Relaxed)
    );
    queue.shutdown(false); // consumers' get() now fails and they exit
    for c in consumers {
        c.await.unwrap();
    }
}
