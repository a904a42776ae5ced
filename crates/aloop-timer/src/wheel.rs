//! [`TimerWheel`], the public face of the crate, and its [`Expired`] iterator.
//!
//! The wheel keeps each entry in one of three places: a slot list of the hierarchical
//! wheel (its millisecond is still ahead), the overflow list (more than ~2.2 years
//! ahead), or the due heap (its millisecond has been reached). `advance` cascades slot
//! lists downwards until everything due sits in the heap, then pops the heap in
//! `(deadline, seq)` order while the deadline is `<= now`.

use std::fmt;
use std::iter::FusedIterator;
use std::time::{Duration, Instant};

use crate::due::{DueQueue, DueRec};
use crate::levels::{list_for, window_start, Levels, MAX_TICK, OVERFLOW};
use crate::slab::{Slab, IN_DUE, NIL};
use crate::TimerKey;

#[cfg(test)]
mod invariants;

/// A hierarchical timing wheel mapping deadlines to payloads.
///
/// Time is counted in whole milliseconds ("ticks") since an origin `Instant`, but
/// deadlines are kept and compared exactly: an entry is never yielded before
/// `now >= deadline`, and entries come out in deadline order, equal deadlines in
/// insertion order.
///
/// # Example
///
/// ```
/// use std::time::{Duration, Instant};
/// use aloop_timer::TimerWheel;
///
/// let origin = Instant::now();
/// let mut wheel = TimerWheel::with_origin(origin);
/// let ms = Duration::from_millis;
/// wheel.insert(origin + ms(20), "b");
/// let a = wheel.insert(origin + ms(10), "a");
/// let c = wheel.insert(origin + ms(30), "c");
/// assert_eq!(wheel.cancel(c), Some("c"));
///
/// let fired: Vec<_> = wheel.advance(origin + ms(25)).map(|(_, _, p)| p).collect();
/// assert_eq!(fired, ["a", "b"]);
/// assert_eq!(wheel.cancel(a), None, "already fired: the key is stale");
/// assert!(wheel.is_empty());
/// ```
pub struct TimerWheel<T> {
    origin: Instant,
    /// The last tick the wheel has moved past: entries with `tick <= elapsed` are in
    /// the due heap, all others in a list chosen relative to `elapsed`.
    elapsed: u64,
    next_seq: u64,
    len: usize,
    slab: Slab<T>,
    levels: Levels,
    due: DueQueue,
}

impl<T> TimerWheel<T> {
    /// Creates an empty wheel whose origin (tick 0) is `Instant::now()`.
    ///
    /// ```
    /// let wheel: aloop_timer::TimerWheel<()> = aloop_timer::TimerWheel::new();
    /// assert!(wheel.is_empty());
    /// assert_eq!(wheel.next_deadline(), None);
    /// ```
    pub fn new() -> Self {
        Self::with_origin(Instant::now())
    }

    /// Creates an empty wheel counting milliseconds from `origin`.
    ///
    /// Deadlines before `origin` are accepted and treated as already due.
    pub fn with_origin(origin: Instant) -> Self {
        Self {
            origin,
            elapsed: 0,
            next_seq: 0,
            len: 0,
            slab: Slab::new(),
            levels: Levels::new(),
            due: DueQueue::new(),
        }
    }

    /// The instant tick 0 stands for.
    pub fn origin(&self) -> Instant {
        self.origin
    }

    /// Number of pending entries (inserted, neither fired nor cancelled).
    pub fn len(&self) -> usize {
        self.len
    }

    /// `true` when no entry is pending.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Schedules `payload` for `deadline` and returns the key that cancels it.
    ///
    /// O(1) and allocation-free once the wheel has held as many entries before
    /// (O(log n) heap push instead when `deadline` falls in a millisecond the wheel has
    /// already reached). A deadline at or before the last `now` passed to
    /// [`advance`](Self::advance) comes out of the very next `advance` call.
    ///
    /// ```
    /// # use std::time::{Duration, Instant};
    /// # use aloop_timer::TimerWheel;
    /// let origin = Instant::now();
    /// let mut wheel = TimerWheel::with_origin(origin);
    /// let now = origin + Duration::from_secs(1);
    /// assert_eq!(wheel.advance(now).count(), 0);
    /// let key = wheel.insert(now, "call_later(0)");
    /// assert_eq!(wheel.deadline(key), Some(now));
    /// let fired: Vec<_> = wheel.advance(now).collect();
    /// assert_eq!(fired, [(key, now, "call_later(0)")]);
    /// ```
    ///
    /// # Panics
    ///
    /// Only if more than `u32::MAX - 1` entries are pending at once.
    pub fn insert(&mut self, deadline: Instant, payload: T) -> TimerKey {
        let tick = self.tick_of(deadline);
        let seq = self.next_seq;
        self.next_seq = seq.wrapping_add(1);
        let (index, generation) = self.slab.alloc(payload, deadline, seq, tick);
        self.place(index);
        self.len += 1;
        TimerKey { index, generation }
    }

