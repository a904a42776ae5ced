//! White-box tests: a checker for the wheel's internal invariants, run after every
//! operation of random workloads, plus tests of the memory behaviour (slab reuse,
//! stale heap records) that the public API cannot observe.

use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::TimerWheel;
use crate::levels::{list_for, LEVELS, OVERFLOW};
use crate::slab::{IN_DUE, NIL};

impl<T> TimerWheel<T> {
    /// Panics if any structural invariant is broken.
    fn check_invariants(&self) {
        let mut in_lists = 0;
        for list in 0..=OVERFLOW {
            let mut prev = NIL;
            let mut index = self.levels.head(list);
            if list != OVERFLOW {
                assert_eq!(
                    self.levels.marked(list),
                    index != NIL,
                    "bitmap of list {list}"
                );
            }
            while index != NIL {
                let e = self.slab.at(index);
                assert!(
                    e.payload.is_some(),
                    "vacant entry {index} linked in list {list}"
                );
                assert_eq!(e.list, list, "entry {index} records the wrong list");
                assert_eq!(e.prev, prev, "broken prev link at {index}");
                assert!(
                    e.tick > self.elapsed,
                    "entry {index} is due but still in the wheel"
                );
                assert_eq!(
                    list_for(e.tick, self.elapsed),
                    list,
                    "entry {index} misfiled"
                );
                in_lists += 1;
                prev = index;
                index = e.next;
            }
        }
        let mut in_due = 0;
        for index in 0..self.slab.capacity() as u32 {
            let e = self.slab.at(index);
            if e.payload.is_some() && e.list == IN_DUE {
                assert!(
                    e.tick <= self.elapsed,
                    "entry {index} in the heap too early"
                );
                in_due += 1;
            }
        }
        assert_eq!(self.due.live(), in_due, "due heap live count");
        assert_eq!(in_lists + in_due, self.len, "len");
        if let Some(top) = self.due.peek() {
            assert!(
                self.slab.get(top.index, top.generation).is_some(),
                "stale heap top"
            );
        }
    }
}

#[derive(Clone, Debug)]
enum Op {
    /// Insert at `now + offset_ns - back_ns`.
    Insert {
        offset_ns: u64,
        back_ns: u64,
    },
    /// Cancel the n-th key ever issued (modulo), possibly stale.
    Cancel(usize),
    /// Advance `now` by this many nanoseconds and drain what expired.
    Advance(u64),
    /// Pop at most one expired entry.
    Poll(u64),
    Clear,
}

/// Offsets spread over every level and the overflow list.
fn offset() -> impl Strategy<Value = u64> {
    let ms = 1_000_000u64;
    prop_oneof![
        0..2 * ms,
        0..70 * ms,
        0..5_000 * ms,
        0..300_000 * ms,
        0..20_000_000 * ms,
        0..(1u64 << 38) * ms,
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        30 => (offset(), prop_oneof![3 => Just(0u64), 1 => 0..5_000_000_000u64])
            .prop_map(|(offset_ns, back_ns)| Op::Insert { offset_ns, back_ns }),
        15 => any::<usize>().prop_map(Op::Cancel),
        15 => offset().prop_map(Op::Advance),
        5 => offset().prop_map(Op::Poll),
        1 => Just(Op::Clear),
    ]
}

proptest! {
    #[test]
    fn invariants_hold_under_random_ops(ops in prop::collection::vec(op(), 1..200)) {
        // Origin an hour after `base` so deadlines before the origin are exercised.
        let base = Instant::now();
        let mut wheel = TimerWheel::with_origin(base + Duration::from_secs(3600));
        let mut now = base;
        let mut keys = Vec::new();
        for op in ops {
            match op {
                Op::Insert { offset_ns, back_ns } => {
                    let at = (now + Duration::from_nanos(offset_ns))
                        .checked_sub(Duration::from_nanos(back_ns))
                        .unwrap_or(now);
                    keys.push(wheel.insert(at, ()));
                }
                Op::Cancel(n) if !keys.is_empty() => {
                    wheel.cancel(keys[n % keys.len()]);
                }
                Op::Cancel(_) => {}
                Op::Advance(d) => {
                    now += Duration::from_nanos(d);
                    for (_, deadline, ()) in wheel.advance(now) {
                        prop_assert!(deadline <= now);
                    }
                }
                Op::Poll(d) => {
                    now += Duration::from_nanos(d);
                    if let Some((_, deadline, ())) = wheel.poll_expired(now) {
                        prop_assert!(deadline <= now);
                    }
                }
                Op::Clear => wheel.clear(),
            }
            wheel.check_invariants();
        }
    }
}

#[test]
fn steady_state_reuses_slab_slots() {
    let origin = Instant::now();
    let mut wheel = TimerWheel::with_origin(origin);
    let mut now = origin;
    for round in 0..50u64 {
        let keys: Vec<_> = (0..1000u64)
            .map(|i| {
                wheel.insert(
                    now + Duration::from_millis(1 + (i * 7919 + round) % 100_000),
                    i,
                )
            })
            .collect();
        for key in keys.iter().step_by(2) {
            assert!(wheel.cancel(*key).is_some());
        }
        now += Duration::from_secs(200);
        assert_eq!(wheel.advance(now).count(), 500);
        assert_eq!(wheel.slab.capacity(), 1000, "round {round} grew the slab");
    }
    wheel.check_invariants();
}

#[test]
fn stale_heap_records_are_bounded() {
    let origin = Instant::now();
    let mut wheel = TimerWheel::with_origin(origin);
    let now = origin + Duration::from_millis(10);
    assert_eq!(wheel.advance(now).count(), 0);
    // Due-but-not-yet-fired entries, cancelled over and over without advancing: the
    // heap must not keep a record per cancellation.
    let keeper = wheel.insert(now + Duration::from_micros(500), 0);
    for i in 0..100_000 {
        let key = wheel.insert(now + Duration::from_micros(100), i);
        assert_eq!(wheel.cancel(key), Some(i));
        assert!(wheel.due.records() <= 2 * wheel.due.live() + 64 + 1);
    }
    wheel.check_invariants();
    assert_eq!(
        wheel.next_deadline(),
        Some(now + Duration::from_micros(500))
    );
    assert_eq!(wheel.cancel(keeper), Some(0));
    assert_eq!(
        wheel.next_deadline(),
        None,
        "no stale record may surface as a deadline"
    );
}

#[test]
fn every_level_is_used_and_cascades() {
    let origin = Instant::now();
    let mut wheel = TimerWheel::with_origin(origin);
    let mut levels_seen = [false; LEVELS + 1];
    let mut expected = Vec::new();
    for level in 0..=LEVELS as u32 {
        let ms = 64u64.pow(level) + 3;
        let key = wheel.insert(origin + Duration::from_millis(ms), ms);
        let list = wheel.slab.at(key.index).list;
        levels_seen[(list as usize / 64).min(LEVELS)] = true;
        expected.push(ms);
    }
    assert!(levels_seen.iter().all(|&s| s), "{levels_seen:?}");
    let mut fired = Vec::new();
    let mut now = origin;
    while let Some(next) = wheel.next_deadline() {
        now = now.max(next);
        fired.extend(wheel.advance(now).map(|(_, d, ms)| {
            assert_eq!(d, origin + Duration::from_millis(ms));
            assert!(d <= now);
            ms
        }));
        wheel.check_invariants();
    }
    assert_eq!(fired, expected);
}
