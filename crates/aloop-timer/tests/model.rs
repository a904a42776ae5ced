//! Property test: the wheel against a reference model (a `BTreeMap` keyed by
//! `(deadline, insertion seq)`) over random insert / cancel / advance sequences.
//!
//! After every operation the test checks the exact set and order of expired entries,
//! cancel results, `len()`, `deadline(key)` for every key ever issued, and that
//! `next_deadline()` is a lower bound of the model's earliest deadline that is `None`
//! exactly when the model is empty. It ends by draining the wheel through
//! `next_deadline()` alone, which proves that no entry is lost or stranded.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aloop_timer::{TimerKey, TimerWheel};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    /// Insert at `now + ahead - behind` (behind > 0 gives overdue deadlines).
    Insert {
        ahead: Duration,
        behind: Duration,
    },
    /// Cancel the n-th key ever issued (modulo), often a stale one.
    Cancel(usize),
    /// Reach the n-th key's payload through `payload_mut` (modulo), often a stale one.
    Touch(usize),
    /// Move `now` (forwards, or backwards if `back`) and drain `advance(now)`.
    Advance {
        by: Duration,
        back: bool,
    },
    /// Move `now` forwards and take only `take` items from the iterator.
    AdvancePartly {
        by: Duration,
        take: usize,
    },
    /// Move `now` forwards and call `poll_expired` once.
    Poll(Duration),
    Clear,
}

/// Durations over every scale the wheel distinguishes: sub-millisecond, each level
/// (64^k ms) and past the 64^6 ms horizon into the overflow list.
fn span() -> impl Strategy<Value = Duration> {
    let ns = |max_ms: u64| (0..max_ms * 1_000_000).prop_map(Duration::from_nanos);
    prop_oneof![
        Just(Duration::ZERO),
        ns(2),
        ns(64),
        ns(4_096),
        ns(262_144),
        ns(16_777_216),
        ns(1 << 30),
        ns(1 << 38),
        (0..3u64).prop_map(Duration::from_millis),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        30 => (span(), prop_oneof![3 => Just(Duration::ZERO), 1 => span()])
            .prop_map(|(ahead, behind)| Op::Insert { ahead, behind }),
        12 => any::<usize>().prop_map(Op::Cancel),
        4 => any::<usize>().prop_map(Op::Touch),
        12 => (span(), prop::bool::weighted(0.1)).prop_map(|(by, back)| Op::Advance { by, back }),
        3 => (span(), 0..4usize).prop_map(|(by, take)| Op::AdvancePartly { by, take }),
        4 => span().prop_map(Op::Poll),
        1 => Just(Op::Clear),
    ]
}

/// The reference: pending entries in firing order, and what each key maps to.
#[derive(Default)]
struct Model {
    pending: BTreeMap<(Instant, u64), TimerKey>,
    keys: Vec<(TimerKey, Instant, u64)>,
}

impl Model {
    fn pop_due(&mut self, now: Instant) -> Option<(TimerKey, Instant, u64)> {
        let entry = self.pending.first_entry()?;
        let (deadline, seq) = *entry.key();
        (deadline <= now).then(|| (entry.remove(), deadline, seq))
    }

    fn is_pending(&self, deadline: Instant, seq: u64) -> bool {
        self.pending.contains_key(&(deadline, seq))
    }
}

