//! A hierarchical timing wheel: the timer store of the aloop event loop.
//!
//! [`TimerWheel`] maps deadlines (`Instant`s) to payloads. It is a plain data
//! structure: no I/O, no clocks read except by [`TimerWheel::new`], no async. The
//! event loop asks it for [`next_deadline`](TimerWheel::next_deadline) to size its
//! poll timeout and calls [`advance`](TimerWheel::advance) with the current time to
//! collect what expired.
//!
//! Guarantees:
//! - insert and cancel are O(1) and allocation-free in steady state (entries live in
//!   a slab; the wheel's slots hold indices);
//! - nothing is ever yielded before its deadline, and everything due by `now` is
//!   yielded by `advance(now)`, in deadline order, equal deadlines in insertion order;
//! - deadlines in the past, before the origin, or centuries ahead all work.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use aloop_timer::TimerWheel;
//!
//! let start = Instant::now();
//! let mut timers = TimerWheel::with_origin(start);
//! let soon = timers.insert(start + Duration::from_millis(5), "soon");
//! timers.insert(start + Duration::from_secs(3600), "in an hour");
//!
//! assert!(timers.next_deadline().unwrap() <= start + Duration::from_millis(5));
//! let fired: Vec<_> = timers.advance(start + Duration::from_millis(5)).collect();
//! assert_eq!(fired, [(soon, start + Duration::from_millis(5), "soon")]);
//! assert_eq!(timers.len(), 1);
//! ```
#![deny(missing_docs)]

mod due;
mod levels;
mod slab;
mod wheel;

pub use wheel::{Expired, TimerWheel};

/// Names one inserted entry, for [`TimerWheel::cancel`] and
/// [`TimerWheel::deadline`].
///
/// Holds the entry's slab index and the slot's generation at insertion; once the
/// entry fires or is cancelled the generation moves on, so the key goes stale and
/// every operation on it answers `None` instead of touching a newer entry that
/// reuses the slot.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct TimerKey {
    index: u32,
    generation: u32,
}
