//! `QueueBasicTests`, `QueueGetTests`, `QueuePutTests`, `LifoQueueTests` and
//! `PriorityQueueTests` of CPython's test_queues.py on `aloop::Queue` and its siblings.
//! The index is `main.rs`; the join and shutdown mixins are `join_shutdown.rs`.

use std::cell::Cell;
use std::time::Duration;

use aloop::sync::{TryGetError, TryPutError};
use aloop::{create_task, get_running_loop, task_group, Event, LifoQueue, PriorityQueue, Queue};
use aloop_tests::cpython::{leak, tick, ticks};

use super::debug_field;

/// repr()/str() text is Python's; the Debug form shows the waiting getters and putters
/// and the size (asyncio's `_getters[1]`, `_putters[1]`, `_queue=[1]`). One Rust test
/// stands for both `test_repr` and `test_str`.
#[aloop::test]
async fn queues_queue_basic_repr() {
    let q = leak(Queue::<i32>::new(0));
    assert!(format!("{q:?}").starts_with("BaseQueue"));
    let getter = create_task(q.get());
    tick().await;
    assert_eq!(debug_field(q, "getters"), "1");
    q.put_nowait(0).unwrap();
    assert_eq!(getter.await.unwrap(), Ok(0));

    let q = leak(Queue::<i32>::new(1));
    q.put_nowait(1).unwrap();
    let putter = create_task(q.put(2));
    tick().await;
    assert_eq!(debug_field(q, "putters"), "1");
    q.get_nowait().unwrap();
    tick().await;
    assert!(putter.done());

    let q = Queue::<i32>::new(0);
    q.put_nowait(1).unwrap();
    assert_eq!(debug_field(&q, "qsize"), "1");
}

#[aloop::test]
async fn queues_queue_basic_str() {
    // str() and repr() are one Debug form here; see queues_queue_basic_repr.
    let q = Queue::<i32>::new(0);
    assert_eq!(debug_field(&q, "getters"), "0");
    assert_eq!(debug_field(&q, "maxsize"), "0");
}

#[aloop::test]
async fn queues_queue_basic_empty() {
    let q = Queue::new(0);
    assert!(q.empty());
    q.put(1).await.unwrap();
    assert!(!q.empty());
    assert_eq!(q.get().await, Ok(1));
    assert!(q.empty());
}

#[aloop::test]
async fn queues_queue_basic_full() {
    let q = Queue::<i32>::new(0);
    assert!(!q.full());
    let q = Queue::new(1);
    q.put(1).await.unwrap();
    assert!(q.full());
}

#[aloop::test]
async fn queues_queue_basic_order() {
    let q = Queue::new(0);
    for i in [1, 3, 2] {
        q.put(i).await.unwrap();
    }
    let mut items = vec![];
    for _ in 0..3 {
        items.push(q.get().await.unwrap());
    }
    assert_eq!(items, [1, 3, 2]);
}

#[aloop::test]
async fn queues_queue_basic_maxsize() {
    let q = leak(Queue::new(2));
    assert_eq!(q.maxsize(), 2);
    let have_been_put = leak(std::cell::RefCell::new(vec![]));
    let t = create_task(async move {
        for i in 0..3 {
            q.put(i).await.unwrap();
            have_been_put.borrow_mut().push(i);
        }
        true
    });
    ticks(2).await;
    // The putter is blocked after putting two items.
    assert_eq!(*have_been_put.borrow(), [0, 1]);
    assert_eq!(q.get().await, Ok(0));
    tick().await;
    assert_eq!(*have_been_put.borrow(), [0, 1, 2]);
    assert_eq!(q.get().await, Ok(1));
    assert_eq!(q.get().await, Ok(2));
    assert!(t.done());
    assert!(t.result().unwrap().unwrap());
}

#[aloop::test]
async fn queues_queue_get_blocking_get() {
    let q = Queue::new(0);
    q.put_nowait(1).unwrap();
    assert_eq!(q.get().await, Ok(1));
}

/// asyncio plants a bare future in `_putters`; here a real putter waits on the full
/// queue, and the get must wake it.
#[aloop::test]
async fn queues_queue_get_get_with_putters() {
    let q = leak(Queue::new(1));
    q.put(1).await.unwrap();
    let waiter = create_task(q.put(2));
    tick().await;
    assert!(!waiter.done());
    assert_eq!(q.get().await, Ok(1));
    tick().await;
    assert!(waiter.done());
    assert_eq!(waiter.await.unwrap(), Ok(()));
}

