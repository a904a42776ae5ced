//! Behaviour tests of the public `TimerWheel` API, one guarantee per test, all with
//! explicit instants (origin + Duration), never the real clock.

use std::time::{Duration, Instant};

use aloop_timer::{TimerKey, TimerWheel};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn payloads<T>(it: impl Iterator<Item = (TimerKey, Instant, T)>) -> Vec<T> {
    it.map(|(_, _, p)| p).collect()
}

#[test]
fn fires_in_deadline_order_not_insertion_order() {
    let o = Instant::now();
    let mut w = TimerWheel::with_origin(o);
    for d in [50, 3, 4000, 1, 70, 3_000_000] {
        w.insert(o + ms(d), d);
    }
    assert_eq!(payloads(w.advance(o + ms(4000))), [1, 3, 50, 70, 4000]);
    assert_eq!(w.len(), 1);
    assert_eq!(payloads(w.advance(o + ms(3_000_000))), [3_000_000]);
}

#[test]
fn equal_deadlines_fire_in_insertion_order_across_cascades() {
    let o = Instant::now();
    let mut w = TimerWheel::with_origin(o);
    let t = o + ms(100_000);
    // Interleave inserts at the same instant with time passing, so the entries sit
    // at different levels before meeting in the same slot.
    let mut now = o;
    for i in 0..10 {
        w.insert(t, i);
        now += ms(9_999);
        assert_eq!(w.advance(now).count(), 0);
    }
    assert_eq!(payloads(w.advance(t)), (0..10).collect::<Vec<_>>());
}

#[test]
fn never_fires_early_even_within_the_same_millisecond() {
    let o = Instant::now();
    let mut w = TimerWheel::with_origin(o);
    let t = o + Duration::from_micros(12_345_678);
    w.insert(t, ());
    for now in [o, t - ms(1), t - Duration::from_nanos(1)] {
        assert_eq!(w.advance(now).count(), 0, "fired at {:?}", now - o);
        assert!(w.poll_expired(now).is_none());
    }
    assert_eq!(w.advance(t).count(), 1);
}

#[test]
fn insert_at_or_before_now_fires_on_the_next_advance() {
    let o = Instant::now();
    let mut w = TimerWheel::with_origin(o);
    let now = o + ms(777) + Duration::from_micros(300);
    assert_eq!(w.advance(now).count(), 0);
    let zero = w.insert(now, "call_later(0)");
    let past = w.insert(now - ms(500), "overdue");
    let later_same_ms = w.insert(now + Duration::from_micros(100), "later");
    assert_eq!(w.next_deadline(), Some(now - ms(500)), "exact once due");
    let fired: Vec<_> = w.advance(now).map(|(k, _, p)| (k, p)).collect();
    assert_eq!(fired, [(past, "overdue"), (zero, "call_later(0)")]);
    assert_eq!(w.next_deadline(), Some(now + Duration::from_micros(100)));
    assert!(w.contains(later_same_ms));
}

#[test]
fn deadlines_before_origin_are_due_immediately() {
    let base = Instant::now();
    let o = base + ms(10_000);
    let mut w = TimerWheel::with_origin(o);
    w.insert(base + ms(5), "b");
    w.insert(base, "a");
    w.insert(o, "c");
    assert_eq!(payloads(w.advance(base + ms(5))), ["a", "b"]);
    assert_eq!(payloads(w.advance(o)), ["c"]);
}

#[test]
fn cancel_returns_payload_once_and_stale_keys_are_harmless() {
    let o = Instant::now();
    let mut w = TimerWheel::with_origin(o);
    let a = w.insert(o + ms(10), 'a');
    let b = w.insert(o + ms(20), 'b');
    assert_eq!(w.cancel(a), Some('a'));
    assert_eq!(w.cancel(a), None);
    assert_eq!(w.deadline(a), None);
    // The freed slot is reused; the old key must not reach the new entry.
    let c = w.insert(o + ms(30), 'c');
    assert_ne!(a, c);
    assert_eq!(w.cancel(a), None);
    assert_eq!(w.deadline(c), Some(o + ms(30)));
    assert_eq!(payloads(w.advance(o + ms(30))), ['b', 'c']);
    assert_eq!(w.cancel(b), None, "fired keys are stale");
    assert_eq!(w.cancel(c), None);
    assert!(w.is_empty());
}