    /// Removes a pending entry and returns its payload; `None` if the key is stale
    /// (the entry already fired or was cancelled) or belongs to another wheel's slot.
    ///
    /// O(1) for entries still in the wheel; amortised O(log n) for entries already due.
    ///
    /// ```
    /// # use std::time::{Duration, Instant};
    /// # use aloop_timer::TimerWheel;
    /// let origin = Instant::now();
    /// let mut wheel = TimerWheel::with_origin(origin);
    /// let key = wheel.insert(origin + Duration::from_secs(5), 42);
    /// assert_eq!(wheel.cancel(key), Some(42));
    /// assert_eq!(wheel.cancel(key), None);
    /// assert!(wheel.is_empty());
    /// ```
    pub fn cancel(&mut self, key: TimerKey) -> Option<T> {
        let list = self.slab.get(key.index, key.generation)?.list;
        let payload = if list == IN_DUE {
            let payload = self.slab.free(key.index);
            self.due.cancelled(&self.slab);
            payload
        } else {
            self.levels.unlink(&mut self.slab, key.index);
            self.slab.free(key.index)
        };
        self.len -= 1;
        payload
    }

    /// The deadline of a pending entry, `None` if the key is stale.
    pub fn deadline(&self, key: TimerKey) -> Option<Instant> {
        self.slab.get(key.index, key.generation).map(|e| e.deadline)
    }

    /// The payload of a pending entry, `None` if the key is stale.
    ///
    /// ```
    /// # use std::time::{Duration, Instant};
    /// # use aloop_timer::TimerWheel;
    /// let origin = Instant::now();
    /// let mut wheel = TimerWheel::with_origin(origin);
    /// let key = wheel.insert(origin + Duration::from_secs(5), "wake task 1");
    /// assert_eq!(wheel.payload(key), Some(&"wake task 1"));
    /// wheel.cancel(key);
    /// assert_eq!(wheel.payload(key), None);
    /// ```
    pub fn payload(&self, key: TimerKey) -> Option<&T> {
        self.slab
            .get(key.index, key.generation)
            .and_then(|e| e.payload.as_ref())
    }

    /// The payload of a pending entry, to change in place: the entry keeps its key,
    /// its deadline and its place among entries due at the same time (a cancel and a
    /// new insert would lose all three). `None` if the key is stale.
    ///
    /// ```
    /// # use std::time::{Duration, Instant};
    /// # use aloop_timer::TimerWheel;
    /// let origin = Instant::now();
    /// let due = origin + Duration::from_millis(1);
    /// let mut wheel = TimerWheel::with_origin(origin);
    /// let first = wheel.insert(due, "wake task 1");
    /// let second = wheel.insert(due, "second");
    /// *wheel.payload_mut(first).unwrap() = "wake task 2";
    /// let fired: Vec<_> = wheel.advance(due).map(|(_, _, p)| p).collect();
    /// assert_eq!(fired, ["wake task 2", "second"]);
    /// ```
    pub fn payload_mut(&mut self, key: TimerKey) -> Option<&mut T> {
        self.slab
            .get_mut(key.index, key.generation)
            .and_then(|e| e.payload.as_mut())
    }

    /// `true` if the key names a pending entry.
    pub fn contains(&self, key: TimerKey) -> bool {
        self.slab.get(key.index, key.generation).is_some()
    }

