//! `gather` vs `wait` vs `as_completed`, on the same three downloads.
//!
//! - `gather`: every result, in argument order (the seed: "gather is higher level").
//! - `wait`: two lists, done and pending, when the first finishes (or a timeout passes);
//!   it cancels nothing, the pending ones keep running.
//! - `as_completed`: results one by one, in completion order.
//!
//! Run: `cargo run --release --example gather_wait_as_completed`

use std::time::{Duration, Instant};

use aloop::ReturnWhen;

async fn download(name: &'static str, ms: u64) -> String {
    aloop::sleep(Duration::from_millis(ms)).await;
    format!("{name} ({ms} ms)")
}

fn jobs() -> Vec<impl std::future::Future<Output = String>> {
    vec![
        download("slow", 300),
        download("fast", 100),
        download("medium", 200),
    ]
}

#[aloop::main]
async fn main() {
    let start = Instant::now();
    let at = move || format!("{:>4.0} ms", start.elapsed().as_secs_f64() * 1e3);

    println!("gather: all results, in argument order");
    let all = aloop::gather(jobs()).await.unwrap();
    println!("  {} -> {all:?}", at());

    println!("wait(FirstCompleted): returns when one is done, cancels nothing");
    let tasks: Vec<_> = jobs().into_iter().map(aloop::create_task).collect();
    let (done, pending) = aloop::wait(tasks, ReturnWhen::FirstCompleted, None).await;
    println!(
        "  {} -> {} done, {} pending",
        at(),
        done.len(),
        pending.len()
    );
    for t in done {
        println!("  done: {}", t.await.unwrap());
    }
    for t in pending {
        println!("  still finishes: {}", t.await.unwrap());
    }

    println!("as_completed: one by one, in completion order");
    let mut results = aloop::as_completed(jobs(), None);
    while let Some(next) = results.next().await {
        println!("  {} -> {}", at(), next.unwrap().unwrap());
    }
}
