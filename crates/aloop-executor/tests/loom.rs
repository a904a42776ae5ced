//! loom models of the task state machine's cross-thread paths: a wake racing a running
//! step, a cancel racing a wake, the last reference dropped on a foreign thread, and a
//! zero-sized scheduler reading its queue from the metadata on a foreign wake.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p aloop-executor --release --test loom`
#![cfg(loom)]

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use aloop_executor::{spawn_local, Runnable, Task};
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use loom::sync::{Arc, Mutex};

type Queue = Arc<Mutex<VecDeque<Runnable>>>;

/// Completes once `flag` is set; leaves its waker in `slot` each time it is pending.
struct Gate {
    flag: Arc<AtomicBool>,
    slot: Arc<Mutex<Option<Waker>>>,
    polls: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
}

impl Future for Gate {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        self.polls.fetch_add(1, SeqCst);
        *self.slot.lock().unwrap() = Some(cx.waker().clone());
        if self.flag.load(SeqCst) {
            Poll::Ready(7)
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

struct Fixture {
    queue: Queue,
    flag: Arc<AtomicBool>,
    slot: Arc<Mutex<Option<Waker>>>,
    polls: Arc<AtomicUsize>,
    drops: Arc<AtomicUsize>,
}

fn fixture() -> (Fixture, Runnable, Task<u32>) {
    let queue: Queue = Arc::new(Mutex::new(VecDeque::new()));
    let q = queue.clone();
    let fx = Fixture {
        queue,
        flag: Arc::new(AtomicBool::new(false)),
        slot: Arc::new(Mutex::new(None)),
        polls: Arc::new(AtomicUsize::new(0)),
        drops: Arc::new(AtomicUsize::new(0)),
    };
    let gate = Gate {
        flag: fx.flag.clone(),
        slot: fx.slot.clone(),
        polls: fx.polls.clone(),
        drops: fx.drops.clone(),
    };
    let (runnable, task) = spawn_local(gate, move |r| q.lock().unwrap().push_back(r));
    (fx, runnable, task)
}

fn drain(queue: &Queue) {
    loop {
        let next = queue.lock().unwrap().pop_front();
        match next {
            Some(r) => {
                r.run();
            }
            None => return,
        }
    }
}

#[test]
fn wake_from_another_thread_races_a_running_step() {
    loom::model(|| {
        let (fx, first, mut task) = fixture();
        first.run(); // registers the waker, pending
        let flag = fx.flag.clone();
        let slot = fx.slot.clone();
        let th = loom::thread::spawn(move || {
            flag.store(true, SeqCst);
            let waker = slot.lock().unwrap().take();
            if let Some(w) = waker {
                w.wake();
            }
        });
        // The owner may run a step concurrently with the wake.
        let next = fx.queue.lock().unwrap().pop_front();
        if let Some(r) = next {
            r.run();
        }
        th.join().unwrap();
        drain(&fx.queue);
        // Whatever the interleaving, the wake was not lost and the output is there.
        assert!(task.is_finished());
        assert_eq!(task.try_take().unwrap().unwrap(), 7);
        assert_eq!(fx.drops.load(SeqCst), 1);
        assert!(fx.queue.lock().unwrap().is_empty());
        drop(fx.slot.lock().unwrap().take());
    });
}

#[test]
fn cancel_races_a_foreign_wake() {
    loom::model(|| {
        let (fx, first, task) = fixture();
        first.run();
        let slot = fx.slot.clone();
        let th = loom::thread::spawn(move || {
            let waker = slot.lock().unwrap().take();
            if let Some(w) = waker {
                w.wake_by_ref();
                drop(w);
            }
        });
        assert!(task.cancel());
        drain(&fx.queue);
        th.join().unwrap();
        drain(&fx.queue);
        assert!(task.is_cancelled());
        // The future was dropped exactly once and never polled after the cancel.
        assert_eq!(fx.drops.load(SeqCst), 1);
        assert_eq!(fx.polls.load(SeqCst), 1);
    });
}

#[test]
fn last_reference_released_on_a_foreign_thread() {
    loom::model(|| {
        let (fx, first, task) = fixture();
        first.run();
        let waker = fx.slot.lock().unwrap().take().unwrap();
        fx.flag.store(true, SeqCst);
        waker.wake_by_ref();
        drain(&fx.queue); // completes: the future is dropped here, on the owner
        assert!(task.is_finished());
        drop(task);
        drop(fx.slot.lock().unwrap().take());
        // The waker now holds the last reference; it is dropped elsewhere.
        let th = loom::thread::spawn(move || drop(waker));
        th.join().unwrap();
        assert_eq!(fx.drops.load(SeqCst), 1);
    });
}

/// Counts its drops: the metadata must be dropped once, after every reference is gone.
struct MetaDrops(Arc<AtomicUsize>);

impl Drop for MetaDrops {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

#[test]
fn metadata_outlives_every_reference_raced_across_threads() {
    loom::model(|| {
        let queue: Queue = Arc::new(Mutex::new(VecDeque::new()));
        let q = queue.clone();
        let meta_drops = Arc::new(AtomicUsize::new(0));
        let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let s = slot.clone();
        let (runnable, task) = aloop_executor::spawn_local_with(
            MetaDrops(meta_drops.clone()),
            move |_| {
                std::future::poll_fn(move |cx| {
                    *s.lock().unwrap() = Some(cx.waker().clone());
                    Poll::<()>::Pending
                })
            },
            move |r| q.lock().unwrap().push_back(r),
        );
        runnable.run();
        let waker = slot.lock().unwrap().take().unwrap();
        // The owner cancels and lets go of its reference while another thread wakes the
        // task and drops the last waker.
        let th = loom::thread::spawn(move || {
            waker.wake_by_ref();
            drop(waker);
        });
        assert!(task.cancel());
        drain(&queue);
        assert_eq!(meta_drops.load(SeqCst), 0);
        drop(task);
        th.join().unwrap();
        drain(&queue);
        assert_eq!(meta_drops.load(SeqCst), 1);
    });
}

/// Where a task goes when woken, kept in its metadata (so the scheduler is zero-sized),
/// with a count of its drops.
struct Route {
    queue: Queue,
    drops: Arc<AtomicUsize>,
}

impl Drop for Route {
    fn drop(&mut self) {
        self.drops.fetch_add(1, SeqCst);
    }
}

#[test]
fn a_zero_sized_scheduler_reads_the_metadata_on_a_foreign_wake() {
    loom::model(|| {
        let queue: Queue = Arc::new(Mutex::new(VecDeque::new()));
        let drops = Arc::new(AtomicUsize::new(0));
        let flag = Arc::new(AtomicBool::new(false));
        let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
        let (f, s) = (flag.clone(), slot.clone());
        let (runnable, task) = aloop_executor::spawn_local_with(
            Route {
                queue: queue.clone(),
                drops: drops.clone(),
            },
            move |_| {
                std::future::poll_fn(move |cx| {
                    if f.load(SeqCst) {
                        return Poll::Ready(());
                    }
                    *s.lock().unwrap() = Some(cx.waker().clone());
                    Poll::Pending
                })
            },
            |r: Runnable| {
                // SAFETY: the metadata is a `Route`; its `queue` (an `Arc`, `Sync`) is
                // written once, at the spawn, and read through the raw pointer.
                let queue =
                    unsafe { &*std::ptr::addr_of!((*r.metadata::<Route>().as_ptr()).queue) };
                queue.lock().unwrap().push_back(r);
            },
        );
        runnable.run();
        let waker = slot.lock().unwrap().take().unwrap();
        // The wake reads the metadata on another thread while the owner lets go of its
        // handle: the runnable the wake makes keeps the metadata alive for the read.
        let th = loom::thread::spawn(move || {
            flag.store(true, SeqCst);
            waker.wake();
        });
        drop(task);
        th.join().unwrap();
        assert_eq!(
            drops.load(SeqCst),
            0,
            "the woken task still holds its metadata"
        );
        drain(&queue);
        // It ran to the end and its cell went, metadata dropped once.
        assert_eq!(drops.load(SeqCst), 1);
        assert!(slot.lock().unwrap().is_none());
    });
}
