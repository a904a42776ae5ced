//! Tasks with done callbacks, and extra arguments the way `functools.partial` passes
//! them in asyncio: in Rust a `move` closure captures whatever the callback needs.
//!
//! Run: `cargo run --release --example done_callbacks`

use std::time::Duration;

async fn get_page(url: &'static str, delay_ms: u64) -> String {
    aloop::sleep(Duration::from_millis(delay_ms)).await;
    format!("<html>{url}</html>")
}

fn main() {
    let lp = aloop::new_event_loop();
    lp.run_until_complete(async {
        let mut tasks = Vec::new();
        for (i, (url, delay)) in [("a.example", 30), ("b.example", 10), ("c.example", 20)]
            .into_iter()
            .enumerate()
        {
            let task = aloop::create_task(get_page(url, delay));
            task.set_name(format!("fetch-{url}"));
            // asyncio: task.add_done_callback(partial(callback, url, i)). The callback
            // gets the task; `url` and `i` come along in the closure.
            task.add_done_callback(move |t| {
                let body = t.result().expect("done").expect("no panic");
                println!("callback: {} (#{i}, {url}) -> {body}", t.get_name());
            });
            tasks.push(task);
        }
        for task in tasks {
            // Awaiting moves the output out; the callbacks above ran before us.
            let body = task.await.unwrap();
            println!("awaited: {} bytes", body.len());
        }
    })
    .unwrap();
}
