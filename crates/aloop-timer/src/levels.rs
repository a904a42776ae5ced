//! The wheel proper: six levels of 64 slots, plus one overflow list.
//!
//! Level `l` slot `s` holds the entries whose tick agrees with `elapsed` on every 6-bit
//! group above `l` and has digit `s` (necessarily greater than `elapsed`'s) in group
//! `l`. So slots never wrap around: every occupied slot of a level lies strictly ahead
//! of the level's current position, and a slot's start tick is plain arithmetic. Ticks
//! that differ from `elapsed` above bit 36 (more than 64^6 ms, about 2.2 years, ahead)
//! go to the overflow list, which is treated as one slot starting at the next 2^36 ms
//! window and re-sorted when the wheel reaches it.
//!
//! Each list is an intrusive doubly-linked list threaded through the slab, and each
//! level keeps a 64-bit occupancy bitmap, so linking, unlinking and finding the next
//! occupied slot are all O(1).

use crate::slab::{Slab, NIL};

/// Number of levels below the overflow list.
pub(crate) const LEVELS: usize = 6;
/// Slots per level; one 6-bit group of the tick.
const SLOTS: usize = 64;
const SLOT_BITS: u32 = 6;
/// Ticks the six levels span together: 64^6 ms.
const SPAN_BITS: u32 = SLOT_BITS * LEVELS as u32;
/// List id of the overflow list (after the `LEVELS * SLOTS` slot lists).
pub(crate) const OVERFLOW: u16 = (LEVELS * SLOTS) as u16;
/// Ticks are clamped here (about 146 million years) so that window arithmetic cannot
/// overflow; deadlines are still compared exactly, so clamping never fires anything
/// early.
pub(crate) const MAX_TICK: u64 = (1 << 62) - 1;

/// Heads of every list plus the per-level occupancy bitmaps.
pub(crate) struct Levels {
    heads: [u32; LEVELS * SLOTS + 1],
    occupied: [u64; LEVELS],
}

/// The list an entry with `tick` belongs in while the wheel stands at `elapsed`.
/// Requires `tick > elapsed` (entries at or before `elapsed` go to the due heap).
pub(crate) fn list_for(tick: u64, elapsed: u64) -> u16 {
    debug_assert!(tick > elapsed);
    let diff = tick ^ elapsed;
    if diff >> SPAN_BITS != 0 {
        return OVERFLOW;
    }
    // The highest differing 6-bit group picks the level; `diff != 0` since tick > elapsed.
    let level = (63 - diff.leading_zeros()) / SLOT_BITS;
    let slot = (tick >> (level * SLOT_BITS)) & (SLOTS as u64 - 1);
    (level as usize * SLOTS + slot as usize) as u16
}

/// First tick of the 2^36 ms window (the span of the six levels) holding `tick`.
pub(crate) fn window_start(tick: u64) -> u64 {
    tick & !((1u64 << SPAN_BITS) - 1)
}

impl Levels {
    pub(crate) const fn new() -> Self {
        Self {
            heads: [NIL; LEVELS * SLOTS + 1],
            occupied: [0; LEVELS],
        }
    }

    /// Links `index` at the head of `list`.
    pub(crate) fn push<T>(&mut self, slab: &mut Slab<T>, list: u16, index: u32) {
        let head = self.heads[list as usize];
        {
            let entry = slab.at_mut(index);
            entry.list = list;
            entry.prev = NIL;
            entry.next = head;
        }
        if head != NIL {
            slab.at_mut(head).prev = index;
        }
        self.heads[list as usize] = index;
        if list != OVERFLOW {
            self.occupied[list as usize / SLOTS] |= 1 << (list as usize % SLOTS);
        }
    }

    /// Unlinks `index` from the list it is in.
    pub(crate) fn unlink<T>(&mut self, slab: &mut Slab<T>, index: u32) {
        let (list, prev, next) = {
            let entry = slab.at(index);
            (entry.list, entry.prev, entry.next)
        };
        if prev == NIL {
            self.heads[list as usize] = next;
        } else {
            slab.at_mut(prev).next = next;
        }
        if next != NIL {
            slab.at_mut(next).prev = prev;
        }
        if self.heads[list as usize] == NIL && list != OVERFLOW {
            self.occupied[list as usize / SLOTS] &= !(1 << (list as usize % SLOTS));
        }
    }

    /// Detaches a whole list and returns its first index; the caller walks `next`
    /// links (reading each before re-placing the entry, which overwrites them).
    pub(crate) fn take(&mut self, list: u16) -> u32 {
        if list != OVERFLOW {
            self.occupied[list as usize / SLOTS] &= !(1 << (list as usize % SLOTS));
        }
        std::mem::replace(&mut self.heads[list as usize], NIL)
    }

