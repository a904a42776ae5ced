//! Fuzz target: aloop-sync's `Queue`, `LifoQueue` and `PriorityQueue` against a model
//! over `VecDeque`, a `Vec` stack and a `BinaryHeap` (`model/queue.rs`).
//!
//! Operations: `put_nowait`, `get_nowait`, `task_done`, `join` (polled once), Python
//! 3.13's `shutdown` (immediate or not), and waiting `put` / `get` futures that the
//! input starts, polls again and drops (a cancelled wait) in any order. Each result
//! is compared with the model's (a future must be ready exactly when the model says,
//! with its value), then every observer: `qsize`, `empty`, `full`, `maxsize`,
//! `is_shut_down`. The futures are polled by hand with a no-op waker: whether a wake-up
//! was sent is the crate's own tests' business (`crates/aloop-sync/tests`); here it is
//! what each poll returns.
//!
//! Neighbours: the other targets in this directory; `model/queue.rs` (the model).
#![no_main]

#[path = "../model/queue.rs"]
mod model;

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use aloop_sync::{
    BaseQueue, LifoQueue, PriorityQueue, Queue, QueueShutDown, Storage, TryGetError, TryPutError,
};
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

use model::{FifoModel, LifoModel, Model, ModelStore, PriorityModel, Wait};

#[derive(Arbitrary, Debug)]
enum Op {
    PutNowait(u8),
    GetNowait,
    TaskDone,
    Join,
    Shutdown {
        immediate: bool,
    },
    /// Start a `put(item)` and poll it once.
    Put(u8),
    /// Start a `get()` and poll it once.
    Get,
    /// Poll the n-th waiting put / get again (modulo).
    PollPut(u8),
    PollGet(u8),
    /// Drop the n-th waiting put / get (a cancelled wait).
    DropPut(u8),
    DropGet(u8),
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

type PutFuture<'q> = Pin<Box<dyn Future<Output = Result<(), QueueShutDown<u8>>> + 'q>>;
type GetFuture<'q> = Pin<Box<dyn Future<Output = Result<u8, QueueShutDown>> + 'q>>;

/// The put result in the model's terms: `Ok(())`, or the item given back.
fn put_result(r: Result<(), QueueShutDown<u8>>) -> Result<(), u8> {
    r.map_err(QueueShutDown::into_inner)
}

fn get_result(r: Result<u8, QueueShutDown>) -> Option<u8> {
    r.ok()
}

fn run<S: Storage<Item = u8>, M: ModelStore>(queue: BaseQueue<S>, maxsize: usize, ops: Vec<Op>) {
    let mut model = Model::<M>::new(maxsize);
    let mut cx = Context::from_waker(Waker::noop());
    // Waiting futures with the model's id for each.
    let mut puts: Vec<(usize, PutFuture<'_>)> = Vec::new();
    let mut gets: Vec<(usize, GetFuture<'_>)> = Vec::new();
    for op in ops {
        match op {
            Op::PutNowait(item) => {
                let got = queue.put_nowait(item);
                let want = match model.put_nowait(item) {
                    Ok(()) => Ok(()),
                    Err(model::PutRefused::Full) => Err(TryPutError::Full(item)),
                    Err(model::PutRefused::ShutDown) => Err(TryPutError::ShutDown(item)),
                };
                assert_eq!(got, want, "put_nowait({item})");
            }
            Op::GetNowait => {
                let want = match model.get_nowait() {
                    Ok(item) => Ok(item),
                    Err(true) => Err(TryGetError::ShutDown),
                    Err(false) => Err(TryGetError::Empty),
                };
                assert_eq!(queue.get_nowait(), want, "get_nowait");
            }
            Op::TaskDone => {
                assert_eq!(queue.task_done().is_ok(), model.task_done(), "task_done");
            }
            Op::Join => {
                let ready = Box::pin(queue.join()).as_mut().poll(&mut cx).is_ready();
                assert_eq!(ready, model.joined(), "join");
            }
            Op::Shutdown { immediate } => {
                queue.shutdown(immediate);
                model.shutdown(immediate);
            }
            Op::Put(item) => {
                let mut fut: PutFuture<'_> = Box::pin(queue.put(item));
                let (id, want) = model.start_put(item);
                match fut.as_mut().poll(&mut cx) {
                    Poll::Ready(r) => assert_eq!(Wait::Ready(put_result(r)), want, "put({item})"),
                    Poll::Pending => {
                        assert_eq!(want, Wait::Pending, "put({item}) waits");
                        puts.push((id, fut));
                    }
                }
            }
            Op::Get => {
                let mut fut: GetFuture<'_> = Box::pin(queue.get());
                let (id, want) = model.start_get();
                match fut.as_mut().poll(&mut cx) {
                    Poll::Ready(r) => assert_eq!(Wait::Ready(get_result(r)), want, "get()"),
                    Poll::Pending => {
                        assert_eq!(want, Wait::Pending, "get() waits");
                        gets.push((id, fut));
                    }
                }
            }
            Op::PollPut(n) if !puts.is_empty() => {
                let i = usize::from(n) % puts.len();
                let want = model.poll_put(puts[i].0);
                match puts[i].1.as_mut().poll(&mut cx) {
                    Poll::Ready(r) => {
                        assert_eq!(Wait::Ready(put_result(r)), want, "put polled again");
                        drop(puts.remove(i));
                    }
                    Poll::Pending => assert_eq!(want, Wait::Pending, "put still waits"),
                }
            }
            Op::PollGet(n) if !gets.is_empty() => {
                let i = usize::from(n) % gets.len();
                let want = model.poll_get(gets[i].0);
                match gets[i].1.as_mut().poll(&mut cx) {
                    Poll::Ready(r) => {
                        assert_eq!(Wait::Ready(get_result(r)), want, "get polled again");
                        drop(gets.remove(i));
                    }
                    Poll::Pending => assert_eq!(want, Wait::Pending, "get still waits"),
                }
            }
            Op::DropPut(n) if !puts.is_empty() => {
                let (id, fut) = puts.remove(usize::from(n) % puts.len());
                drop(fut);
                model.drop_put(id);
            }
            Op::DropGet(n) if !gets.is_empty() => {
                let (id, fut) = gets.remove(usize::from(n) % gets.len());
                drop(fut);
                model.drop_get(id);
            }
            Op::PollPut(_) | Op::PollGet(_) | Op::DropPut(_) | Op::DropGet(_) => {}
        }
        assert_eq!(queue.qsize(), model.qsize(), "qsize");
        assert_eq!(queue.empty(), model.qsize() == 0, "empty");
        assert_eq!(queue.full(), !model.has_room(), "full");
        assert_eq!(queue.maxsize(), maxsize, "maxsize");
        assert_eq!(queue.is_shut_down(), model.is_shut_down(), "is_shut_down");
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
