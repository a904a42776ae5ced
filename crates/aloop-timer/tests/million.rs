//! Scale test: a million timers with random deadlines, half of them cancelled; every
//! survivor must fire exactly once, in (deadline, insertion) order, never early and
//! never late.

use std::time::{Duration, Instant};

use aloop_timer::TimerWheel;

/// xorshift64*: deterministic, dependency-free randomness.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn many_timers_fire_once_in_order_never_early() {
    // About 2 s in a debug build, so the full size runs in plain `cargo test`.
    let n: usize = 1_000_000;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let origin = Instant::now();
    let mut wheel = TimerWheel::with_origin(origin);

    // Mostly within an hour, some up to a month out, at nanosecond resolution.
    let hour_ns = 3_600_000_000_000u64;
    let deadlines: Vec<Instant> = (0..n)
        .map(|_| {
            let span = if rng.below(10) == 0 {
                720 * hour_ns
            } else {
                hour_ns
            };
            origin + Duration::from_nanos(rng.below(span))
        })
        .collect();
    let keys: Vec<_> = deadlines
        .iter()
        .enumerate()
        .map(|(i, &d)| wheel.insert(d, i))
        .collect();
    assert_eq!(wheel.len(), n);

    // Cancel exactly half, chosen by a partial Fisher-Yates shuffle.
    let mut order: Vec<usize> = (0..n).collect();
    for i in 0..n / 2 {
        let j = i + rng.below((n - i) as u64) as usize;
        order.swap(i, j);
    }
    let mut alive = vec![true; n];
    for &i in &order[..n / 2] {
        assert_eq!(wheel.cancel(keys[i]), Some(i));
        alive[i] = false;
    }
    assert_eq!(wheel.len(), n - n / 2);

    let mut expected: Vec<(Instant, usize)> = (0..n)
        .filter(|&i| alive[i])
        .map(|i| (deadlines[i], i))
        .collect();
    expected.sort_unstable();

    // Advance in random steps from microseconds to hours; at each step exactly the
    // next run of `expected` with deadline <= now must come out.
    let mut now = origin;
    let mut next = 0;
    while next < expected.len() {
        let scale = rng.below(44);
        now += Duration::from_nanos(rng.below(1 << scale) + 1);
        for (key, deadline, i) in wheel.advance(now) {
            assert!(deadline <= now, "fired early");
            assert_eq!((deadline, i), expected[next], "wrong entry or order");
            assert_eq!(key, keys[i]);
            next += 1;
        }
        if let Some(&(d, _)) = expected.get(next) {
            assert!(
                d > now,
                "entry due at {:?} not fired by {:?}",
                d - origin,
                now - origin
            );
            assert!(wheel.next_deadline().is_some_and(|nd| nd <= d));
        }
        assert_eq!(wheel.len(), expected.len() - next);
    }
    assert!(wheel.is_empty());
    assert_eq!(wheel.next_deadline(), None);
    assert!(
        keys.iter().all(|&k| wheel.cancel(k).is_none()),
        "all keys stale"
    );
}
