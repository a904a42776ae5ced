//! Catalogue group F (queues): one test per entry, mirroring the asyncio snippet and its
//! recorded output; adaptations are explained per test.

mod common;

use std::rc::Rc;

use aloop_sync::{LifoQueue, PriorityQueue, Queue, QueueShutDown, TryGetError, TryPutError};
use common::{pause, Log, Sim};

/// F1: Queue is FIFO, LifoQueue LIFO, PriorityQueue smallest first.
#[test]
fn f1_queue_orders() {
    fn drain<E: std::fmt::Debug>(mut get: impl FnMut() -> Result<i32, E>) -> Vec<i32> {
        (0..3).map(|_| get().unwrap()).collect()
    }
    let q = Queue::new(0);
    let lq = LifoQueue::new(0);
    let pq = PriorityQueue::new(0);
    for item in [3, 1, 2] {
        q.put_nowait(item).unwrap();
        lq.put_nowait(item).unwrap();
        pq.put_nowait(item).unwrap();
    }
    assert_eq!((q.qsize(), lq.qsize(), pq.qsize()), (3, 3, 3));
    assert_eq!(drain(|| q.get_nowait()), [3, 1, 2]);
    assert_eq!(drain(|| lq.get_nowait()), [2, 1, 3]);
    assert_eq!(drain(|| pq.get_nowait()), [1, 2, 3]);
    assert!(q.empty() && lq.empty() && pq.empty());
}

/// F2: with maxsize > 0 put blocks while full; maxsize 0 is unbounded.
#[test]
fn f2_bounded_put_blocks_while_full() {
    let mut sim = Sim::new();
    let q = Rc::new(Queue::new(1));
    sim.block_on(q.put("a")).unwrap();
    assert!(q.full());
    let unbounded = Queue::new(0);
    for i in 0..10_000 {
        unbounded.put_nowait(i).unwrap();
    }
    assert!(!unbounded.full());
    let q2 = q.clone();
    let putter = sim.spawn(async move { q2.put("b").await.unwrap() });
    sim.run();
    assert_eq!(putter.outcome(), None, "put blocked");
    assert_eq!(sim.block_on(q.get()), Ok("a"));
    sim.run();
    assert_eq!(putter.outcome(), Some(true));
    assert_eq!(q.get_nowait(), Ok("b"));
}

/// F3: put_nowait on a full queue and get_nowait on an empty one fail. Adapted: the
/// rejected item comes back inside the error instead of being dropped.
#[test]
fn f3_nowait_errors() {
    let q = Queue::new(1);
    q.put_nowait(1).unwrap();
    let err = q.put_nowait(2).unwrap_err();
    assert_eq!(err.to_string(), "queue is full");
    assert_eq!(err, TryPutError::Full(2));
    assert_eq!(q.qsize(), 1);
    q.get_nowait().unwrap();
    let err = q.get_nowait().unwrap_err();
    assert_eq!(err, TryGetError::Empty);
    assert_eq!(err.to_string(), "queue is empty");
    assert_eq!(q.qsize(), 0);
}

/// F4: join blocks until task_done was called for every item put.
#[test]
fn f4_join_waits_for_task_done() {
    let mut sim = Sim::new();
    let q = Rc::new(Queue::new(0));
    let log = Log::default();
    for i in 0..3 {
        q.put_nowait(i).unwrap();
    }
    let (q2, l) = (q.clone(), log.clone());
    let worker = sim.spawn(async move {
        loop {
            let item = q2.get().await.unwrap();
            pause().await;
            l.push(format!("processed {item}"));
            q2.task_done().unwrap();
        }
    });
    sim.block_on(q.join());
    log.push("join returned");
    worker.cancel();
    sim.run();
    assert_eq!(
        log.take(),
        ["processed 0", "processed 1", "processed 2", "join returned"]
    );
    let err = q.task_done().unwrap_err();
    assert_eq!(err.to_string(), "task_done() called too many times");
}

/// F6: blocked getters are served in FIFO order.
#[test]
fn f6_blocked_getters_fifo() {
    let mut sim = Sim::new();
    let q = Rc::new(Queue::new(0));
    let log = Log::default();
    for n in 0..3 {
        let (q, log) = (q.clone(), log.clone());
        sim.spawn(async move {
            let item = q.get().await.unwrap();
            log.push(format!("getter {n} got {item}"));
        });
    }
    sim.run();
    for item in ["x", "y", "z"] {
        q.put_nowait(item).unwrap();
    }
    sim.run();
    assert_eq!(
        log.take(),
        ["getter 0 got x", "getter 1 got y", "getter 2 got z"]
    );
}