    /// The occupied list with the smallest start tick, and that tick.
    ///
    /// The lowest occupied level wins: its entries agree with `elapsed` on every group
    /// above it, so they come before any slot of a higher level, whose digit there is
    /// ahead of `elapsed`'s (the no-wrap invariant). So the scan stops at the first
    /// occupied level; debug builds check the answer against the minimum over all.
    pub(crate) fn earliest(&self, elapsed: u64) -> Option<(u16, u64)> {
        let found =
            self.occupied.iter().enumerate().find_map(|(level, &bits)| {
                (bits != 0).then(|| self.slot_start(level, bits, elapsed))
            });
        debug_assert_eq!(found, self.earliest_of_all(elapsed));
        if found.is_none() && self.heads[OVERFLOW as usize] != NIL {
            // Every wheel slot starts inside the current 2^36 window, so the overflow
            // list (which starts at the next window) can only be earliest when the
            // levels are empty.
            return Some((OVERFLOW, window_start(elapsed) + (1 << SPAN_BITS)));
        }
        found
    }

    /// The first occupied slot of `level` (occupancy `bits`, not zero) and its start.
    fn slot_start(&self, level: usize, bits: u64, elapsed: u64) -> (u16, u64) {
        let shift = level as u32 * SLOT_BITS;
        let pos = (elapsed >> shift) & (SLOTS as u64 - 1);
        debug_assert_eq!(
            bits & (u64::MAX >> (63 - pos)),
            0,
            "level {level} has a slot at or behind its position"
        );
        let slot = u64::from(bits.trailing_zeros());
        let window = elapsed & !((1u64 << (shift + SLOT_BITS)) - 1);
        (
            (level * SLOTS) as u16 + slot as u16,
            window | (slot << shift),
        )
    }

    /// `earliest` without its shortcut: the minimum over every occupied level.
    fn earliest_of_all(&self, elapsed: u64) -> Option<(u16, u64)> {
        (0..LEVELS)
            .filter(|&level| self.occupied[level] != 0)
            .map(|level| self.slot_start(level, self.occupied[level], elapsed))
            .min_by_key(|&(_, start)| start)
    }

    /// First index of a list.
    pub(crate) fn head(&self, list: u16) -> u32 {
        self.heads[list as usize]
    }

    /// Whether a slot list's occupancy bit is set (test-only).
    #[cfg(test)]
    pub(crate) fn marked(&self, list: u16) -> bool {
        list != OVERFLOW
            && self.occupied[list as usize / SLOTS] & (1 << (list as usize % SLOTS)) != 0
    }

    /// Forgets every list (the slab is cleared separately).
    pub(crate) fn clear(&mut self) {
        self.heads = [NIL; LEVELS * SLOTS + 1];
        self.occupied = [0; LEVELS];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_for_picks_highest_differing_group() {
        assert_eq!(list_for(1, 0), 1);
        assert_eq!(list_for(63, 0), 63);
        assert_eq!(list_for(64, 0), 64 + 1, "level 1, slot 1");
        assert_eq!(list_for(64 + 5, 64), 5, "same upper digits: level 0");
        assert_eq!(list_for(4096, 4095), 2 * 64 + 1);
        assert_eq!(list_for((1 << 36) - 1, 0), 5 * 64 + 63);
        assert_eq!(list_for(1 << 36, 0), OVERFLOW);
        assert_eq!(
            list_for((1 << 36) + 1, 1 << 36),
            1,
            "next window is a fresh wheel"
        );
    }

    #[test]
    fn earliest_prefers_lower_start_and_overflow_last() {
        let t = std::time::Instant::now();
        let mut slab = Slab::new();
        let mut levels = Levels::new();
        let mut place = |levels: &mut Levels, tick: u64| {
            let (i, _) = slab.alloc((), t, 0, tick);
            levels.push(&mut slab, list_for(tick, 0), i);
        };
        assert_eq!(levels.earliest(0), None);
        place(&mut levels, 1 << 40);
        assert_eq!(levels.earliest(0), Some((OVERFLOW, 1 << 36)));
        place(&mut levels, 5000);
        assert_eq!(levels.earliest(0), Some((2 * 64 + 1, 4096)));
        place(&mut levels, 10);
        assert_eq!(levels.earliest(0), Some((10, 10)));
        assert_eq!(levels.take(10), 2);
        assert_eq!(levels.earliest(0), Some((2 * 64 + 1, 4096)));
    }
}
