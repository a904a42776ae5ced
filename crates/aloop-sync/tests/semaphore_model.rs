//! Property test: random interleavings of acquires (pending, polled, cancelled),
//! try_acquires and releases on a `Semaphore` and a `Lock`. Never more permits out than
//! exist, waiters complete strictly in the order they started, no permit is stranded,
//! and nobody waits while a permit is free.
#![cfg(not(loom))]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use aloop_sync::{Lock, Semaphore};
use futures_util::task::noop_waker;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Start,
    TryAcquire,
    PollAll,
    Cancel(usize),
    Release(usize),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Start),
        Just(Op::TryAcquire),
        Just(Op::PollAll),
        (0..4usize).prop_map(Op::Cancel),
        (0..4usize).prop_map(Op::Release),
    ]
}

fn poll<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    let waker = noop_waker();
    Pin::new(f).poll(&mut Context::from_waker(&waker))
}

/// Drives `ops` against a semaphore-like API given as closures; `P` is the permit type.
fn run<'a, A, P>(
    permits: usize,
    acquire: impl Fn() -> A,
    try_acquire: impl Fn() -> Option<P>,
    value: impl Fn() -> usize,
    ops: &[Op],
) where
    A: Future<Output = P> + Unpin + 'a,
{
    let mut held: Vec<P> = Vec::new();
    let mut pending: Vec<(u32, A)> = Vec::new();
    let mut started = 0u32;
    let mut completed_order: Vec<u32> = Vec::new();
    // Polls every pending acquire; completed ones join `held` in completion order.
    let poll_all = |pending: &mut Vec<(u32, A)>, held: &mut Vec<P>, order: &mut Vec<u32>| {
        pending.retain_mut(|(id, acq)| match poll(acq) {
            Poll::Ready(p) => {
                held.push(p);
                order.push(*id);
                false
            }
            Poll::Pending => true,
        });
    };
    for op in ops {
        match op {
            Op::Start => {
                started += 1;
                let mut acq = acquire();
                match poll(&mut acq) {
                    Poll::Ready(p) => {
                        // Waiters already handed a permit may not have run yet; any
                        // still pending after a poll were overtaken.
                        poll_all(&mut pending, &mut held, &mut completed_order);
                        assert!(pending.is_empty(), "a newcomer overtook a waiter");
                        held.push(p);
                    }
                    Poll::Pending => pending.push((started, acq)),
                }
            }
            Op::TryAcquire => {
                if let Some(p) = try_acquire() {
                    poll_all(&mut pending, &mut held, &mut completed_order);
                    assert!(pending.is_empty(), "try_acquire overtook a waiter");
                    held.push(p);
                }
            }
            Op::PollAll => {
                poll_all(&mut pending, &mut held, &mut completed_order);
                if !pending.is_empty() {
                    assert_eq!(value(), 0, "a waiter waits while a permit is free");
                }
            }
            Op::Cancel(i) => {
                if *i < pending.len() {
                    drop(pending.remove(*i));
                }
            }
            Op::Release(i) => {
                if *i < held.len() {
                    drop(held.remove(*i));
                }
            }
        }
        assert!(held.len() <= permits, "more permits out than exist");
        assert!(value() + held.len() <= permits);
    }
    let mut sorted = completed_order.clone();
    sorted.sort_unstable();
    assert_eq!(completed_order, sorted, "waiters completed out of order");
    drop(pending);
    drop(held);
    assert_eq!(value(), permits, "a permit was stranded");
}

proptest! {
    #[test]
    fn semaphore_model(ops in proptest::collection::vec(op(), 0..60), permits in 0..4usize) {
        let sem = Semaphore::new(permits);
        run(permits, || sem.acquire(), || sem.try_acquire(), || sem.value(), &ops);
    }

    #[test]
    fn lock_model(ops in proptest::collection::vec(op(), 0..60)) {
        let lock = Lock::new();
        run(
            1,
            || lock.acquire(),
            || lock.try_acquire(),
            || usize::from(!lock.locked()),
            &ops,
        );
    }
}