#[aloop::test(virtual_time)]
async fn queues_queue_get_blocking_get_wait() {
    let q = leak(Queue::new(0));
    let started = leak(Event::new());
    let finished = leak(Cell::new(false));
    let queue_get = create_task(async move {
        started.set();
        let res = q.get().await;
        finished.set(true);
        res
    });
    started.wait().await;
    assert!(!finished.get());
    get_running_loop()
        .unwrap()
        .call_later(Duration::from_millis(10), move || q.put_nowait(1).unwrap())
        .unwrap();
    assert_eq!(queue_get.await.unwrap(), Ok(1));
    assert!(finished.get());
}

#[test]
fn queues_queue_get_nonblocking_get() {
    let q = Queue::new(0);
    q.put_nowait(1).unwrap();
    assert_eq!(q.get_nowait(), Ok(1));
}

#[test]
fn queues_queue_get_nonblocking_get_exception() {
    assert_eq!(Queue::<i32>::new(0).get_nowait(), Err(TryGetError::Empty));
}

#[aloop::test]
async fn queues_queue_get_get_cancelled_race() {
    let q = leak(Queue::new(0));
    let t1 = create_task(q.get());
    let t2 = create_task(q.get());
    tick().await;
    t1.cancel();
    tick().await;
    assert!(t1.done());
    q.put("a").await.unwrap();
    tick().await;
    assert_eq!(t2.await.unwrap(), Ok("a"));
}

#[aloop::test]
async fn queues_queue_get_get_with_waiting_putters() {
    let q = leak(Queue::new(1));
    create_task(q.put("a"));
    create_task(q.put("b"));
    assert_eq!(q.get().await, Ok("a"));
    assert_eq!(q.get().await, Ok("b"));
}

#[aloop::test]
async fn queues_queue_get_why_are_getters_waiting() {
    let q = leak(Queue::new(1));
    let n = 5;
    task_group(|tg| async move {
        tg.create_task(async move {
            for i in 0..n {
                q.put(i).await.unwrap();
            }
        });
        tg.create_task(async move {
            for _ in 0..n {
                q.get().await.unwrap();
            }
        });
    })
    .await
    .unwrap();
    assert!(q.empty());
}

#[aloop::test(virtual_time)]
async fn queues_queue_get_cancelled_getters_not_being_held_in_self_getters() {
    let q = leak(Queue::<i32>::new(5));
    assert!(aloop::wait_for(q.get(), Duration::from_millis(100))
        .await
        .is_err());
    assert_eq!(debug_field(q, "getters"), "0");
}

#[aloop::test]
async fn queues_queue_put_blocking_put() {
    let q = Queue::new(0);
    q.put(1).await.unwrap(); // unbounded: does not block
    assert_eq!(q.get().await, Ok(1));
}

#[aloop::test(virtual_time)]
async fn queues_queue_put_blocking_put_wait() {
    let q = leak(Queue::new(1));
    let started = leak(Event::new());
    let finished = leak(Cell::new(false));
    get_running_loop()
        .unwrap()
        .call_later(Duration::from_millis(10), move || {
            q.get_nowait().unwrap();
        })
        .unwrap();
    let queue_put = create_task(async move {
        started.set();
        q.put(1).await.unwrap();
        q.put(2).await.unwrap();
        finished.set(true);
    });
    started.wait().await;
    assert!(!finished.get());
    queue_put.await.unwrap();
    assert!(finished.get());
}

#[test]
fn queues_queue_put_nonblocking_put() {
    let q = Queue::new(0);
    q.put_nowait(1).unwrap();
    assert_eq!(q.get_nowait(), Ok(1));
}

#[aloop::test]
async fn queues_queue_put_get_cancel_drop_one_pending_reader() {
    let q = leak(Queue::new(0));
    let reader = create_task(q.get());
    tick().await;
    q.put_nowait(1).unwrap();
    q.put_nowait(2).unwrap();
    reader.cancel();
    let result = match reader.await {
        Ok(got) => got,
        // Try again: getting 2 would mean 1 was dropped.
        Err(e) if e.is_cancelled() => create_task(q.get()).await.unwrap(),
        Err(e) => panic!("{e:?}"),
    };
    assert_eq!(result, Ok(1));
}

#[aloop::test]
async fn queues_queue_put_get_cancel_drop_many_pending_readers() {
    let q = leak(Queue::new(0));
    let results = task_group(|tg| async move {
        let reader1 = tg.create_task(q.get());
        let reader2 = tg.create_task(q.get());
        let reader3 = tg.create_task(q.get());
        tick().await;
        q.put_nowait(1).unwrap();
        q.put_nowait(2).unwrap();
        reader1.cancel();
        assert!(reader1.await.unwrap_err().is_cancelled());
        let r3 = reader3.await.unwrap().unwrap();
        let r2 = reader2.await.unwrap().unwrap();
        (r2, r3)
    })
    .await
    .unwrap();
    // Which reader gets which item is not specified.
    let mut got = [results.0, results.1];
    got.sort();
    assert_eq!(got, [1, 2]);
}

