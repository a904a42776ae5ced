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

/// Timers scheduled and cancelled by the callbacks of other timers, and by callbacks
/// those schedule: what the loop remembers of the wheel's next deadline must stay a
/// bound that is never later than the earliest timer, or a timer scheduled sooner
/// than all the others would fire late. With virtual time, lateness shows exactly.
#[test]
fn timers_scheduled_and_cancelled_from_callbacks_fire_exactly_at_their_deadlines() {
    type Fired = Rc<RefCell<Vec<(u64, Instant, Instant)>>>;
    type Pending = Rc<RefCell<Vec<(u64, aloop::TimerHandle)>>>;

    fn schedule(
        lp: &aloop::LoopRef,
        delay: Duration,
        fired: &Fired,
        pending: &Pending,
        rng: &Rc<RefCell<Lcg>>,
    ) {
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let (lp2, f, p, r) = (lp.clone(), fired.clone(), pending.clone(), rng.clone());
        let due = lp.time() + delay;
        let handle = lp
            .call_later(delay, move || {
                f.borrow_mut().push((id, due, lp2.time()));
                p.borrow_mut().retain(|(other, _)| *other != id);
                let (children, cancel) = {
                    let mut rng = r.borrow_mut();
                    (rng.next(3), rng.next(4) == 0)
                };
                if cancel && !p.borrow().is_empty() {
                    let n = r.borrow_mut().next(p.borrow().len() as u64) as usize;
                    let (_, handle) = p.borrow_mut().swap_remove(n);
                    handle.cancel();
                }
                for c in 0..children {
                    // Often sooner than every timer still pending.
                    let delay = Duration::from_millis(1 + r.borrow_mut().next(60_000));
                    if f.borrow().len() + p.borrow().len() >= 3_000 {
                        break;
                    }
                    if c == 0 {
                        schedule(&lp2, delay, &f, &p, &r);
                        continue;
                    }
                    // From a callback of the next iteration too, which runs after the
                    // loop has looked at the wheel without firing anything.
                    let (lp3, f, p, r) = (lp2.clone(), f.clone(), p.clone(), r.clone());
                    lp2.call_soon(move || schedule(&lp3, delay, &f, &p, &r))
                        .unwrap();
                }
            })
            .unwrap();
        pending.borrow_mut().push((id, handle));
    }

    let lp = aloop::new_event_loop();
    lp.use_virtual_time();
    let fired: Fired = Rc::default();
    let pending: Pending = Rc::default();
    let rng = Rc::new(RefCell::new(Lcg(7)));
    let lr = lp.clone_ref();
    for _ in 0..50 {
        let delay = Duration::from_millis(1 + rng.borrow_mut().next(3_600_000));
        schedule(&lr, delay, &fired, &pending, &rng);
    }
    let stopper = lp.clone_ref();
    lp.call_later(Duration::from_secs(365 * 24 * 3600), move || stopper.stop())
        .unwrap();
    lp.run_forever().unwrap();
    let fired = fired.borrow();
    assert!(
        fired.len() > 100,
        "the callbacks scheduled more: {}",
        fired.len()
    );
    assert!(
        pending.borrow().is_empty(),
        "every timer fired or was cancelled"
    );
    for (id, due, at) in fired.iter() {
        assert_eq!(at, due, "timer {id} fired {:?} late", *at - *due);
    }
}

/// The loop keeps its next deadline between iterations; a cancel must not leave it
/// pointing at the cancelled timer (the loop would wake for nothing), and a cancel of
/// a later timer must not hide an earlier one. Each run counts the iterations to the
/// last timer: a cancelled timer costs none, whichever it was.
#[test]
fn a_cancelled_timer_costs_no_wake_up_whether_it_was_the_earliest_or_not() {
    /// Iterations until the run stops at 60 s, with `extra` scheduled and soon
    /// cancelled, and when the timer due at `keep` fired.
    fn iterations(extra: Option<Duration>, keep: Duration) -> (u64, Duration) {
        let lp = aloop::new_event_loop();
        lp.use_virtual_time();
        let t0 = lp.time();
        let kept_fired_at = Rc::new(RefCell::new(None));
        let (k, lr) = (kept_fired_at.clone(), lp.clone_ref());
        lp.call_later(keep, move || *k.borrow_mut() = Some(lr.time()))
            .unwrap();
        let handle = extra.map(|extra| {
            lp.call_later(extra, || panic!("a cancelled timer ran"))
                .unwrap()
        });
        // Cancelled two iterations in (the loop has looked at the wheel by then); the
        // run without one makes the same two hops.
        let lr = lp.clone_ref();
        lp.call_soon(move || {
            lr.call_soon(move || handle.iter().for_each(aloop::TimerHandle::cancel))
                .unwrap();
        })
        .unwrap();
        let stopper = lp.clone_ref();
        lp.call_later(Duration::from_secs(60), move || stopper.stop())
            .unwrap();
        let before = lp.metrics().iterations;
        lp.run_forever().unwrap();
        let fired = kept_fired_at.borrow().expect("the kept timer fired");
        (lp.metrics().iterations - before, fired - t0)
    }

    let (secs, ms) = (Duration::from_secs, Duration::from_millis);
    for (extra, keep) in [
        (ms(300), secs(7)),     // the earliest is cancelled
        (secs(30), ms(1_500)),  // a later one is cancelled
        (ms(1_500), ms(1_500)), // one due with the kept timer
    ] {
        let (with_cancel, fired) = iterations(Some(extra), keep);
        let (without, _) = iterations(None, keep);
        assert_eq!(
            fired, keep,
            "the kept timer fired on time ({extra:?} cancelled)"
        );
        assert_eq!(
            with_cancel, without,
            "iterations with a timer of {extra:?} cancelled, and with none"
        );
    }
}
