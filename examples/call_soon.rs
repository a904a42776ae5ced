//! The seed's scheduling demo: `call_soon`, `call_later`, `call_at` and
//! `call_soon_threadsafe`, printing what runs when.
//!
//! Run: `cargo run --release --example call_soon`

use std::time::{Duration, Instant};

fn main() {
    let lp = aloop::new_event_loop();
    let start = Instant::now();
    let stamp =
        move |what: &str| println!("{:>7.1} ms  {what}", start.elapsed().as_secs_f64() * 1e3);

    // call_later and call_at: timers fire in deadline order, whatever the order of
    // registration.
    lp.call_later(Duration::from_millis(300), move || {
        stamp("call_later(300 ms)")
    })
    .unwrap();
    lp.call_later(Duration::from_millis(100), move || {
        stamp("call_later(100 ms)")
    })
    .unwrap();
    let when = lp.time() + Duration::from_millis(200);
    lp.call_at(when, move || stamp("call_at(loop.time() + 200 ms)"))
        .unwrap();

    // call_soon: the next iteration, in FIFO order.
    for i in 1..=3 {
        lp.call_soon(move || stamp(&format!("call_soon #{i}")))
            .unwrap();
    }

    // A cancelled handle never runs.
    let never = lp.call_soon(|| println!("never printed")).unwrap();
    never.cancel();

    // call_soon_threadsafe: another thread wakes the loop, which is blocked waiting for
    // the 300 ms timer at that moment.
    let handle = lp.handle();
    let worker = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        handle
            .call_soon_threadsafe(move || stamp("call_soon_threadsafe (from a worker thread)"))
            .unwrap();
    });

    // Stop once everything above has run.
    let stopper = lp.clone_ref();
    lp.call_later(Duration::from_millis(350), move || {
        stamp("stop()");
        stopper.stop();
    })
    .unwrap();

    lp.run_forever().unwrap();
    worker.join().unwrap();
    println!(
        "run_forever returned after {:.1} ms",
        start.elapsed().as_secs_f64() * 1e3
    );
}
