//! The due queue: entries whose tick the wheel has already reached.
//!
//! Once an entry's millisecond is current (or overdue) the wheel can no longer tell
//! it apart from its neighbours, so it moves to a min-heap ordered by the exact
//! `(deadline, seq)`. That is what gives expiry its deadline order, insertion order for
//! equal deadlines, and sub-millisecond precision (an entry due later in the current
//! millisecond stays here until `now` really reaches it: never early).
//!
//! Cancelling an entry here leaves a stale record in the heap (removing it would cost
//! O(n)); records carry the slab generation, so stale ones are recognised and skipped.
//! Two rules keep them harmless: the top of the heap is always live (stale tops are
//! popped right away), so `peek` is exact; and when stale records outnumber live ones
//! the heap is compacted, so memory stays proportional to the live entries.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::Instant;

use crate::slab::Slab;

/// A heap record pointing at a slab entry.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DueRec {
    pub(crate) deadline: Instant,
    pub(crate) seq: u64,
    pub(crate) index: u32,
    pub(crate) generation: u32,
}

impl DueRec {
    fn is_live<T>(&self, slab: &Slab<T>) -> bool {
        slab.get(self.index, self.generation).is_some()
    }
}

// Sequence numbers are unique, so (deadline, seq) alone identifies a record and Eq
// agrees with Ord.
impl PartialEq for DueRec {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for DueRec {}

impl PartialOrd for DueRec {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for DueRec {
    /// Reversed, because `BinaryHeap` is a max-heap and the earliest must be on top.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.deadline, other.seq).cmp(&(self.deadline, self.seq))
    }
}

/// Min-heap of due entries with lazy deletion.
pub(crate) struct DueQueue {
    heap: BinaryHeap<DueRec>,
    /// Live entries among the records (the rest are stale).
    live: usize,
}

/// Stale records tolerated before compaction, on top of one per live record.
const STALE_SLACK: usize = 64;

impl DueQueue {
    pub(crate) const fn new() -> Self {
        Self {
            heap: BinaryHeap::new(),
            live: 0,
        }
    }

    pub(crate) fn push(&mut self, rec: DueRec) {
        self.heap.push(rec);
        self.live += 1;
    }

    /// The earliest live record.
    pub(crate) fn peek(&self) -> Option<&DueRec> {
        self.heap.peek()
    }

    /// Removes the earliest record if it is due at `now`. The caller frees its entry.
    pub(crate) fn pop_due<T>(&mut self, now: Instant, slab: &Slab<T>) -> Option<DueRec> {
        if self.heap.peek()?.deadline > now {
            return None;
        }
        let rec = self.heap.pop()?;
        self.live -= 1;
        self.skim(slab);
        Some(rec)
    }

    /// Accounts for a due entry the caller has just cancelled (and freed).
    pub(crate) fn cancelled<T>(&mut self, slab: &Slab<T>) {
        self.live -= 1;
        self.skim(slab);
        if self.heap.len() > 2 * self.live + STALE_SLACK {
            self.heap.retain(|r| r.is_live(slab));
        }
    }

    /// Restores "the top is live" by dropping stale records from the top.
    fn skim<T>(&mut self, slab: &Slab<T>) {
        while self.heap.peek().is_some_and(|r| !r.is_live(slab)) {
            self.heap.pop();
        }
    }

    /// Number of records, stale ones included (for tests of the compaction bound).
    #[cfg(test)]
    pub(crate) fn records(&self) -> usize {
        self.heap.len()
    }

    /// Live records, as counted (test-only).
    #[cfg(test)]
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    pub(crate) fn clear(&mut self) {
        self.heap.clear();
        self.live = 0;
    }
}
