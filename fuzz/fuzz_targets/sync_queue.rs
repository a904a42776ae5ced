//! Fuzz target: aloop-sync's `Queue`, `LifoQueue` and `PriorityQueue` against
//! `VecDeque`, a `Vec` stack and a `BinaryHeap`, over the operations that need no
//! waiting: `put_nowait`, `get_nowait`, `qsize`, `empty`, `full`, `maxsize`, plus
//! `task_done` and `join` (polled once: ready exactly when every put item was marked
//! done) and Python 3.13's `shutdown` (immediate or not).
//!
//! Each step compares the result with the model's and then every observer. The
//! waiting `put`/`get` futures and their hand-over rules are covered by the crate's own
//! tests and loom models (`crates/aloop-sync/tests`). Neighbours: the other targets in
//! this directory.
#![no_main]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Waker};

use aloop_sync::{BaseQueue, LifoQueue, PriorityQueue, Queue, Storage, TryGetError, TryPutError};
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Op {
    Put(u8),
    Get,
    TaskDone,
    Join,
    Shutdown { immediate: bool },
}

#[derive(Arbitrary, Debug)]
enum Kind {
    Fifo,
    Lifo,
    Priority,
}

#[derive(Arbitrary, Debug)]
struct Input {
    kind: Kind,
    /// 0 is unbounded; small bounds make "full" common.
    maxsize: u8,
    ops: Vec<Op>,
}

/// The order a model hands items out in.
trait ModelStore: Default {
    fn push(&mut self, item: u8);
    fn pop(&mut self) -> Option<u8>;
    fn len(&self) -> usize;
    fn clear(&mut self);
}

#[derive(Default)]
struct FifoModel(VecDeque<u8>);
#[derive(Default)]
struct LifoModel(Vec<u8>);
#[derive(Default)]
struct PriorityModel(BinaryHeap<Reverse<u8>>);

impl ModelStore for FifoModel {
    fn push(&mut self, item: u8) {
        self.0.push_back(item);
    }
    fn pop(&mut self) -> Option<u8> {
        self.0.pop_front()
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
    fn len(&self) -> usize {
        self.0.len()
    }
    fn clear(&mut self) {
        self.0.clear();
    }
}

/// asyncio's queue semantics with nobody waiting.
#[derive(Default)]
struct Model<M> {
    items: M,
    maxsize: usize,
    /// Items put and not yet marked done.
    unfinished: usize,
    shutdown: bool,
}

impl<M: ModelStore> Model<M> {
    fn full(&self) -> bool {
        self.maxsize > 0 && self.items.len() >= self.maxsize
    }
}

fn run<S: Storage<Item = u8>, M: ModelStore>(queue: BaseQueue<S>, maxsize: usize, ops: Vec<Op>) {
    let mut model = Model::<M> {
        maxsize,
        ..Model::default()
    };
    let mut cx = Context::from_waker(Waker::noop());
    for op in ops {
        match op {
            Op::Put(item) => {
                let got = queue.put_nowait(item);
                let want = if model.shutdown {
                    Err(TryPutError::ShutDown(item))
                } else if model.full() {
                    Err(TryPutError::Full(item))
                } else {
                    model.items.push(item);
                    model.unfinished += 1;
                    Ok(())
                };
                assert_eq!(got, want);
            }
            Op::Get => {
                let want = match model.items.pop() {
                    Some(item) => Ok(item),
                    None if model.shutdown => Err(TryGetError::ShutDown),
                    None => Err(TryGetError::Empty),
                };
                assert_eq!(queue.get_nowait(), want);
            }
            Op::TaskDone => {
                let got = queue.task_done().is_ok();
                assert_eq!(got, model.unfinished > 0);
                model.unfinished = model.unfinished.saturating_sub(1);
            }
            Op::Join => {
                let ready = pin!(queue.join()).poll(&mut cx).is_ready();
                assert_eq!(ready, model.unfinished == 0);
            }
            Op::Shutdown { immediate } => {
                queue.shutdown(immediate);
                model.shutdown = true;
                if immediate {
                    // Dropped items count as done.
                    model.unfinished = model.unfinished.saturating_sub(model.items.len());
                    model.items.clear();
                }
            }
        }
        assert_eq!(queue.qsize(), model.items.len());
        assert_eq!(queue.empty(), model.items.len() == 0);
        assert_eq!(queue.full(), model.full());
        assert_eq!(queue.maxsize(), model.maxsize);
        assert_eq!(queue.is_shut_down(), model.shutdown);
    }
}

fuzz_target!(|input: Input| {
    let maxsize = usize::from(input.maxsize % 8);
    match input.kind {
        Kind::Fifo => run::<_, FifoModel>(Queue::new(maxsize), maxsize, input.ops),
        Kind::Lifo => run::<_, LifoModel>(LifoQueue::new(maxsize), maxsize, input.ops),
        Kind::Priority => run::<_, PriorityModel>(PriorityQueue::new(maxsize), maxsize, input.ops),
    }
});
