//! The `_QueueJoinTestMixin` and `_QueueShutdownTestMixin` of CPython's test_queues.py,
//! each run for `Queue`, `LifoQueue` and `PriorityQueue` as CPython's `QueueJoinTests`,
//! `LifoQueueJoinTests`, ... do. The index is `main.rs`.
//!
//! Each mixin method is a generic function over the queue's storage; the `per_kind!`
//! macro turns it into one `#[aloop::test]` per queue kind.

use aloop::sync::{
    BaseQueue, Fifo, Lifo, Priority, QueueShutDown, Storage, TryGetError, TryPutError,
};
use aloop::{create_task, task_group};
use aloop_tests::cpython::{leak, tick};

use super::debug_field;

/// A queue of `&'static str` items (all three kinds can hold them).
type Q<S> = BaseQueue<S>;

fn assert_shut_down<S: Storage<Item = &'static str>>(q: &Q<S>) {
    assert!(matches!(
        q.put_nowait("data"),
        Err(TryPutError::ShutDown("data"))
    ));
    assert_eq!(q.get_nowait(), Err(TryGetError::ShutDown));
}

async fn assert_shut_down_async<S: Storage<Item = &'static str>>(q: &Q<S>) {
    assert!(matches!(q.put("data").await, Err(QueueShutDown("data"))));
    assert!(q.get().await.is_err());
    assert_shut_down(q);
}

async fn task_done_underflow<S: Storage<Item = &'static str>>() {
    // asyncio's ValueError.
    assert!(Q::<S>::new(0).task_done().is_err());
}

async fn task_done<S: Storage<Item = i32> + 'static>() {
    let q = leak(BaseQueue::<S>::new(0));
    for i in 0..100 {
        q.put_nowait(i).unwrap();
    }
    let accumulator = leak(std::cell::Cell::new(0));
    let running = leak(std::cell::Cell::new(true));
    // Two workers get items and call task_done after each; join() returns once all are
    // processed.
    task_group(|tg| async move {
        for _ in 0..2 {
            tg.create_task(async move {
                while running.get() {
                    let item = q.get().await.unwrap();
                    accumulator.set(accumulator.get() + item);
                    q.task_done().unwrap();
                }
            });
        }
        q.join().await;
        assert_eq!(accumulator.get(), (0..100).sum::<i32>());
        running.set(false);
        for _ in 0..2 {
            q.put_nowait(0).unwrap();
        }
    })
    .await
    .unwrap();
}

async fn join_empty_queue<S: Storage<Item = &'static str>>() {
    let q = Q::<S>::new(0);
    // join() on an empty queue returns at once (twice for insurance).
    q.join().await;
    q.join().await;
}

/// asyncio's `_format()` text is Python's; Debug shows maxsize and unfinished tasks.
async fn join_format<S: Storage<Item = &'static str>>() {
    let q = Q::<S>::new(0);
    assert_eq!(debug_field(&q, "maxsize"), "0");
    q.put_nowait("a").unwrap();
    q.put_nowait("b").unwrap();
    assert_eq!(debug_field(&q, "unfinished"), "2");
}

async fn shutdown_format<S: Storage<Item = &'static str>>() {
    let q = Q::<S>::new(0);
    assert_eq!(debug_field(&q, "shutdown"), "false");
    q.shutdown(false);
    assert_eq!(debug_field(&q, "shutdown"), "true");
    assert!(q.is_shut_down());
}

async fn shutdown_empty<S: Storage<Item = &'static str> + 'static>() {
    let q = leak(Q::<S>::new(0));
    let get_task = create_task(q.get());
    tick().await; // the get is pending before the shutdown
    q.shutdown(false);
    assert_eq!(q.qsize(), 0);
    q.join().await;
    tick().await;
    assert!(get_task.done());
    assert!(get_task.await.unwrap().is_err());
    assert_shut_down_async(q).await;
}

