//! Behaviour of tasks and the local executor: ordering, cancellation, panics, detaching,
//! cross-thread wakes, and a 100,000-task stress run.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use aloop_executor::{spawn_local, LocalExecutor, Runnable, TaskError};

/// Yields to the executor once (asyncio's `sleep(0)`).
fn yield_now() -> impl Future<Output = ()> {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
}

/// Counts drops, to prove a future is dropped exactly once.
struct DropCounter(Arc<AtomicUsize>);
impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn tasks_run_in_spawn_order_and_yield_to_the_back() {
    let ex = LocalExecutor::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let mut handles = Vec::new();
    for name in ["a", "b"] {
        let log = log.clone();
        handles.push(ex.spawn(async move {
            for i in 0..3 {
                log.borrow_mut().push(format!("{name}{i}"));
                yield_now().await;
            }
        }));
    }
    ex.run_until(async {
        for h in handles {
            h.await.unwrap();
        }
    });
    assert_eq!(*log.borrow(), ["a0", "b0", "a1", "b1", "a2", "b2"]);
}

#[test]
fn spawn_does_not_run_the_future() {
    let ran = Rc::new(RefCell::new(false));
    let r = ran.clone();
    let (runnable, task) = spawn_local(async move { *r.borrow_mut() = true }, |_r: Runnable| {});
    assert!(!*ran.borrow());
    assert!(!task.is_finished());
    runnable.run();
    assert!(*ran.borrow());
    assert!(task.is_finished());
}

#[test]
fn cancel_before_first_step_never_runs_the_body() {
    let ex = LocalExecutor::new();
    let ran = Rc::new(RefCell::new(false));
    let r = ran.clone();
    let task = ex.spawn(async move { *r.borrow_mut() = true });
    assert!(task.cancel());
    assert!(
        !task.is_cancelled(),
        "cancellation takes effect at the next step"
    );
    let out = ex.run_until(task);
    assert!(matches!(out, Err(TaskError::Cancelled)));
    assert!(!*ran.borrow());
}

#[test]
fn cancel_drops_a_suspended_future_at_its_next_step() {
    let ex = LocalExecutor::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let d = DropCounter(drops.clone());
    let task = ex.spawn(async move {
        let _guard = d;
        std::future::pending::<()>().await;
    });
    ex.run_until(yield_now());
    assert_eq!(drops.load(Ordering::SeqCst), 0);
    let task_ref = task.task_ref();
    assert!(task.cancel());
    assert!(
        task.cancel(),
        "a second request while pending still answers true"
    );
    let out = ex.run_until(task);
    assert!(out.unwrap_err().is_cancelled());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
    assert!(task_ref.is_cancelled());
    assert!(
        !task_ref.cancel(),
        "cancelling a finished task answers false"
    );
}

#[test]
fn a_task_cancelling_itself_stops_at_its_next_suspension() {
    let ex = LocalExecutor::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    let me: Rc<RefCell<Option<aloop_executor::TaskRef>>> = Rc::default();
    let me2 = me.clone();
    let task = ex.spawn(async move {
        me2.borrow().as_ref().unwrap().cancel();
        l.borrow_mut().push("still running after cancel()");
        yield_now().await;
        l.borrow_mut().push("never");
    });
    *me.borrow_mut() = Some(task.task_ref());
    assert!(ex.run_until(task).unwrap_err().is_cancelled());
    assert_eq!(*log.borrow(), ["still running after cancel()"]);
}

#[test]
fn a_panic_becomes_the_output_and_the_executor_runs_on() {
    let ex = LocalExecutor::new();
    let bad = ex.spawn(async {
        panic!("boom");
    });
    let good = ex.spawn(async { 5 });
    let (bad, good) = ex.run_until(async { (bad.await, good.await) });
    match bad {
        Err(TaskError::Panicked(p)) => assert_eq!(p.message(), "boom"),
        other => panic!("expected a panic, got {other:?}"),
    }
    assert_eq!(good.unwrap(), 5);
}