/// F8: a woken getter cancelled before it runs does not lose the item.
#[test]
fn f8_cancelled_woken_getter_loses_nothing() {
    let mut sim = Sim::new();
    let q = Rc::new(Queue::new(0));
    let log = Log::default();
    let getter = |name: &'static str| {
        let (q, log) = (q.clone(), log.clone());
        async move {
            let item = q.get().await.unwrap();
            log.push(format!("getter {name} got {item}"));
        }
    };
    let a = sim.spawn(getter("A"));
    let b = sim.spawn(getter("B"));
    sim.run();
    q.put_nowait("item").unwrap();
    a.cancel();
    sim.run();
    log.push(format!(
        "A cancelled: {} | left in queue: {}",
        a.outcome() == Some(false),
        q.qsize()
    ));
    assert_eq!(b.outcome(), Some(true));
    assert_eq!(
        log.take(),
        ["getter B got item", "A cancelled: true | left in queue: 0"]
    );
}

/// F9: in asyncio a `get_nowait` can steal the item meant for a woken getter, which then
/// loses its place. Adapted (the catalogue's aloop note): aloop earmarks the item for
/// the woken getter, so `get_nowait` finds nothing and getters keep their order.
#[test]
fn f9_woken_getter_keeps_item_and_place() {
    let mut sim = Sim::new();
    let q = Rc::new(Queue::new(0));
    let log = Log::default();
    let getter = |name: &'static str| {
        let (q, log) = (q.clone(), log.clone());
        async move {
            let item = q.get().await.unwrap();
            log.push(format!("getter {name} got {item}"));
        }
    };
    sim.spawn(getter("A"));
    sim.run();
    sim.spawn(getter("B"));
    sim.run();
    q.put_nowait(1).unwrap();
    assert_eq!(q.qsize(), 1, "the earmarked item still counts");
    assert_eq!(q.get_nowait(), Err(TryGetError::Empty));
    sim.run();
    q.put_nowait(2).unwrap();
    q.put_nowait(3).unwrap();
    sim.run();
    assert_eq!(log.take(), ["getter A got 1", "getter B got 2"]);
    assert_eq!(q.get_nowait(), Ok(3));
}

/// F10: Python 3.11 has no `shutdown`; aloop implements 3.13's (the catalogue's aloop
/// note): after `shutdown()` put fails, get drains then fails; `shutdown(immediate)`
/// empties the queue, fails waiting getters and lets `join()` return.
#[test]
fn f10_shutdown_python_313_semantics() {
    let mut sim = Sim::new();
    // Graceful: drain, then fail.
    let q = Queue::new(0);
    q.put_nowait("a").unwrap();
    q.shutdown(false);
    assert!(q.is_shut_down());
    assert_eq!(q.put_nowait("b"), Err(TryPutError::ShutDown("b")));
    let err = sim.block_on(q.put("c")).unwrap_err();
    assert_eq!(err.into_inner(), "c");
    assert_eq!(sim.block_on(q.get()), Ok("a"));
    assert_eq!(sim.block_on(q.get()), Err(QueueShutDown(())));
    assert_eq!(q.get_nowait(), Err(TryGetError::ShutDown));

    // Immediate: stored items are dropped (counting as done) and join returns.
    let q = Rc::new(Queue::new(0));
    let log = Log::default();
    for i in 1..=3 {
        q.put_nowait(i).unwrap();
    }
    assert_eq!(q.get_nowait(), Ok(1));
    q.task_done().unwrap();
    let (q2, l) = (q.clone(), log.clone());
    sim.spawn(async move {
        q2.join().await;
        l.push("join returned");
    });
    sim.run();
    assert!(log.take().is_empty(), "join waits for 2 and 3");
    q.shutdown(true);
    sim.run();
    assert_eq!(log.take(), ["join returned"]);
    assert!(q.empty());
    assert_eq!(sim.block_on(q.get()), Err(QueueShutDown(())));

    // Immediate: waiting getters and putters fail; putters get their items back.
    let empty = Rc::new(Queue::<&str>::new(1));
    let full = Rc::new(Queue::new(1));
    full.put_nowait("kept").unwrap();
    let (e, l) = (empty.clone(), log.clone());
    sim.spawn(async move {
        let r = e.get().await;
        l.push(format!("getter: {}", r.unwrap_err()));
    });
    let (f, l) = (full.clone(), log.clone());
    sim.spawn(async move {
        let r = f.put("mine").await;
        l.push(format!("putter got back: {}", r.unwrap_err().into_inner()));
    });
    sim.run();
    assert!(log.take().is_empty());
    empty.shutdown(true);
    full.shutdown(true);
    sim.run();
    assert_eq!(
        log.take(),
        ["getter: queue is shut down", "putter got back: mine"]
    );
    assert!(full.empty());
}
