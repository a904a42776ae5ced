//! FIFO list of parked waiters shared by every primitive.
//!
//! A slab of slots threaded into a doubly linked queue by index. A waiting future owns its
//! slot from `push_back` until it calls `remove`: a notifier only *unlinks* the slot from
//! the queue (`pop_front`) and leaves the outcome in `data`, so the future can always find
//! out what happened to it, and a slot index is never reused while its owner may still
//! look at it. Slots are recycled through a free list, so waiting allocates nothing once
//! the slab has grown to the largest number of simultaneous waiters; and unlinking a
//! cancelled waiter from the middle of the queue is O(1). No `unsafe` is needed: the
//! list always lives behind the owning primitive's mutex.

use std::task::Waker;

/// Marks the end of a chain (queue links and the free list).
const NIL: usize = usize::MAX;

/// A parked waiter: its waker, its per-primitive outcome, and its queue links.
pub(crate) struct Node<T> {
    /// Waker to call when `data` changes; `None` once taken by a notifier.
    pub(crate) waker: Option<Waker>,
    /// What the notifier decided for this waiter (granted, item, broken, ...).
    pub(crate) data: T,
    linked: bool,
    prev: usize,
    next: usize,
}

enum Slot<T> {
    Vacant { next_free: usize },
    Occupied(Node<T>),
}

/// A FIFO queue of waiters; see the module docs for the ownership rules.
pub(crate) struct WaitList<T> {
    slots: Vec<Slot<T>>,
    free_head: usize,
    head: usize,
    tail: usize,
    len: usize,
}

impl<T> WaitList<T> {
    /// An empty list; allocates nothing until the first waiter.
    pub(crate) const fn new() -> Self {
        WaitList {
            slots: Vec::new(),
            free_head: NIL,
            head: NIL,
            tail: NIL,
            len: 0,
        }
    }

    /// Number of waiters still queued (not counting unlinked, unremoved slots).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether no waiter is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Queues a new waiter at the back and returns the key its future keeps.
    pub(crate) fn push_back(&mut self, waker: Option<Waker>, data: T) -> usize {
        let node = Node {
            waker,
            data,
            linked: true,
            prev: self.tail,
            next: NIL,
        };
        let key = if self.free_head != NIL {
            let key = self.free_head;
            if let Slot::Vacant { next_free } = self.slots[key] {
                self.free_head = next_free;
            }
            self.slots[key] = Slot::Occupied(node);
            key
        } else {
            self.slots.push(Slot::Occupied(node));
            self.slots.len() - 1
        };
        if self.tail == NIL {
            self.head = key;
        } else {
            self.node_mut(self.tail).next = key;
        }
        self.tail = key;
        self.len += 1;
        key
    }

    /// Unlinks the first queued waiter and returns its key; its slot stays allocated
    /// for its owner, who learns the outcome from `data`.
    pub(crate) fn pop_front(&mut self) -> Option<usize> {
        if self.head == NIL {
            return None;
        }
        let key = self.head;
        self.unlink(key);
        Some(key)
    }

    /// Pops the first waiter, lets `f` record its outcome, and returns its waker for the
    /// caller to wake once the mutex is released.
    pub(crate) fn notify_front(&mut self, f: impl FnOnce(&mut T)) -> Option<Option<Waker>> {
        let key = self.pop_front()?;
        let node = self.node_mut(key);
        f(&mut node.data);
        Some(node.waker.take())
    }

    /// Pops every queued waiter, recording each outcome with `f`; collects their wakers
    /// into `wake`. Returns how many were popped.
    pub(crate) fn notify_all(&mut self, mut f: impl FnMut(&mut T), wake: &mut WakeSet) -> usize {
        let mut count = 0;
        while let Some(waker) = self.notify_front(&mut f) {
            wake.push(waker);
            count += 1;
        }
        count
    }

    /// Removes `key` from the queue if it is still there; returns whether it was.
    pub(crate) fn unlink(&mut self, key: usize) -> bool {
        let (prev, next) = {
            let node = self.node_mut(key);
            if !node.linked {
                return false;
            }
            node.linked = false;
            (node.prev, node.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.node_mut(prev).next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.node_mut(next).prev = prev;
        }
        self.len -= 1;
        true
    }

    /// Whether `key` is still queued (no notifier has popped it).
    pub(crate) fn is_linked(&self, key: usize) -> bool {
        self.node(key).linked
    }

    /// Frees the slot of `key` (unlinking it first if needed) and returns its outcome.
    pub(crate) fn remove(&mut self, key: usize) -> T {
        self.unlink(key);
        let slot = std::mem::replace(
            &mut self.slots[key],
            Slot::Vacant {
                next_free: self.free_head,
            },
        );
        self.free_head = key;
        match slot {
            Slot::Occupied(node) => node.data,
            // Keys are only handed to the future that owns the slot, which removes it
            // exactly once; a vacant slot here is a bug in this crate.
            Slot::Vacant { .. } => unreachable!("waiter slot removed twice"),
        }
    }

    /// Stores the waker of the latest poll, cloning only when it changed.
    pub(crate) fn update_waker(&mut self, key: usize, waker: &Waker) {
        let node = self.node_mut(key);
        match &node.waker {
            Some(old) if old.will_wake(waker) => {}
            _ => node.waker = Some(waker.clone()),
        }
    }

    /// The node owned by `key`.
    pub(crate) fn node(&self, key: usize) -> &Node<T> {
        match &self.slots[key] {
            Slot::Occupied(node) => node,
            Slot::Vacant { .. } => unreachable!("waiter key used after removal"),
        }
    }

    /// The node owned by `key`, mutably.
    pub(crate) fn node_mut(&mut self, key: usize) -> &mut Node<T> {
        match &mut self.slots[key] {
            Slot::Occupied(node) => node,
            Slot::Vacant { .. } => unreachable!("waiter key used after removal"),
        }
    }
}

/// Wakers collected under a mutex, to be woken after it is released. Holds one waker
/// inline, so the common single hand-off allocates nothing.
#[derive(Default)]
pub(crate) struct WakeSet {
    one: Option<Waker>,
    more: Vec<Waker>,
}

impl WakeSet {
    /// Adds a waker (ignoring an absent one).
    pub(crate) fn push(&mut self, waker: Option<Waker>) {
        let Some(waker) = waker else { return };
        if self.one.is_none() {
            self.one = Some(waker);
        } else {
            self.more.push(waker);
        }
    }

    /// Wakes everything collected.
    pub(crate) fn wake(self) {
        if let Some(waker) = self.one {
            waker.wake();
        }
        for waker in self.more {
            waker.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_order_and_slot_reuse() {
        let mut list = WaitList::new();
        let a = list.push_back(None, 'a');
        let b = list.push_back(None, 'b');
        let c = list.push_back(None, 'c');
        assert!(list.unlink(b));
        assert!(!list.unlink(b));
        assert_eq!(list.remove(b), 'b');
        let d = list.push_back(None, 'd');
        assert_eq!(d, b, "freed slot is reused");
        assert_eq!(list.len(), 3);
        let mut order = Vec::new();
        while let Some(k) = list.pop_front() {
            order.push(list.node(k).data);
        }
        assert_eq!(order, ['a', 'c', 'd']);
        assert!(list.is_empty());
        assert!(!list.is_linked(a));
        for k in [a, c, d] {
            list.remove(k);
        }
        let e = list.push_back(None, 'e');
        assert!(e < 3, "slab did not grow");
    }
}