fn check(wheel: &TimerWheel<u64>, model: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(wheel.len(), model.pending.len());
    prop_assert_eq!(wheel.is_empty(), model.pending.is_empty());
    match model.pending.keys().next() {
        None => prop_assert_eq!(wheel.next_deadline(), None),
        Some(&(earliest, _)) => {
            let next = wheel.next_deadline();
            prop_assert!(next.is_some(), "next_deadline None with entries pending");
            prop_assert!(
                next.unwrap() <= earliest,
                "next_deadline after the earliest"
            );
        }
    }
    for &(key, deadline, seq) in &model.keys {
        let expect = model.is_pending(deadline, seq).then_some(deadline);
        prop_assert_eq!(wheel.deadline(key), expect);
        prop_assert_eq!(wheel.contains(key), expect.is_some());
        prop_assert_eq!(wheel.payload(key), expect.map(|_| &seq));
    }
    Ok(())
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    // Origin an hour after `base`: early deadlines fall before the origin.
    let base = Instant::now();
    let mut wheel = TimerWheel::with_origin(base + Duration::from_secs(3600));
    let mut model = Model::default();
    let mut now = base;
    let mut seq = 0u64;
    for op in ops {
        match op {
            Op::Insert { ahead, behind } => {
                let deadline = (now + ahead).checked_sub(behind).unwrap_or(base);
                let key = wheel.insert(deadline, seq);
                prop_assert!(
                    !model.keys.iter().any(|k| k.0 == key),
                    "a fresh key equals an earlier one"
                );
                model.pending.insert((deadline, seq), key);
                model.keys.push((key, deadline, seq));
                seq += 1;
            }
            Op::Cancel(n) => {
                if let Some(&(key, deadline, seq)) = model.keys.get(n % model.keys.len().max(1)) {
                    let expect = model.pending.remove(&(deadline, seq)).map(|_| seq);
                    prop_assert_eq!(wheel.cancel(key), expect);
                }
            }
            Op::Touch(n) => {
                // Through `payload_mut`, a pending entry's own payload, written back:
                // the entry must keep its key, deadline and firing order (`check`).
                if let Some(&(key, deadline, seq)) = model.keys.get(n % model.keys.len().max(1)) {
                    let pending = model.is_pending(deadline, seq);
                    match wheel.payload_mut(key) {
                        Some(payload) => {
                            prop_assert!(pending, "payload_mut of a stale key");
                            prop_assert_eq!(*payload, seq);
                            *payload = seq;
                        }
                        None => prop_assert!(!pending, "no payload_mut for a pending key"),
                    }
                }
            }
            Op::Advance { by, back } => {
                now = if back {
                    now.checked_sub(by).unwrap_or(base).max(base)
                } else {
                    now + by
                };
                let got: Vec<_> = wheel.advance(now).collect();
                let want: Vec<_> = std::iter::from_fn(|| model.pop_due(now)).collect();
                prop_assert_eq!(got, want);
            }
            Op::AdvancePartly { by, take } => {
                now += by;
                let got: Vec<_> = wheel.advance(now).take(take).collect();
                let want: Vec<_> = std::iter::from_fn(|| model.pop_due(now))
                    .take(take)
                    .collect();
                prop_assert_eq!(got, want);
            }
            Op::Poll(by) => {
                now += by;
                prop_assert_eq!(wheel.poll_expired(now), model.pop_due(now));
            }
            Op::Clear => {
                wheel.clear();
                model.pending.clear();
            }
        }
        check(&wheel, &model)?;
    }
    // Drain using only next_deadline(): each wake-up must make progress (fire
    // something or move a slot down a level), so a bounded number of steps empties it.
    let mut steps = 0;
    let bound = 8 * (model.pending.len() + 1);
    while let Some(next) = wheel.next_deadline() {
        steps += 1;
        prop_assert!(steps <= bound, "drain does not converge");
        now = now.max(next);
        let got: Vec<_> = wheel.advance(now).collect();
        let want: Vec<_> = std::iter::from_fn(|| model.pop_due(now)).collect();
        prop_assert_eq!(got, want);
    }
    prop_assert!(
        model.pending.is_empty(),
        "wheel reports no deadline, model still has entries"
    );
    check(&wheel, &model)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn matches_reference_model(ops in prop::collection::vec(op(), 1..300)) {
        run(ops)?;
    }
}

#[test]
fn model_smoke_many_equal_deadlines() {
    // A deterministic case the random generator rarely hits: dozens of entries on
    // the same instant spread across cascades.
    let ops = (0..40)
        .map(|i| Op::Insert {
            ahead: Duration::from_millis(5000 + (i % 3)),
            behind: Duration::ZERO,
        })
        .chain([
            Op::Cancel(7),
            Op::Advance {
                by: Duration::from_millis(5001),
                back: false,
            },
        ])
        .collect();
    run(ops).unwrap();
}
