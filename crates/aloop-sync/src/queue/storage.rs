//! The storage policies that make one queue implementation FIFO, LIFO or priority.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::fmt;

/// Where a queue keeps its items and in which order it hands them out.
///
/// [`Queue`](crate::Queue), [`LifoQueue`](crate::LifoQueue) and
/// [`PriorityQueue`](crate::PriorityQueue) are [`BaseQueue`](crate::BaseQueue) over the
/// three implementations here; another order can be had by implementing this trait.
pub trait Storage: Default {
    /// The item type.
    type Item;
    /// Stores an item.
    fn push(&mut self, item: Self::Item);
    /// Removes the next item to hand out.
    fn pop(&mut self) -> Option<Self::Item>;
    /// Puts back an item that was taken for a getter who then gave up; it should come
    /// out next, as it would have.
    fn give_back(&mut self, item: Self::Item);
    /// Number of stored items.
    fn len(&self) -> usize;
    /// Whether no item is stored.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Drops every stored item; returns how many there were.
    fn clear(&mut self) -> usize;
}

/// First in, first out (asyncio's `Queue`).
pub struct Fifo<T>(VecDeque<T>);

/// Last in, first out (asyncio's `LifoQueue`).
pub struct Lifo<T>(Vec<T>);

/// Smallest item first (asyncio's `PriorityQueue`, a binary heap).
pub struct Priority<T: Ord>(BinaryHeap<Reverse<T>>);

impl<T> Default for Fifo<T> {
    fn default() -> Self {
        Fifo(VecDeque::new())
    }
}

impl<T> Default for Lifo<T> {
    fn default() -> Self {
        Lifo(Vec::new())
    }
}

impl<T: Ord> Default for Priority<T> {
    fn default() -> Self {
        Priority(BinaryHeap::new())
    }
}

impl<T> Storage for Fifo<T> {
    type Item = T;
    fn push(&mut self, item: T) {
        self.0.push_back(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop_front()
    }
    fn give_back(&mut self, item: T) {
        self.0.push_front(item);
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn clear(&mut self) -> usize {
        let n = self.0.len();
        self.0.clear();
        n
    }
}

impl<T> Storage for Lifo<T> {
    type Item = T;
    fn push(&mut self, item: T) {
        self.0.push(item);
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop()
    }
    fn give_back(&mut self, item: T) {
        self.0.push(item);
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn clear(&mut self) -> usize {
        let n = self.0.len();
        self.0.clear();
        n
    }
}

impl<T: Ord> Storage for Priority<T> {
    type Item = T;
    fn push(&mut self, item: T) {
        self.0.push(Reverse(item));
    }
    fn pop(&mut self) -> Option<T> {
        self.0.pop().map(|Reverse(item)| item)
    }
    fn give_back(&mut self, item: T) {
        self.push(item);
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn clear(&mut self) -> usize {
        let n = self.0.len();
        self.0.clear();
        n
    }
}

macro_rules! debug_len {
    ($($name:ident $(: $bound:path)?),*) => {$(
        impl<T $(: $bound)?> fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($name)).field("len", &self.0.len()).finish()
            }
        }
    )*};
}
debug_len!(Fifo, Lifo, Priority: Ord);