async fn shutdown_nonempty<S: Storage<Item = &'static str> + 'static>() {
    let q = leak(Q::<S>::new(1));
    q.put_nowait("data").unwrap();
    let join_task = create_task(q.join());
    let put_task = create_task(q.put("data2"));
    tick().await;
    assert!(!put_task.done());

    q.shutdown(false); // unfinished tasks: 1 -> 1
    assert_eq!(q.qsize(), 1);
    tick().await;
    assert!(put_task.done());
    assert!(matches!(
        put_task.await.unwrap(),
        Err(QueueShutDown("data2"))
    ));

    // What was queued can still be got.
    assert_eq!(q.get().await, Ok("data"));
    tick().await;
    assert!(!join_task.done());
    assert_shut_down_async(q).await;

    q.task_done().unwrap();
    tick().await;
    assert!(join_task.done());
    join_task.await.unwrap();
    assert!(q.task_done().is_err());
}

async fn shutdown_immediate<S: Storage<Item = &'static str> + 'static>() {
    let q = leak(Q::<S>::new(0));
    q.put_nowait("data").unwrap();
    let join_task = create_task(q.join());
    q.shutdown(true); // unfinished tasks: 1 -> 0
    assert_eq!(q.qsize(), 0);
    tick().await;
    assert!(join_task.done());
    join_task.await.unwrap();
    assert_shut_down_async(q).await;
    assert!(q.task_done().is_err());
}

async fn shutdown_immediate_with_unfinished<S: Storage<Item = &'static str> + 'static>() {
    let q = leak(Q::<S>::new(0));
    q.put_nowait("data").unwrap();
    q.put_nowait("data").unwrap();
    let join_task = create_task(q.join());
    assert_eq!(q.get().await, Ok("data"));
    q.shutdown(true); // unfinished tasks: 2 -> 1
    assert_eq!(q.qsize(), 0);
    tick().await;
    assert!(!join_task.done());
    assert_shut_down_async(q).await;

    q.task_done().unwrap(); // the one item still being processed
    assert!(q.task_done().is_err());
    tick().await;
    assert!(join_task.done());
    join_task.await.unwrap();
}

/// One `#[aloop::test]` per queue kind for a mixin method: `$body::<Storage>()`.
macro_rules! per_kind {
    ($item:ty, $body:ident: $fifo:ident, $lifo:ident, $priority:ident) => {
        #[aloop::test]
        async fn $fifo() {
            $body::<Fifo<$item>>().await;
        }
        #[aloop::test]
        async fn $lifo() {
            $body::<Lifo<$item>>().await;
        }
        #[aloop::test]
        async fn $priority() {
            $body::<Priority<$item>>().await;
        }
    };
}

type Str = &'static str;

per_kind!(Str, task_done_underflow:
    queues_queue_join_task_done_underflow,
    queues_lifo_queue_join_task_done_underflow,
    queues_priority_queue_join_task_done_underflow);
per_kind!(i32, task_done:
    queues_queue_join_task_done,
    queues_lifo_queue_join_task_done,
    queues_priority_queue_join_task_done);
per_kind!(Str, join_empty_queue:
    queues_queue_join_join_empty_queue,
    queues_lifo_queue_join_join_empty_queue,
    queues_priority_queue_join_join_empty_queue);
per_kind!(Str, join_format:
    queues_queue_join_format,
    queues_lifo_queue_join_format,
    queues_priority_queue_join_format);
per_kind!(Str, shutdown_format:
    queues_queue_shutdown_format,
    queues_lifo_queue_shutdown_format,
    queues_priority_queue_shutdown_format);
per_kind!(Str, shutdown_empty:
    queues_queue_shutdown_shutdown_empty,
    queues_lifo_queue_shutdown_shutdown_empty,
    queues_priority_queue_shutdown_shutdown_empty);
per_kind!(Str, shutdown_nonempty:
    queues_queue_shutdown_shutdown_nonempty,
    queues_lifo_queue_shutdown_shutdown_nonempty,
    queues_priority_queue_shutdown_shutdown_nonempty);
per_kind!(Str, shutdown_immediate:
    queues_queue_shutdown_shutdown_immediate,
    queues_lifo_queue_shutdown_shutdown_immediate,
    queues_priority_queue_shutdown_shutdown_immediate);
per_kind!(Str, shutdown_immediate_with_unfinished:
    queues_queue_shutdown_shutdown_immediate_with_unfinished,
    queues_lifo_queue_shutdown_shutdown_immediate_with_unfinished,
    queues_priority_queue_shutdown_shutdown_immediate_with_unfinished);
