//! Fuzz target: aloop-timer's `TimerWheel` against a `BTreeMap<(deadline, seq), key>`
//! model, over insert / cancel / payload_mut / advance (forwards, backwards, partly
//! consumed) / poll_expired / clear sequences that libFuzzer picks.
//!
//! After every operation: the exact entries and order that fired (the wheel promises
//! deadline order, ties in insertion order), cancel results, `len`, `deadline(key)` and
//! `contains(key)` and `payload(key)` for every key ever issued, and `next_deadline()` a lower bound of
//! the earliest deadline that is `None` exactly when empty. At the end the wheel is
//! drained through `next_deadline()` alone, in a bounded number of wake-ups. The same
//! properties as `crates/aloop-timer/tests/model.rs` (a proptest), here with
//! coverage-guided inputs. Neighbours: the other targets in this directory.
#![no_main]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aloop_timer::{TimerKey, TimerWheel};
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

/// A duration at one of the scales the wheel tells apart: sub-millisecond, each of its
/// six levels (64^k ms) and past its 64^6 ms horizon (the overflow list).
#[derive(Arbitrary, Debug, Clone, Copy)]
struct Span {
    scale: u8,
    value: u32,
}

impl Span {
    fn get(self) -> Duration {
        // Upper bound in nanoseconds of each scale.
        const MAX_NS: [u64; 10] = [
            0,
            2_000_000,
            64_000_000,
            4_096_000_000,
            262_144_000_000,
            16_777_216_000_000,
            (1 << 30) * 1_000_000,
            (1 << 38) * 1_000_000,
            3_000_000, // whole milliseconds: equal deadlines
            1_000,
        ];
        let scale = usize::from(self.scale) % MAX_NS.len();
        match scale {
            0 => Duration::ZERO,
            8 => Duration::from_millis(u64::from(self.value % 3)),
            _ => {
                // Spread the 32 input bits over the range.
                let max = MAX_NS[scale];
                let ns = ((u128::from(self.value) * u128::from(max)) >> 32) as u64;
                Duration::from_nanos(ns)
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Op {
    /// Insert at `now + ahead - behind` (clamped to the start of time).
    Insert {
        ahead: Span,
        behind: Option<Span>,
    },
    /// Cancel the n-th key ever issued (modulo): often a stale one.
    Cancel(u16),
    /// Reach the n-th key's payload through `payload_mut` (modulo) and write it back.
    Touch(u16),
    /// Move `now` forwards (or backwards) and drain `advance(now)`.
    Advance {
        by: Span,
        back: bool,
    },
    /// Move `now` forwards and take only `take` items of `advance(now)`.
    AdvancePartly {
        by: Span,
        take: u8,
    },
    /// Move `now` forwards and call `poll_expired` once.
    Poll(Span),
    Clear,
}

#[derive(Arbitrary, Debug)]
struct Input {
    /// The origin's distance after the start of time: deadlines before it are legal.
    origin_after: Span,
    ops: Vec<Op>,
}

/// The reference: pending entries in firing order, and every key issued.
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
}

fn check(wheel: &TimerWheel<u64>, model: &Model) {
    assert_eq!(wheel.len(), model.pending.len());
    assert_eq!(wheel.is_empty(), model.pending.is_empty());
    match model.pending.keys().next() {
        None => assert_eq!(wheel.next_deadline(), None),
        Some(&(earliest, _)) => {
            let next = wheel
                .next_deadline()
                .expect("next_deadline None with entries pending");
            assert!(
                next <= earliest,
                "next_deadline after the earliest deadline"
            );
        }
    }
    for &(key, deadline, seq) in &model.keys {
        let expect = model
            .pending
            .contains_key(&(deadline, seq))
            .then_some(deadline);
        assert_eq!(wheel.deadline(key), expect);
        assert_eq!(wheel.contains(key), expect.is_some());
        assert_eq!(wheel.payload(key), expect.map(|_| &seq));
    }
}

fn run(input: Input) {
    let base = Instant::now();
    let mut wheel = TimerWheel::with_origin(base + input.origin_after.get());
    let mut model = Model::default();
    let mut now = base;
    let mut seq = 0u64;
    for op in input.ops {
        match op {
            Op::Insert { ahead, behind } => {
                let behind = behind.map_or(Duration::ZERO, Span::get);
                let deadline = (now + ahead.get())
                    .checked_sub(behind)
                    .unwrap_or(base)
                    .max(base);
                let key = wheel.insert(deadline, seq);
                assert!(
                    !model.keys.iter().any(|k| k.0 == key),
                    "a fresh key equals an earlier one"
                );
                model.pending.insert((deadline, seq), key);
                model.keys.push((key, deadline, seq));
                seq += 1;
            }
            Op::Cancel(n) => {
                if !model.keys.is_empty() {
                    let (key, deadline, seq) = model.keys[usize::from(n) % model.keys.len()];
                    let expect = model.pending.remove(&(deadline, seq)).map(|_| seq);
                    assert_eq!(wheel.cancel(key), expect);
                }
            }
            Op::Touch(n) => {
                if !model.keys.is_empty() {
                    let (key, deadline, seq) = model.keys[usize::from(n) % model.keys.len()];
                    let pending = model.pending.contains_key(&(deadline, seq));
                    match wheel.payload_mut(key) {
                        Some(payload) => {
                            assert!(pending, "payload_mut of a stale key");
                            assert_eq!(*payload, seq);
                            *payload = seq;
                        }
                        None => assert!(!pending, "no payload_mut for a pending key"),
                    }
                }
            }
            Op::Advance { by, back } => {
                now = if back {
                    now.checked_sub(by.get()).unwrap_or(base).max(base)
                } else {
                    now + by.get()
                };
                let got: Vec<_> = wheel.advance(now).collect();
                let want: Vec<_> = std::iter::from_fn(|| model.pop_due(now)).collect();
                assert_eq!(got, want);
            }
            Op::AdvancePartly { by, take } => {
                now += by.get();
                let take = usize::from(take % 8);
                let got: Vec<_> = wheel.advance(now).take(take).collect();
                let want: Vec<_> = std::iter::from_fn(|| model.pop_due(now))
                    .take(take)
                    .collect();
                assert_eq!(got, want);
            }
            Op::Poll(by) => {
                now += by.get();
                assert_eq!(wheel.poll_expired(now), model.pop_due(now));
            }
            Op::Clear => {
                wheel.clear();
                model.pending.clear();
            }
        }
        check(&wheel, &model);
    }
    // Drain with next_deadline() alone: every wake-up fires something or moves an
    // entry a level down, so a bounded number of them empties the wheel.
    let bound = 8 * (model.pending.len() + 1);
    let mut steps = 0;
    while let Some(next) = wheel.next_deadline() {
        steps += 1;
        assert!(
            steps <= bound,
            "draining by next_deadline does not converge"
        );
        now = now.max(next);
        let got: Vec<_> = wheel.advance(now).collect();
        let want: Vec<_> = std::iter::from_fn(|| model.pop_due(now)).collect();
        assert_eq!(got, want);
    }
    assert!(model.pending.is_empty(), "the wheel lost an entry");
    check(&wheel, &model);
}

fuzz_target!(|input: Input| run(input));
