//! Cancellation with cleanup. In asyncio a cancelled task sees `CancelledError` at its
//! `await` and cleans up in `finally:`; in aloop the task's future is dropped at its next
//! step, so cleanup lives in destructors (a guard), which run with `current_task()` still
//! set. Cancelling a task also cancels the task it is awaiting, unless that is shielded.
//!
//! Run: `cargo run --release --example cancellation`

use std::time::Duration;

/// Runs its closure when dropped: the `finally:` of a Rust future.
struct Finally<F: FnMut()>(F);

impl<F: FnMut()> Drop for Finally<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}

async fn worker(name: &'static str) -> &'static str {
    let _cleanup = Finally(move || {
        let me = aloop::current_task().ok().flatten();
        println!(
            "  {name}: cleanup runs (cancelling() = {})",
            me.map_or(0, |t| t.cancelling())
        );
    });
    println!("  {name}: working");
    aloop::sleep(Duration::from_secs(3600)).await;
    "finished"
}

fn main() {
    aloop::run(async {
        println!("1. cancel a task while it sleeps:");
        let t = aloop::create_task(worker("worker"));
        aloop::sleep(Duration::ZERO).await; // let it start
        println!(
            "  cancel() -> {}, cancelled() yet: {}",
            t.cancel(),
            t.cancelled()
        );
        let outcome = t.await;
        println!("  awaiting it gives {outcome:?}");

        println!("2. cancelling an outer task cancels the task it awaits:");
        let inner = aloop::create_task(worker("inner"));
        let inner_view = inner.as_any();
        let outer = aloop::create_task(inner); // a task awaiting the inner one
        aloop::sleep(Duration::from_millis(5)).await;
        outer.cancel();
        let _ = outer.await;
        aloop::sleep(Duration::ZERO).await;
        println!("  inner cancelled: {}", inner_view.cancelled());

        println!("3. ... unless it is shielded:");
        let inner = aloop::create_task(async {
            aloop::sleep(Duration::from_millis(20)).await;
            "inner finished"
        });
        let inner_view = inner.as_any();
        let outer = aloop::create_task(aloop::shield(inner));
        aloop::sleep(Duration::from_millis(5)).await;
        outer.cancel();
        println!("  outer: {:?}", outer.await.map(|r| r.ok()));
        aloop::sleep(Duration::from_millis(30)).await;
        println!(
            "  inner cancelled: {}, done: {}",
            inner_view.cancelled(),
            inner_view.done()
        );
    });
}