#[aloop::test]
async fn queues_queue_put_put_cancel_drop() {
    let q = leak(Queue::new(1));
    q.put_nowait(1).unwrap();
    // The queue is full: the second put has to wait.
    let writer = create_task(q.put(2));
    tick().await;
    assert_eq!(q.get_nowait(), Ok(1));
    writer.cancel();
    match writer.await {
        Ok(put) => put.unwrap(),
        Err(e) if e.is_cancelled() => create_task(q.put(2)).await.unwrap().unwrap(),
        Err(e) => panic!("{e:?}"),
    }
    assert_eq!(q.get_nowait(), Ok(2));
    assert_eq!(q.qsize(), 0);
}

#[test]
fn queues_queue_put_nonblocking_put_exception() {
    let q = Queue::new(1);
    q.put_nowait(1).unwrap();
    // asyncio's QueueFull; the rejected item comes back.
    assert_eq!(q.put_nowait(2), Err(TryPutError::Full(2)));
}

#[aloop::test]
async fn queues_queue_put_put_cancelled() {
    let q = leak(Queue::new(0));
    let t = create_task(async move {
        q.put(1).await.unwrap();
        true
    });
    assert_eq!(q.get().await, Ok(1));
    assert!(t.done());
    assert!(t.result().unwrap().unwrap());
}

#[aloop::test]
async fn queues_queue_put_put_cancelled_race() {
    let q = leak(Queue::new(1));
    let put_a = create_task(q.put("a"));
    let put_b = create_task(q.put("b"));
    let put_c = create_task(q.put("X"));
    tick().await;
    assert!(put_a.done());
    assert!(!put_b.done());

    put_c.cancel();
    tick().await;
    assert!(put_c.done());
    assert_eq!(q.get_nowait(), Ok("a"));
    tick().await;
    assert_eq!(q.get_nowait(), Ok("b"));
    put_b.await.unwrap().unwrap();
}

#[aloop::test]
async fn queues_queue_put_put_with_waiting_getters() {
    let q = leak(Queue::new(0));
    let t = create_task(q.get());
    tick().await;
    q.put("a").await.unwrap();
    assert_eq!(t.await.unwrap(), Ok("a"));
}

#[aloop::test]
async fn queues_queue_put_why_are_putters_waiting() {
    let q = leak(Queue::new(2));
    task_group(|tg| async move {
        tg.create_task(async move {
            tick().await;
            for _ in 0..q.qsize() {
                q.get_nowait().unwrap();
            }
        });
        for item in 0..4 {
            tg.create_task(async move { q.put(item).await.unwrap() });
        }
    })
    .await
    .unwrap();
    assert_eq!(q.qsize(), 2);
}

#[aloop::test]
async fn queues_queue_put_cancelled_puts_not_being_held_in_self_putters() {
    let q = leak(Queue::new(1));
    q.put_nowait(1).unwrap();
    let put_task = create_task(q.put(1));
    tick().await;
    assert_eq!(debug_field(q, "putters"), "1");
    put_task.cancel();
    assert!(put_task.await.unwrap_err().is_cancelled());
    assert_eq!(debug_field(q, "putters"), "0");
}

/// The get frees a slot and promises it to the waiting putter; the putter is then
/// cancelled before it uses it. asyncio checks no `ValueError` escapes; here the promise
/// must pass on, leaving the slot free.
#[aloop::test]
async fn queues_queue_put_cancelled_put_silence_value_error_exception() {
    let q = leak(Queue::new(1));
    q.put_nowait(1).unwrap();
    let put_task = create_task(q.put(1));
    tick().await;
    q.get_nowait().unwrap();
    put_task.cancel();
    assert!(put_task.await.unwrap_err().is_cancelled());
    assert!(!q.full());
    q.put_nowait(3).unwrap();
}

#[aloop::test]
async fn queues_lifo_queue_order() {
    let q = LifoQueue::new(0);
    for i in [1, 3, 2] {
        q.put(i).await.unwrap();
    }
    let mut items = vec![];
    for _ in 0..3 {
        items.push(q.get().await.unwrap());
    }
    assert_eq!(items, [2, 3, 1]);
}

#[aloop::test]
async fn queues_priority_queue_order() {
    let q = PriorityQueue::new(0);
    for i in [1, 3, 2] {
        q.put(i).await.unwrap();
    }
    let mut items = vec![];
    for _ in 0..3 {
        items.push(q.get().await.unwrap());
    }
    assert_eq!(items, [1, 2, 3]);
}