#[test]
fn keys_from_another_wheel_do_not_panic() {
    let o = Instant::now();
    let mut big = TimerWheel::with_origin(o);
    let keys: Vec<_> = (0..100).map(|i| big.insert(o + ms(i), i)).collect();
    let mut small: TimerWheel<u64> = TimerWheel::with_origin(o);
    small.insert(o, 0);
    assert_eq!(small.cancel(keys[99]), None);
    assert_eq!(small.deadline(keys[50]), None);
    assert_eq!(small.len(), 1);
}

#[test]
fn cancel_of_a_due_entry_updates_next_deadline() {
    let o = Instant::now();
    let mut w = TimerWheel::with_origin(o);
    let now = o + ms(5);
    assert_eq!(w.advance(now).count(), 0);
    let first = w.insert(now + Duration::from_micros(10), 1);
    w.insert(now + Duration::from_micros(20), 2);
    assert_eq!(w.next_deadline(), Some(now + Duration::from_micros(10)));
    w.cancel(first);
    assert_eq!(w.next_deadline(), Some(now + Duration::from_micros(20)));
}

#[test]
fn next_deadline_is_a_lower_bound_and_none_only_when_empty() {
    let o = Instant::now();
    let mut w = TimerWheel::with_origin(o);
    assert_eq!(w.next_deadline(), None);
    let targets = [ms(1), ms(65), ms(5_000), ms(300_000), ms(86_400_000)];
    for &d in &targets {
        w.insert(o + d + Duration::from_micros(250), ());
    }
    let mut now = o;
    let mut fired = 0;
    let mut wakeups = 0;
    while let Some(next) = w.next_deadline() {
        wakeups += 1;
        assert!(next <= o + targets[fired] + Duration::from_micros(250));
        now = now.max(next);
        fired += w.advance(now).count();
    }
    assert_eq!(fired, targets.len());
    assert!(wakeups <= 6 * targets.len(), "{wakeups} wake-ups");
}

#[test]
fn far_future_deadlines_use_the_overflow_list() {
    let o = Instant::now();
    let mut w = TimerWheel::with_origin(o);
    let year = Duration::from_secs(365 * 24 * 3600);
    let far = [3 * year, 100 * year, 2 * year + ms(1), 2500 * year];
    for (i, &d) in far.iter().enumerate() {
        w.insert(o + d, i);
    }
    w.insert(o + ms(1), 99);
    assert!(w.next_deadline().unwrap() <= o + ms(1));
    assert_eq!(payloads(w.advance(o + year)), [99]);
    assert_eq!(w.advance(o + 2 * year).count(), 0);
    assert_eq!(payloads(w.advance(o + 3 * year)), [2, 0]);
    assert!(w.next_deadline().unwrap() <= o + 100 * year);
    assert_eq!(
        w.advance(o + 100 * year - Duration::from_nanos(1)).count(),
        0
    );
    assert_eq!(payloads(w.advance(o + 100 * year)), [1]);
    assert_eq!(payloads(w.advance(o + 2500 * year)), [3]);
    assert!(w.is_empty());
}

#[test]
fn jumping_far_ahead_fires_everything_in_order() {
    let o = Instant::now();
    let mut w = TimerWheel::with_origin(o);
    let deadlines: Vec<u64> = (0..500).map(|i| (i * 104_729) % 10_000_000).collect();
    for &d in &deadlines {
        w.insert(o + ms(d), d);
    }
    let mut sorted = deadlines.clone();
    sorted.sort_unstable();
    assert_eq!(payloads(w.advance(o + ms(20_000_000))), sorted);
}

