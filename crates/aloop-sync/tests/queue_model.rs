//! Property test: random interleavings of nowait calls, pending gets and puts, polls and
//! cancellations on a small bounded queue. Every item whose put succeeded is received
//! exactly once, no item whose put was cancelled or refused ever appears, the queue
//! never holds more than `maxsize` items, no slot leaks, and no waiter is left waiting
//! when it could proceed.
#![cfg(not(loom))]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use aloop_sync::{Fifo, Get, LifoQueue, PriorityQueue, Put, Queue, Storage};
use futures_util::task::noop_waker;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    PutNowait,
    GetNowait,
    StartPut,
    StartGet,
    PollAll,
    CancelPut(usize),
    CancelGet(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::PutNowait),
        Just(Op::GetNowait),
        Just(Op::StartPut),
        Just(Op::StartGet),
        Just(Op::PollAll),
        (0..4usize).prop_map(Op::CancelPut),
        (0..4usize).prop_map(Op::CancelGet),
    ]
}

fn poll<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    let waker = noop_waker();
    Pin::new(f).poll(&mut Context::from_waker(&waker))
}

fn run<S: Storage<Item = u32>>(q: &aloop_sync::BaseQueue<S>, ops: &[Op]) {
    let maxsize = q.maxsize();
    let mut next = 0u32;
    let mut put_ok: Vec<u32> = Vec::new();
    let mut got: Vec<u32> = Vec::new();
    let mut puts: Vec<(u32, Put<'_, S>)> = Vec::new();
    let mut gets: Vec<Get<'_, S>> = Vec::new();
    for op in ops {
        match op {
            Op::PutNowait => {
                next += 1;
                if q.put_nowait(next).is_ok() {
                    put_ok.push(next);
                }
            }
            Op::GetNowait => {
                if let Ok(item) = q.get_nowait() {
                    got.push(item);
                }
            }
            Op::StartPut => {
                next += 1;
                let mut put = q.put(next);
                match poll(&mut put) {
                    Poll::Ready(r) => {
                        r.unwrap();
                        put_ok.push(next);
                    }
                    Poll::Pending => puts.push((next, put)),
                }
            }
            Op::StartGet => {
                let mut get = q.get();
                match poll(&mut get) {
                    Poll::Ready(r) => got.push(r.unwrap()),
                    Poll::Pending => gets.push(get),
                }
            }
            Op::PollAll => loop {
                let before = puts.len() + gets.len();
                puts.retain_mut(|(value, put)| match poll(put) {
                    Poll::Ready(r) => {
                        r.unwrap();
                        put_ok.push(*value);
                        false
                    }
                    Poll::Pending => true,
                });
                gets.retain_mut(|get| match poll(get) {
                    Poll::Ready(r) => {
                        got.push(r.unwrap());
                        false
                    }
                    Poll::Pending => true,
                });
                if puts.len() + gets.len() < before {
                    continue; // progress may have unblocked others: poll again
                }
                // Liveness: nobody is left waiting while they could proceed.
                // (After this fixpoint no slot is reserved: a granted putter completes
                // when polled. So qsize alone tells whether there is room.)
                if !puts.is_empty() {
                    assert!(
                        q.qsize() >= maxsize,
                        "a putter waits although there is room"
                    );
                }
                if !gets.is_empty() {
                    assert!(q.empty(), "a getter waits although there are items");
                }
                break;
            },
            Op::CancelPut(i) => {
                if *i < puts.len() {
                    drop(puts.remove(*i));
                }
            }
            Op::CancelGet(i) => {
                if *i < gets.len() {
                    drop(gets.remove(*i));
                }
            }
        }
        if maxsize > 0 {
            assert!(q.qsize() <= maxsize, "qsize {} > maxsize", q.qsize());
        }
    }
    drop(puts);
    drop(gets);
    while let Ok(item) = q.get_nowait() {
        got.push(item);
    }
    assert!(q.empty());
    // No slot stays promised to a putter that is gone: the queue takes maxsize again.
    if maxsize > 0 {
        for i in 0..maxsize as u32 {
            assert!(q.put_nowait(1000 + i).is_ok(), "a slot leaked");
        }
        assert!(q.full() && q.put_nowait(0).is_err());
    }
    put_ok.sort_unstable();
    got.sort_unstable();
    assert_eq!(
        got, put_ok,
        "received items differ from successfully put items"
    );
}

proptest! {
    #[test]
    fn fifo_queue_conserves_items(ops in proptest::collection::vec(op(), 0..60), maxsize in 0..4usize) {
        run::<Fifo<u32>>(&Queue::new(maxsize), &ops);
    }

    #[test]
    fn lifo_queue_conserves_items(ops in proptest::collection::vec(op(), 0..60), maxsize in 0..4usize) {
        run(&LifoQueue::new(maxsize), &ops);
    }

    #[test]
    fn priority_queue_conserves_items(ops in proptest::collection::vec(op(), 0..60), maxsize in 0..4usize) {
        run(&PriorityQueue::new(maxsize), &ops);
    }
}