    /// A lower bound on the earliest pending deadline, for sizing a poll timeout.
    ///
    /// Never later than the true earliest deadline, `None` only when the wheel is
    /// empty, and exact when the earliest entry falls in a millisecond the wheel has
    /// already reached. Otherwise it is the start of the wheel slot that holds the
    /// entry: sleeping until then and calling [`advance`](Self::advance) refines it,
    /// each step at least one level down, so a loop converges in a few wake-ups.
    ///
    /// ```
    /// # use std::time::{Duration, Instant};
    /// # use aloop_timer::TimerWheel;
    /// let origin = Instant::now();
    /// let mut wheel = TimerWheel::with_origin(origin);
    /// let due = origin + Duration::from_micros(10_500);
    /// wheel.insert(due, ());
    /// let mut now = origin;
    /// loop {
    ///     let next = wheel.next_deadline().unwrap();
    ///     assert!(next <= due);
    ///     now = now.max(next);
    ///     if wheel.advance(now).count() == 1 {
    ///         break;
    ///     }
    /// }
    /// assert_eq!(now, due, "converged to the exact deadline");
    /// ```
    pub fn next_deadline(&self) -> Option<Instant> {
        if self.len == 0 {
            return None;
        }
        let due = self.due.peek().map(|r| r.deadline);
        let wheel = self
            .levels
            .earliest(self.elapsed)
            .map(|(_, start)| self.instant_of(start));
        match (due, wheel) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Yields every entry with `deadline <= now` as `(key, deadline, payload)`, in
    /// deadline order, equal deadlines in insertion order.
    ///
    /// The wheel work happens here; the iterator then pops due entries one by one.
    /// Entries left unconsumed when it is dropped stay pending and come out of the
    /// next `advance` or [`poll_expired`](Self::poll_expired). `now` may go backwards;
    /// that simply yields nothing new.
    ///
    /// ```
    /// # use std::time::{Duration, Instant};
    /// # use aloop_timer::TimerWheel;
    /// let origin = Instant::now();
    /// let mut wheel = TimerWheel::with_origin(origin);
    /// let t = origin + Duration::from_millis(7);
    /// wheel.insert(t, 'x');
    /// wheel.insert(t, 'y'); // same deadline: insertion order
    /// wheel.insert(t - Duration::from_micros(1), 'w');
    /// assert_eq!(wheel.advance(t - Duration::from_micros(2)).count(), 0, "never early");
    /// let order: String = wheel.advance(t).map(|(_, _, c)| c).collect();
    /// assert_eq!(order, "wxy");
    /// ```
    #[must_use = "expired entries are only removed as the iterator is consumed"]
    pub fn advance(&mut self, now: Instant) -> Expired<'_, T> {
        self.run_to(self.tick_of(now));
        Expired { wheel: self, now }
    }

    /// Removes and returns the earliest entry with `deadline <= now`, if any.
    ///
    /// Equivalent to `advance(now).next()`.
    ///
    /// ```
    /// # use std::time::{Duration, Instant};
    /// # use aloop_timer::TimerWheel;
    /// let origin = Instant::now();
    /// let mut wheel = TimerWheel::with_origin(origin);
    /// let t = origin + Duration::from_secs(3);
    /// let key = wheel.insert(t, "late");
    /// assert!(wheel.poll_expired(t - Duration::from_nanos(1)).is_none());
    /// assert_eq!(wheel.poll_expired(t), Some((key, t, "late")));
    /// ```
    pub fn poll_expired(&mut self, now: Instant) -> Option<(TimerKey, Instant, T)> {
        self.run_to(self.tick_of(now));
        self.pop_expired(now)
    }

    /// Drops every pending payload. Keys issued before stay stale; the memory is kept
    /// for reuse.
    pub fn clear(&mut self) {
        self.levels.clear();
        self.due.clear();
        self.len = 0;
        self.slab.clear();
    }

    /// Milliseconds from the origin, floored (so a tick never starts after its
    /// deadline) and clamped: instants before the origin are tick 0.
    fn tick_of(&self, t: Instant) -> u64 {
        let d = t.saturating_duration_since(self.origin);
        d.as_secs()
            .saturating_mul(1000)
            .saturating_add(u64::from(d.subsec_millis()))
            .min(MAX_TICK)
    }