#[test]
fn a_detached_task_still_runs_and_its_output_is_dropped() {
    let ex = LocalExecutor::new();
    let drops = Arc::new(AtomicUsize::new(0));
    let d = drops.clone();
    let done = Rc::new(RefCell::new(false));
    let done2 = done.clone();
    ex.spawn(async move {
        yield_now().await;
        *done2.borrow_mut() = true;
        DropCounter(d)
    })
    .detach();
    ex.run_until(async {
        for _ in 0..3 {
            yield_now().await;
        }
    });
    assert!(*done.borrow());
    assert_eq!(drops.load(Ordering::SeqCst), 1);
}

/// The output lives in the cell's untagged stage (`OUTPUT` in the state word says it is
/// there): whoever lets go of it last, it is dropped once, and taking it leaves nothing.
#[test]
fn an_output_is_dropped_exactly_once_whoever_lets_go_of_it() {
    let drops = Arc::new(AtomicUsize::new(0));
    let counter = || {
        let d = drops.clone();
        async move {
            yield_now().await;
            DropCounter(d)
        }
    };
    let ex = LocalExecutor::new();

    // Taken by the handle's await, then the handle dropped: the caller's value only.
    let taken = ex.run_until(ex.spawn(counter())).unwrap();
    assert_eq!(
        drops.load(Ordering::SeqCst),
        0,
        "taking moves the output out"
    );
    drop(taken);
    assert_eq!(drops.load(Ordering::SeqCst), 1);

    // Finished, never read, then the handle dropped: the drop releases it.
    let unread = ex.spawn(counter());
    ex.run_until(async {
        for _ in 0..3 {
            yield_now().await;
        }
    });
    assert!(unread.is_finished());
    assert_eq!(
        drops.load(Ordering::SeqCst),
        1,
        "kept in the cell for the handle"
    );
    drop(unread);
    assert_eq!(drops.load(Ordering::SeqCst), 2);

    // Taken twice: the second look finds nothing, and nothing is dropped again.
    let mut twice = ex.spawn(counter());
    ex.run_until(async {
        for _ in 0..3 {
            yield_now().await;
        }
    });
    let first = twice.try_take();
    assert!(matches!(first, Some(Ok(_))));
    assert!(twice.try_take().is_none());
    drop(first);
    drop(twice);
    assert_eq!(drops.load(Ordering::SeqCst), 3);

    // A waker that outlives the handle frees the cell later: the output is not in it.
    let waker: Rc<RefCell<Option<Waker>>> = Rc::default();
    let w = waker.clone();
    let d = drops.clone();
    let keeper = ex.spawn(async move {
        std::future::poll_fn(|cx| {
            *w.borrow_mut() = Some(cx.waker().clone());
            Poll::Ready(())
        })
        .await;
        DropCounter(d)
    });
    ex.run_until(async {
        for _ in 0..3 {
            yield_now().await;
        }
    });
    drop(keeper);
    assert_eq!(drops.load(Ordering::SeqCst), 4);
    drop(waker.borrow_mut().take());
    assert_eq!(drops.load(Ordering::SeqCst), 4);
}

#[test]
fn a_wake_from_another_thread_reaches_a_parked_executor() {
    let ex = LocalExecutor::new();
    let slot: Arc<Mutex<(bool, Option<Waker>)>> = Arc::default();
    let s = slot.clone();
    let task = ex.spawn(std::future::poll_fn(move |cx| {
        let mut g = s.lock().unwrap();
        if g.0 {
            Poll::Ready("woken")
        } else {
            g.1 = Some(cx.waker().clone());
            Poll::Pending
        }
    }));
    let s = slot.clone();
    let th = std::thread::spawn(move || loop {
        let mut g = s.lock().unwrap();
        if let Some(w) = g.1.take() {
            g.0 = true;
            drop(g);
            w.wake();
            return;
        }
        drop(g);
        std::thread::sleep(std::time::Duration::from_millis(1));
    });
    assert_eq!(ex.run_until(task).unwrap(), "woken");
    th.join().unwrap();
}

