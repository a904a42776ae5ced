//! The reference model of aloop-sync's queues for the `sync_queue` fuzz target
//! (`fuzz_targets/sync_queue.rs`): asyncio's queue over a plain `VecDeque`, `Vec` or
//! `BinaryHeap`, with waiting putters and getters kept in FIFO lists.
//!
//! The rules are the ones the crate documents (`crates/aloop-sync/src/queue/mod.rs`),
//! which give asyncio's outcomes without its wake-up races:
//! - a put that finds a getter waiting hands the item to the first one; it counts in
//!   `qsize` until that getter takes it, and if the getter is dropped first it goes to
//!   the next waiting getter, or back into the queue (to come out next);
//! - a get that frees a slot while putters wait promises it to the first one; a
//!   promised slot counts as taken; a putter dropped with a promise passes it on;
//! - nobody overtakes a waiting putter (`put_nowait` is "full" while one waits);
//! - `shutdown` fails waiting putters, and waiting getters once nothing is stored;
//!   `shutdown(immediate)` first drops what is stored (counting it as done).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};

/// The order a model hands items out in.
pub trait ModelStore: Default {
    fn push(&mut self, item: u8);
    fn pop(&mut self) -> Option<u8>;
    /// An item taken for a getter who then gave up: it comes out next.
    fn give_back(&mut self, item: u8);
    fn len(&self) -> usize;
    fn clear(&mut self);
}

#[derive(Default)]
pub struct FifoModel(VecDeque<u8>);
#[derive(Default)]
pub struct LifoModel(Vec<u8>);
#[derive(Default)]
pub struct PriorityModel(BinaryHeap<Reverse<u8>>);

impl ModelStore for FifoModel {
    fn push(&mut self, item: u8) {
        self.0.push_back(item);
    }
    fn pop(&mut self) -> Option<u8> {
        self.0.pop_front()
    }
    fn give_back(&mut self, item: u8) {
        self.0.push_front(item);
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn clear(&mut self) {
        self.0.clear();
    }
}

impl ModelStore for LifoModel {
    fn push(&mut self, item: u8) {
        self.0.push(item);
    }
    fn pop(&mut self) -> Option<u8> {
        self.0.pop()
    }
    fn give_back(&mut self, item: u8) {
        self.0.push(item);
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn clear(&mut self) {
        self.0.clear();
    }
}

impl ModelStore for PriorityModel {
    fn push(&mut self, item: u8) {
        self.0.push(Reverse(item));
    }
    fn pop(&mut self) -> Option<u8> {
        self.0.pop().map(|Reverse(item)| item)
    }
    fn give_back(&mut self, item: u8) {
        self.push(item);
    }
    fn len(&self) -> usize {
        self.0.len()
    }
    fn clear(&mut self) {
        self.0.clear();
    }
}

/// What polling a put or get gives.
#[derive(Debug, PartialEq, Eq)]
pub enum Wait<T> {
    Pending,
    Ready(T),
}

/// Why `put_nowait` refused.
pub enum PutRefused {
    Full,
    ShutDown,
}

pub struct Model<M> {
    store: M,
    maxsize: usize,
    unfinished: usize,
    shutdown: bool,
    next_id: usize,
    /// Getters waiting, oldest first.
    getters: VecDeque<usize>,
    /// Getters handed an item they have not taken yet.
    earmarked: BTreeMap<usize, u8>,
    /// Getters told of the shutdown.
    getters_refused: BTreeSet<usize>,
    /// Putters waiting with their items, oldest first.
    putters: VecDeque<(usize, u8)>,
    /// Putters promised a slot, with their items.
    granted: BTreeMap<usize, u8>,
    /// Putters told of the shutdown, with their items.
    putters_refused: BTreeMap<usize, u8>,
}

impl<M: ModelStore> Model<M> {
    pub fn new(maxsize: usize) -> Model<M> {
        Model {
            store: M::default(),
            maxsize,
            unfinished: 0,
            shutdown: false,
            next_id: 0,
            getters: VecDeque::new(),
            earmarked: BTreeMap::new(),
            getters_refused: BTreeSet::new(),
            putters: VecDeque::new(),
            granted: BTreeMap::new(),
            putters_refused: BTreeMap::new(),
        }
    }

    pub fn qsize(&self) -> usize {
        self.store.len() + self.earmarked.len()
    }

    pub fn is_shut_down(&self) -> bool {
        self.shutdown
    }

