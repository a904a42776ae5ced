//! Virtual time: the loop's clock stands still and jumps to the next timer when there
//! is nothing else to do. Timers of hours fire at once, in deadline order, the same
//! way on every run; `advance` moves the clock by hand; real time refuses it.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// A tiny deterministic generator.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

#[test]
fn ten_thousand_timers_up_to_a_day_fire_in_deadline_order_at_once() {
    let lp = aloop::new_event_loop();
    lp.use_virtual_time();
    assert!(lp.is_virtual_time());
    let t0 = lp.time();
    let fired = Rc::new(RefCell::new(Vec::new()));
    let mut rng = Lcg(42);
    for i in 0..10_000u64 {
        let delay = Duration::from_millis(rng.next(24 * 3600 * 1000));
        let (f, clock) = (fired.clone(), lp.clone_ref());
        lp.call_later(delay, move || f.borrow_mut().push((delay, i, clock.time())))
            .unwrap();
    }
    let wall = Instant::now();
    let stopper = lp.clone_ref();
    lp.call_later(Duration::from_secs(24 * 3600 + 1), move || stopper.stop())
        .unwrap();
    lp.run_forever().unwrap();
    let took = wall.elapsed();
    println!("10,000 virtual timers over 24 h took {took:?} of wall time");
    let fired = fired.borrow();
    assert_eq!(fired.len(), 10_000);
    for pair in fired.windows(2) {
        assert!(
            pair[0].0 <= pair[1].0,
            "deadline order: {:?} then {:?}",
            pair[0],
            pair[1]
        );
    }
    for (delay, _, at) in fired.iter() {
        assert!(*at >= t0 + *delay, "never early");
    }
    assert!(lp.time() - t0 >= Duration::from_secs(24 * 3600));
    // Not a timing assertion about speed: real time would take a day.
    assert!(took < Duration::from_secs(120), "{took:?}");
}

#[test]
fn an_hour_long_wait_for_times_out_at_once() {
    let lp = aloop::new_event_loop();
    lp.use_virtual_time();
    let wall = Instant::now();
    let t0 = lp.time();
    let result = lp
        .run_until_complete(aloop::wait_for(
            aloop::sleep(Duration::from_secs(7200)),
            Duration::from_secs(3600),
        ))
        .unwrap();
    assert!(result.is_err(), "timed out");
    let waited = lp.time() - t0;
    assert!(
        waited >= Duration::from_secs(3600) && waited < Duration::from_secs(7200),
        "{waited:?}"
    );
    // Deadlines are taken from the loop's clock when made: make a timeout inside the
    // loop (asyncio's `timeout()` needs a running loop too).
    let timed = lp
        .run_until_complete(async {
            aloop::timeout(
                Some(Duration::from_secs(60)),
                aloop::sleep(Duration::from_secs(30)),
            )
            .await
        })
        .unwrap();
    assert!(
        timed.is_ok(),
        "30 s of sleep fits in a 60 s timeout: {timed:?}"
    );
    assert_eq!(lp.time() - t0, waited + Duration::from_secs(30));
    assert!(wall.elapsed() < Duration::from_secs(60));
}

/// A program of tasks and timers; returns what happened, with virtual timestamps.
fn traced_run() -> Vec<String> {
    let lp = aloop::new_event_loop();
    lp.use_virtual_time();
    let t0 = lp.time();
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    lp.run_until_complete(async move {
        let lp = aloop::get_running_loop().unwrap();
        let mut tasks = Vec::new();
        for i in 0..20u64 {
            let l = l.clone();
            let clock = lp.clone();
            tasks.push(aloop::create_task(async move {
                for step in 0..3u64 {
                    aloop::sleep(Duration::from_millis((i * 37 + step * 101) % 250 + 1)).await;
                    l.borrow_mut()
                        .push(format!("task {i} step {step} at {:?}", clock.time() - t0));
                }
            }));
        }
        let (l2, clock) = (l.clone(), lp.clone());
        lp.call_later(Duration::from_millis(333), move || {
            l2.borrow_mut()
                .push(format!("callback at {:?}", clock.time() - t0));
        })
        .unwrap();
        for t in tasks {
            t.await.unwrap();
        }
    })
    .unwrap();
    let out = log.borrow().clone();
    out
}

#[test]
fn the_same_program_gives_the_same_trace_every_run() {
    let first = traced_run();
    assert_eq!(first.len(), 61);
    for _ in 0..5 {
        assert_eq!(traced_run(), first);
    }
}

#[test]
fn advance_moves_the_clock_by_hand_and_real_time_refuses() {
    let lp = aloop::new_event_loop();
    assert_eq!(
        lp.advance(Duration::from_secs(1)),
        Err(aloop::RealTimeError)
    );
    lp.use_virtual_time();
    let t0 = lp.time();
    lp.advance(Duration::from_secs(10)).unwrap();
    assert_eq!(lp.time() - t0, Duration::from_secs(10));
    // The clock stands still while the loop has work.
    let before = lp.time();
    lp.run_until_complete(async {}).unwrap();
    assert_eq!(lp.time(), before);
}