#[test]
fn dropping_the_executor_drops_every_pending_future() {
    let drops = Arc::new(AtomicUsize::new(0));
    {
        let ex = LocalExecutor::new();
        for _ in 0..10 {
            let d = DropCounter(drops.clone());
            ex.spawn(async move {
                let _d = d;
                std::future::pending::<()>().await
            })
            .detach();
        }
        ex.run_until(yield_now());
        assert_eq!(drops.load(Ordering::SeqCst), 0);
    }
    assert_eq!(drops.load(Ordering::SeqCst), 10);
}

struct WakeCounter {
    remaining: usize,
}

impl Future for WakeCounter {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.remaining == 0 {
            return Poll::Ready(());
        }
        self.remaining -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn stress_100_000_tasks_complete_with_nothing_lost() {
    let ex = LocalExecutor::new();
    let n: u64 = 100_000;
    let handles: Vec<_> = (0..n)
        .map(|i| {
            ex.spawn(async move {
                WakeCounter { remaining: 2 }.await;
                i
            })
        })
        .collect();
    let sum = ex.run_until(async {
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(sum, n * (n - 1) / 2);
}

#[test]
fn wakes_from_many_threads_are_never_lost() {
    // 8 threads each wake 1,000 tasks; every task must finish exactly once.
    let ex = LocalExecutor::new();
    let wakers: Arc<Mutex<Vec<Waker>>> = Arc::default();
    let flags: Arc<Vec<std::sync::atomic::AtomicBool>> =
        Arc::new((0..8000).map(|_| Default::default()).collect());
    let mut handles = Vec::new();
    for i in 0..8000 {
        let w = wakers.clone();
        let f = flags.clone();
        handles.push(ex.spawn(std::future::poll_fn(move |cx| {
            if f[i].load(Ordering::Acquire) {
                Poll::Ready(i)
            } else {
                w.lock().unwrap().push(cx.waker().clone());
                Poll::Pending
            }
        })));
    }
    ex.run_until(async {
        for _ in 0..2 {
            yield_now().await;
        }
    });
    let all: Vec<Waker> = std::mem::take(&mut *wakers.lock().unwrap());
    assert_eq!(all.len(), 8000);
    let mut chunks: Vec<Vec<Waker>> = Vec::new();
    let mut iter = all.into_iter();
    for _ in 0..8 {
        chunks.push(iter.by_ref().take(1000).collect());
    }
    flags.iter().for_each(|f| f.store(true, Ordering::Release));
    let threads: Vec<_> = chunks
        .into_iter()
        .map(|c| std::thread::spawn(move || c.into_iter().for_each(Waker::wake)))
        .collect();
    let total = ex.run_until(async {
        let mut total = 0usize;
        for h in handles {
            total += h.await.unwrap();
        }
        total
    });
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert_eq!(total, (0..8000).sum::<usize>());
}

/// Records its own address when polled and when dropped: a pinned future must be dropped
/// where it was polled, never moved out first.
struct PinnedProbe {
    polled_at: Rc<RefCell<usize>>,
    dropped_at: Rc<RefCell<usize>>,
    _pin: std::marker::PhantomPinned,
}

impl Future for PinnedProbe {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        *self.polled_at.borrow_mut() = &*self as *const Self as usize;
        Poll::Pending
    }
}

impl Drop for PinnedProbe {
    fn drop(&mut self) {
        *self.dropped_at.borrow_mut() = self as *const Self as usize;
    }
}

#[test]
fn cancel_and_executor_drop_drop_the_future_where_it_was_pinned() {
    for via_cancel in [true, false] {
        let polled_at = Rc::new(RefCell::new(0));
        let dropped_at = Rc::new(RefCell::new(0));
        let ex = LocalExecutor::new();
        let task = ex.spawn(PinnedProbe {
            polled_at: polled_at.clone(),
            dropped_at: dropped_at.clone(),
            _pin: std::marker::PhantomPinned,
        });
        ex.run_until(yield_now());
        assert_ne!(*polled_at.borrow(), 0);
        if via_cancel {
            task.cancel();
            assert!(ex.run_until(task).unwrap_err().is_cancelled());
        } else {
            drop(task);
            drop(ex);
        }
        assert_eq!(*dropped_at.borrow(), *polled_at.borrow());
    }
}