#[test]
fn partially_consumed_advance_keeps_the_rest() {
    let o = Instant::now();
    let mut w = TimerWheel::with_origin(o);
    for i in 0..5 {
        w.insert(o + ms(i), i);
    }
    assert_eq!(payloads(w.advance(o + ms(10)).take(2)), [0, 1]);
    assert_eq!(w.len(), 3);
    assert_eq!(w.poll_expired(o + ms(10)).map(|e| e.2), Some(2));
    assert_eq!(payloads(w.advance(o + ms(3))), [3]);
    assert_eq!(payloads(w.advance(o + ms(4))), [4]);
}

#[test]
fn time_going_backwards_is_tolerated() {
    let o = Instant::now();
    let mut w = TimerWheel::with_origin(o);
    assert_eq!(w.advance(o + ms(1000)).count(), 0);
    w.insert(o + ms(900), "a");
    w.insert(o + ms(1100), "b");
    assert_eq!(
        w.advance(o + ms(800)).count(),
        0,
        "earlier now: nothing due"
    );
    assert_eq!(payloads(w.advance(o + ms(950))), ["a"]);
    assert_eq!(payloads(w.advance(o + ms(1100))), ["b"]);
}

#[test]
fn clear_drops_payloads_and_invalidates_keys() {
    use std::rc::Rc;
    let o = Instant::now();
    let mut w = TimerWheel::with_origin(o);
    let token = Rc::new(());
    let keys: Vec<_> = (0..10)
        .map(|i| w.insert(o + ms(i * 1000), Rc::clone(&token)))
        .collect();
    assert_eq!(Rc::strong_count(&token), 11);
    w.clear();
    assert_eq!(Rc::strong_count(&token), 1, "payloads dropped");
    assert!(w.is_empty());
    assert_eq!(w.next_deadline(), None);
    assert!(keys.iter().all(|&k| w.deadline(k).is_none()));
    let k = w.insert(o + ms(5), Rc::clone(&token));
    assert!(keys.iter().all(|&old| w.cancel(old).is_none()));
    assert_eq!(w.advance(o + ms(5)).map(|e| e.0).collect::<Vec<_>>(), [k]);
}

#[test]
fn dropping_the_wheel_drops_payloads() {
    use std::rc::Rc;
    let o = Instant::now();
    let token = Rc::new(());
    {
        let mut w = TimerWheel::with_origin(o);
        w.insert(o + ms(1), Rc::clone(&token));
        w.insert(o + Duration::from_secs(1 << 40), Rc::clone(&token));
    }
    assert_eq!(Rc::strong_count(&token), 1);
}

#[test]
fn wheel_is_send_when_payload_is_send() {
    fn assert_send<T: Send>() {}
    assert_send::<TimerWheel<Box<dyn FnOnce() + Send>>>();
    assert_send::<TimerKey>();
}

#[test]
fn default_and_new_start_empty() {
    let w: TimerWheel<()> = TimerWheel::default();
    assert!(w.is_empty());
    assert!(w.origin() <= Instant::now());
    assert!(format!("{w:?}").contains("TimerWheel"));
}

#[test]
fn astronomically_far_deadlines_do_not_step_through_every_window() {
    // A "never" sentinel far beyond the tick clamp, plus one in a later window than
    // an ordinary far entry: advancing straight to them must be quick and exact.
    let o = Instant::now();
    let mut w = TimerWheel::with_origin(o);
    let year = Duration::from_secs(365 * 24 * 3600);
    let never = o + 1_000_000_000 * year;
    w.insert(never, "never");
    w.insert(o + 50_000 * year, "far");
    w.insert(o + 3 * year, "near");
    assert_eq!(payloads(w.advance(o + 10 * year)), ["near"]);
    assert_eq!(w.advance(never - Duration::from_nanos(1)).count(), 1);
    assert!(w.next_deadline().unwrap() <= never);
    assert_eq!(payloads(w.advance(never)), ["never"]);
    assert!(w.is_empty());
}