    /// Whether a newcomer may put now.
    pub fn has_room(&self) -> bool {
        self.maxsize == 0
            || (self.putters.is_empty() && self.qsize() + self.granted.len() < self.maxsize)
    }

    fn id(&mut self) -> usize {
        self.next_id += 1;
        self.next_id
    }

    /// An admitted item: to the first waiting getter, or stored.
    fn push(&mut self, item: u8) {
        self.unfinished += 1;
        self.deliver(item);
    }

    fn deliver(&mut self, item: u8) {
        match self.getters.pop_front() {
            Some(getter) => {
                self.earmarked.insert(getter, item);
            }
            None => self.store.push(item),
        }
    }

    fn grant_putters(&mut self) {
        while self.qsize() + self.granted.len() < self.maxsize {
            let Some((putter, item)) = self.putters.pop_front() else {
                break;
            };
            self.granted.insert(putter, item);
        }
    }

    fn pop(&mut self) -> Option<u8> {
        let item = self.store.pop()?;
        self.grant_putters();
        Some(item)
    }

    pub fn put_nowait(&mut self, item: u8) -> Result<(), PutRefused> {
        if self.shutdown {
            return Err(PutRefused::ShutDown);
        }
        if !self.has_room() {
            return Err(PutRefused::Full);
        }
        self.push(item);
        Ok(())
    }

    /// `Err(true)`: shut down and drained; `Err(false)`: empty.
    pub fn get_nowait(&mut self) -> Result<u8, bool> {
        self.pop().ok_or(self.shutdown)
    }

    pub fn task_done(&mut self) -> bool {
        let ok = self.unfinished > 0;
        self.unfinished = self.unfinished.saturating_sub(1);
        ok
    }

    pub fn joined(&self) -> bool {
        self.unfinished == 0
    }

    pub fn shutdown(&mut self, immediate: bool) {
        self.shutdown = true;
        if immediate {
            self.unfinished = self.unfinished.saturating_sub(self.store.len());
            self.store.clear();
        }
        if self.store.len() == 0 {
            self.getters_refused.extend(self.getters.drain(..));
        }
        self.putters_refused.extend(self.putters.drain(..));
    }

    /// A new `put(item)` polled once; the id names it later.
    pub fn start_put(&mut self, item: u8) -> (usize, Wait<Result<(), u8>>) {
        let id = self.id();
        if self.shutdown {
            return (id, Wait::Ready(Err(item)));
        }
        if self.has_room() {
            self.push(item);
            return (id, Wait::Ready(Ok(())));
        }
        self.putters.push_back((id, item));
        (id, Wait::Pending)
    }

    pub fn poll_put(&mut self, id: usize) -> Wait<Result<(), u8>> {
        if let Some(item) = self.granted.remove(&id) {
            // A shutdown after the promise still refuses the put.
            if self.shutdown {
                return Wait::Ready(Err(item));
            }
            self.push(item);
            return Wait::Ready(Ok(()));
        }
        if let Some(item) = self.putters_refused.remove(&id) {
            return Wait::Ready(Err(item));
        }
        assert!(self.putters.iter().any(|p| p.0 == id), "unknown putter");
        Wait::Pending
    }

    pub fn drop_put(&mut self, id: usize) {
        if self.granted.remove(&id).is_some() {
            self.grant_putters();
        }
        self.putters.retain(|p| p.0 != id);
        self.putters_refused.remove(&id);
    }

    /// A new `get()` polled once; `Ready(None)` is the shutdown error.
    pub fn start_get(&mut self) -> (usize, Wait<Option<u8>>) {
        let id = self.id();
        if let Some(item) = self.pop() {
            return (id, Wait::Ready(Some(item)));
        }
        if self.shutdown {
            return (id, Wait::Ready(None));
        }
        self.getters.push_back(id);
        (id, Wait::Pending)
    }

    pub fn poll_get(&mut self, id: usize) -> Wait<Option<u8>> {
        if let Some(item) = self.earmarked.remove(&id) {
            self.grant_putters();
            return Wait::Ready(Some(item));
        }
        if self.getters_refused.remove(&id) {
            return Wait::Ready(None);
        }
        assert!(self.getters.contains(&id), "unknown getter");
        Wait::Pending
    }

    pub fn drop_get(&mut self, id: usize) {
        self.getters.retain(|&g| g != id);
        self.getters_refused.remove(&id);
        if let Some(item) = self.earmarked.remove(&id) {
            if self.getters.is_empty() {
                self.store.give_back(item);
            } else {
                self.deliver(item);
            }
        }
    }
}
