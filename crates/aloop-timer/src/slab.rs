//! Slab storage for timer entries.
//!
//! Every timer lives in one `Vec` slot for its whole life; the wheel's lists, the due
//! heap and the user's [`TimerKey`](crate::TimerKey) refer to it by index. Freed slots
//! are chained into a free list through their `next` field and reused, so a wheel that
//! has reached its peak size never allocates again. Each slot carries a generation that
//! is bumped on every free, which is how stale keys are told apart from live ones.

use std::time::Instant;

/// "No entry" marker for list links and the free list.
pub(crate) const NIL: u32 = u32::MAX;

/// Value of [`Entry::list`] for an entry that sits in the due heap rather than a list.
pub(crate) const IN_DUE: u16 = u16::MAX;

/// One timer. Vacant slots keep their stale fields; only `payload`, `next` and
/// `generation` mean anything there.
pub(crate) struct Entry<T> {
    /// `None` exactly when the slot is vacant.
    pub(crate) payload: Option<T>,
    pub(crate) deadline: Instant,
    /// Insertion sequence number: breaks ties between equal deadlines.
    pub(crate) seq: u64,
    /// Deadline in whole milliseconds since the wheel's origin (floored, clamped).
    pub(crate) tick: u64,
    pub(crate) prev: u32,
    /// Next entry in the same wheel list, or the next free slot when vacant.
    pub(crate) next: u32,
    pub(crate) generation: u32,
    /// Which wheel list holds the entry, or [`IN_DUE`].
    pub(crate) list: u16,
}

/// Fixed-identity storage for entries with an intrusive free list.
pub(crate) struct Slab<T> {
    entries: Vec<Entry<T>>,
    free_head: u32,
}

impl<T> Slab<T> {
    pub(crate) const fn new() -> Self {
        Self {
            entries: Vec::new(),
            free_head: NIL,
        }
    }

    /// Stores a new entry and returns its `(index, generation)`. The entry is not yet
    /// linked anywhere: the caller places it.
    ///
    /// # Panics
    ///
    /// If more than `u32::MAX - 1` timers are alive at once (like `Vec`'s capacity
    /// overflow, this is a resource limit, not something input can reach in practice).
    #[inline]
    pub(crate) fn alloc(
        &mut self,
        payload: T,
        deadline: Instant,
        seq: u64,
        tick: u64,
    ) -> (u32, u32) {
        if self.free_head != NIL {
            let index = self.free_head;
            let entry = &mut self.entries[index as usize];
            self.free_head = entry.next;
            entry.payload = Some(payload);
            entry.deadline = deadline;
            entry.seq = seq;
            entry.tick = tick;
            entry.prev = NIL;
            entry.next = NIL;
            entry.list = IN_DUE;
            return (index, entry.generation);
        }
        let index = u32::try_from(self.entries.len())
            .ok()
            .filter(|&i| i != NIL)
            .expect("aloop-timer: more than u32::MAX - 1 live timers");
        self.entries.push(Entry {
            payload: Some(payload),
            deadline,
            seq,
            tick,
            prev: NIL,
            next: NIL,
            generation: 0,
            list: IN_DUE,
        });
        (index, 0)
    }

    /// The live entry a key names, or `None` for a stale or foreign key.
    pub(crate) fn get(&self, index: u32, generation: u32) -> Option<&Entry<T>> {
        self.entries
            .get(index as usize)
            .filter(|e| e.generation == generation && e.payload.is_some())
    }

    /// Mutable counterpart of [`Slab::get`].
    pub(crate) fn get_mut(&mut self, index: u32, generation: u32) -> Option<&mut Entry<T>> {
        self.entries
            .get_mut(index as usize)
            .filter(|e| e.generation == generation && e.payload.is_some())
    }

    /// Internal access by an index the wheel itself linked, hence known to be in range.
    pub(crate) fn at(&self, index: u32) -> &Entry<T> {
        &self.entries[index as usize]
    }

    /// Mutable counterpart of [`Slab::at`].
    pub(crate) fn at_mut(&mut self, index: u32) -> &mut Entry<T> {
        &mut self.entries[index as usize]
    }

    /// Vacates a slot: takes the payload out and invalidates every key to it.
    pub(crate) fn free(&mut self, index: u32) -> Option<T> {
        let entry = &mut self.entries[index as usize];
        let payload = entry.payload.take()?;
        entry.generation = entry.generation.wrapping_add(1);
        entry.next = self.free_head;
        self.free_head = index;
        Some(payload)
    }

    /// Vacates every occupied slot, dropping payloads, keeping the memory. Generations
    /// are bumped rather than reset so keys from before the clear stay stale.
    pub(crate) fn clear(&mut self) {
        for index in 0..self.entries.len() {
            // Each slot is made vacant and put on the free list before its payload is
            // dropped, so a panicking destructor leaves the slab consistent.
            let payload = {
                let free_head = self.free_head;
                let entry = &mut self.entries[index];
                match entry.payload.take() {
                    Some(p) => {
                        entry.generation = entry.generation.wrapping_add(1);
                        entry.next = free_head;
                        p
                    }
                    None => continue,
                }
            };
            self.free_head = index as u32;
            drop(payload);
        }
    }

    /// Number of slots ever allocated (live plus free).
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_freed_slots_with_new_generation() {
        let t = Instant::now();
        let mut slab = Slab::new();
        let (a, ga) = slab.alloc("a", t, 0, 0);
        let (b, _) = slab.alloc("b", t, 1, 0);
        assert_eq!(slab.free(a), Some("a"));
        assert!(slab.get(a, ga).is_none(), "freed key must be stale");
        let (c, gc) = slab.alloc("c", t, 2, 0);
        assert_eq!(c, a, "free slot is reused");
        assert_ne!(gc, ga);
        assert_eq!(slab.get(c, gc).and_then(|e| e.payload), Some("c"));
        assert_eq!(slab.capacity(), 2);
        assert!(
            slab.get(b + 7, 0).is_none(),
            "out of range index is just absent"
        );
    }

    #[test]
    fn an_entry_with_a_boxed_callback_fits_a_cache_line() {
        assert!(std::mem::size_of::<Entry<Box<dyn FnOnce()>>>() <= 64);
    }

    #[test]
    fn clear_invalidates_and_recycles() {
        let t = Instant::now();
        let mut slab = Slab::new();
        let keys: Vec<_> = (0..4).map(|i| slab.alloc(i, t, i, 0)).collect();
        slab.clear();
        for &(i, g) in &keys {
            assert!(slab.get(i, g).is_none());
        }
        for i in 0..4 {
            slab.alloc(i, t, i, 0);
        }
        assert_eq!(slab.capacity(), 4, "cleared slots are reused, not grown");
        assert!((0..4).all(|i| slab.at(i).payload.is_some()));
    }
}