    /// The instant a tick starts at.
    fn instant_of(&self, tick: u64) -> Instant {
        // Only called for slot starts, which are <= the tick of an entry in the slot,
        // which is <= that entry's (representable) deadline; so this cannot overflow,
        // and falling back to the origin would still be a lower bound for such an entry.
        self.origin
            .checked_add(Duration::from_millis(tick))
            .unwrap_or(self.origin)
    }

    /// Puts an allocated entry where its tick says, relative to `elapsed`.
    fn place(&mut self, index: u32) {
        let entry = self.slab.at_mut(index);
        if entry.tick <= self.elapsed {
            entry.list = IN_DUE;
            let rec = DueRec {
                deadline: entry.deadline,
                seq: entry.seq,
                index,
                generation: entry.generation,
            };
            self.due.push(rec);
        } else {
            let list = list_for(entry.tick, self.elapsed);
            self.levels.push(&mut self.slab, list, index);
        }
    }

    /// Moves every entry with `tick <= now_tick` into the due heap.
    fn run_to(&mut self, now_tick: u64) {
        // Slots are emptied in start order and `elapsed` only ever lands on the start
        // of the slot being emptied (for the overflow list, on a tick no later than
        // any of its entries): jumping past an unprocessed slot would leave its
        // entries filed relative to the wrong `elapsed`.
        while let Some((list, start)) = self.levels.earliest(self.elapsed) {
            if start > now_tick {
                break;
            }
            self.elapsed = if list == OVERFLOW {
                // The levels are empty, so `elapsed` may go straight to the window of
                // the nearest overflow entry instead of visiting every 2^36 ms window
                // in between (a far "never" deadline would otherwise cost millions of
                // empty rounds).
                now_tick.min(window_start(self.overflow_min_tick()))
            } else {
                start
            };
            let mut index = self.levels.take(list);
            while index != NIL {
                let next = self.slab.at(index).next;
                self.place(index);
                index = next;
            }
        }
        // No slot starts at or before `now_tick` any more, so every remaining entry
        // keeps its list relative to the new `elapsed` (see levels.rs).
        self.elapsed = self.elapsed.max(now_tick);
    }

    /// Smallest tick in the overflow list (`MAX_TICK` if empty). O(length), paid only
    /// when the wheel reaches the overflow list, which re-files every entry anyway.
    fn overflow_min_tick(&self) -> u64 {
        let mut min = MAX_TICK;
        let mut index = self.levels.head(OVERFLOW);
        while index != NIL {
            let entry = self.slab.at(index);
            min = min.min(entry.tick);
            index = entry.next;
        }
        min
    }

    /// Pops the earliest due entry whose deadline has passed.
    fn pop_expired(&mut self, now: Instant) -> Option<(TimerKey, Instant, T)> {
        loop {
            let rec = self.due.pop_due(now, &self.slab)?;
            // The heap keeps its top live, so this only skips if that invariant broke.
            if self.slab.get(rec.index, rec.generation).is_none() {
                continue;
            }
            if let Some(payload) = self.slab.free(rec.index) {
                self.len -= 1;
                let key = TimerKey {
                    index: rec.index,
                    generation: rec.generation,
                };
                return Some((key, rec.deadline, payload));
            }
        }
    }
}

impl<T> Default for TimerWheel<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> fmt::Debug for TimerWheel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerWheel")
            .field("len", &self.len)
            .field("origin", &self.origin)
            .field("elapsed_ms", &self.elapsed)
            .field("next_deadline", &self.next_deadline())
            .finish_non_exhaustive()
    }
}

/// Iterator returned by [`TimerWheel::advance`]: yields `(key, deadline, payload)`
/// for each expired entry, earliest first.
///
/// Dropping it early is fine: the rest stay pending in the wheel.
pub struct Expired<'a, T> {
    wheel: &'a mut TimerWheel<T>,
    now: Instant,
}

impl<T> Iterator for Expired<'_, T> {
    type Item = (TimerKey, Instant, T);

    fn next(&mut self) -> Option<Self::Item> {
        self.wheel.pop_expired(self.now)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.wheel.len))
    }
}

// Nothing can be inserted while the iterator borrows the wheel, so once it has run
// dry it stays dry.
impl<T> FusedIterator for Expired<'_, T> {}

impl<T> fmt::Debug for Expired<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Expired")
            .field("now", &self.now)
            .field("wheel", &self.wheel)
            .finish()
    }
}
