//! Stress tests for the core loop: many callbacks, tasks and timers, checking that nothing
//! is lost, duplicated, run early or run after being cancelled.
//!
//! Sizes: the full sizes (1,000,000 callbacks per scenario, 100,000 tasks, 100,000
//! timers, 4 x 50,000 cross-thread callbacks) run in every build, debug included: the
//! whole file takes about 1 s in a debug build on an idle 2-core machine, so there is a
//! wide margin under the 30 s budget even when loaded. If that ever changes, scale down
//! with `cfg!(debug_assertions)` and keep the full sizes in release.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use aloop::{LoopRef, TimerHandle};
use aloop_tests::{stopper, yield_now, XorShift};

/// Callbacks per scenario.
const CALLBACKS: usize = 1_000_000;
const TASKS: u64 = 100_000;
const TIMERS: usize = 100_000;
const SENDERS: usize = 4;
const PER_SENDER: usize = 50_000;

/// One link of a chain: counts itself, then schedules the next link (each runs in its own
/// loop iteration, so this also drives `CALLBACKS` iterations of `run_once`).
fn link(lp: LoopRef, count: Rc<Cell<usize>>) {
    count.set(count.get() + 1);
    if count.get() == CALLBACKS {
        lp.stop();
        return;
    }
    let next = lp.clone_ref();
    lp.call_soon(move || link(next, count)).unwrap();
}

#[test]
fn a_chain_of_callbacks_runs_to_completion() {
    let lp = aloop::new_event_loop();
    let count = Rc::new(Cell::new(0));
    let (lp2, count2) = (lp.clone_ref(), count.clone());
    lp.call_soon(move || link(lp2, count2)).unwrap();
    // A guard: if a link were lost, the loop would block forever without it.
    lp.call_later(Duration::from_secs(120), stopper(&lp))
        .unwrap();
    lp.run_forever().unwrap();
    assert_eq!(count.get(), CALLBACKS);
    lp.close().unwrap();
}

#[test]
fn a_fan_out_of_callbacks_runs_all_once_in_fifo_order() {
    let lp = aloop::new_event_loop();
    let count = Rc::new(Cell::new(0usize));
    let out_of_order = Rc::new(Cell::new(0usize));
    let (lp2, count2, ooo2) = (lp.clone_ref(), count.clone(), out_of_order.clone());
    // One callback schedules them all (they all run in the next iteration), then a stop
    // behind them.
    lp.call_soon(move || {
        for i in 0..CALLBACKS {
            let (count, ooo) = (count2.clone(), ooo2.clone());
            lp2.call_soon(move || {
                if count.get() != i {
                    ooo.set(ooo.get() + 1);
                }
                count.set(count.get() + 1);
            })
            .unwrap();
        }
        lp2.call_soon(stopper(&lp2)).unwrap();
    })
    .unwrap();
    lp.run_forever().unwrap();
    assert_eq!(count.get(), CALLBACKS);
    assert_eq!(out_of_order.get(), 0, "callbacks ran out of FIFO order");
    lp.close().unwrap();
}

#[test]
fn many_tasks_run_to_completion() {
    let sum = aloop::run(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                aloop::create_task(async move {
                    // One suspension each, so every task is woken and re-queued once.
                    yield_now().await;
                    i
                })
            })
            .collect();
        let mut sum = 0u64;
        for t in tasks {
            sum += t.await.unwrap();
        }
        (sum, aloop::all_tasks().unwrap().len())
    });
    assert_eq!(sum.0, TASKS * (TASKS - 1) / 2);
    assert_eq!(sum.1, 1, "only the main task is left");
}

/// Per-timer record: how often it fired and whether it ever fired early.
#[derive(Default)]
struct Record {
    fired: Vec<u32>,
    early: usize,
}

#[test]
fn many_timers_fire_once_never_early_and_cancelled_ones_never() {
    let lp = aloop::new_event_loop();
    let mut rng = XorShift::new(0x5eed_a100);
    let record = Rc::new(RefCell::new(Record {
        fired: vec![0; TIMERS],
        early: 0,
    }));
    let handles: Rc<RefCell<Vec<TimerHandle>>> = Rc::default();
    // Half the timers are cancelled: a quarter before the loop runs, a quarter from the
    // first callback of the run (by then some of them are due and already queued behind
    // that callback, which must not make them fire).
    let mut cancel_now = Vec::new();
    let mut cancel_in_loop = Vec::new();
    let mut survivors = 0usize;
    for i in 0..TIMERS {
        let delay = Duration::from_micros(rng.below(50_000));
        let (record, handles2) = (record.clone(), handles.clone());
        let h = lp
            .call_later(delay, move || {
                let when = handles2.borrow()[i].when();
                let mut r = record.borrow_mut();
                if Instant::now() < when {
                    r.early += 1;
                }
                r.fired[i] += 1;
            })
            .unwrap();
        handles.borrow_mut().push(h);
        match rng.below(4) {
            0 => cancel_now.push(i),
            1 => cancel_in_loop.push(i),
            _ => survivors += 1,
        }
    }
    for &i in &cancel_now {
        handles.borrow()[i].cancel();
    }
    {
        let handles = handles.clone();
        let to_cancel = cancel_in_loop.clone();
        lp.call_soon(move || {
            for i in to_cancel {
                handles.borrow()[i].cancel();
            }
        })
        .unwrap();
    }
    // Every deadline is under 50 ms from its scheduling; run well past the last one.
    let last = handles
        .borrow()
        .iter()
        .map(TimerHandle::when)
        .max()
        .unwrap();
    lp.call_at(last + Duration::from_millis(60), stopper(&lp))
        .unwrap();
    lp.run_forever().unwrap();
    lp.close().unwrap();

    let r = record.borrow();
    assert_eq!(r.early, 0, "timers fired before their deadline");
    let fired_once = r.fired.iter().filter(|&&n| n == 1).count();
    assert_eq!(fired_once, survivors, "every survivor fires exactly once");
    for i in cancel_now.iter().chain(&cancel_in_loop) {
        assert_eq!(r.fired[*i], 0, "cancelled timer {i} fired");
    }
    assert!(r.fired.iter().all(|&n| n <= 1), "a timer fired twice");
    assert!(
        survivors > TIMERS / 3,
        "the seed should leave about half alive"
    );
}

#[test]
fn callbacks_sent_from_threads_all_arrive_in_per_thread_order() {
    let lp = aloop::new_event_loop();
    let count = Arc::new(AtomicUsize::new(0));
    // Per sender, the index of the last callback that ran, to check each sender's FIFO.
    let last_seen: Arc<Mutex<Vec<Option<usize>>>> = Arc::new(Mutex::new(vec![None; SENDERS]));
    let out_of_order = Arc::new(AtomicUsize::new(0));
    let senders: Vec<_> = (0..SENDERS)
        .map(|s| {
            let handle = lp.handle();
            let (count, last_seen, ooo) = (count.clone(), last_seen.clone(), out_of_order.clone());
            thread::spawn(move || {
                for i in 0..PER_SENDER {
                    let (count, last_seen, ooo) = (count.clone(), last_seen.clone(), ooo.clone());
                    handle
                        .call_soon_threadsafe(move || {
                            let mut seen = last_seen.lock().unwrap();
                            if seen[s].map_or(i != 0, |prev| prev + 1 != i) {
                                ooo.fetch_add(1, Ordering::Relaxed);
                            }
                            seen[s] = Some(i);
                            if count.fetch_add(1, Ordering::Relaxed) + 1 == SENDERS * PER_SENDER {
                                aloop::get_running_loop().unwrap().stop();
                            }
                        })
                        .unwrap();
                    // Pause now and then so the loop runs dry and blocks in its poller:
                    // the next send must wake it (the notify race).
                    if i % 5_000 == 0 {
                        thread::sleep(Duration::from_micros(200));
                    }
                }
            })
        })
        .collect();
    // A guard against a lost wake-up or callback: the test fails instead of hanging.
    lp.call_later(Duration::from_secs(120), stopper(&lp))
        .unwrap();
    lp.run_forever().unwrap();
    for s in senders {
        s.join().unwrap();
    }
    assert_eq!(count.load(Ordering::Relaxed), SENDERS * PER_SENDER);
    assert_eq!(
        out_of_order.load(Ordering::Relaxed),
        0,
        "a sender's callbacks ran out of order"
    );
    lp.close().unwrap();
}

/// While threads send callbacks, the loop keeps itself busy with a chain of its own
/// `call_soon`s, each of which first moves what the threads sent onto the ready queue
/// (asyncio's single FIFO): no sent callback may be lost or left behind the chain (the
/// chain ends only once all of them ran; a lost one hangs until the 120 s guard).
#[test]
fn callbacks_sent_from_threads_while_the_loop_calls_soon_all_arrive() {
    fn chain(lp: LoopRef, ran: Arc<AtomicUsize>) {
        if ran.load(Ordering::Relaxed) == SENDERS * PER_SENDER {
            lp.stop();
            return;
        }
        let next = lp.clone_ref();
        lp.call_soon(move || chain(next, ran)).unwrap();
    }
    let lp = aloop::new_event_loop();
    let ran = Arc::new(AtomicUsize::new(0));
    let senders: Vec<_> = (0..SENDERS)
        .map(|_| {
            let handle = lp.handle();
            let ran = ran.clone();
            thread::spawn(move || {
                for _ in 0..PER_SENDER {
                    let ran = ran.clone();
                    handle
                        .call_soon_threadsafe(move || {
                            ran.fetch_add(1, Ordering::Relaxed);
                        })
                        .unwrap();
                }
            })
        })
        .collect();
    lp.call_later(Duration::from_secs(120), stopper(&lp))
        .unwrap();
    let (first, r) = (lp.clone_ref(), ran.clone());
    lp.call_soon(move || chain(first, r)).unwrap();
    lp.run_forever().unwrap();
    for s in senders {
        s.join().unwrap();
    }
    assert_eq!(ran.load(Ordering::Relaxed), SENDERS * PER_SENDER);
    lp.close().unwrap();
}

/// Tasks whose last reference is a waker dropped on another thread, while the loop runs:
/// every task's state must still be dropped exactly once, on the loop's thread. An
/// unretrieved panic makes each drop visible (it is reported when the task goes).
#[test]
fn tasks_released_from_other_threads_are_all_dropped_on_the_loop_thread() {
    const HELD: usize = 4_000;
    const HOLDERS: usize = 4;
    let lp = aloop::new_event_loop();
    let reports = Arc::new(Mutex::new(Vec::new()));
    let r = reports.clone();
    lp.set_exception_handler(Some(move |_: &aloop::ExceptionContext| {
        r.lock().unwrap().push(thread::current().id());
    }));
    let (senders, holders): (Vec<_>, Vec<_>) = (0..HOLDERS)
        .map(|seed| {
            let (tx, rx) = std::sync::mpsc::channel::<std::task::Waker>();
            let holder = thread::spawn(move || {
                // Hold every waker until the tasks are done, then wake some (a no-op on
                // a finished task) and drop them all in a scrambled order.
                let mut kept: Vec<_> = rx.iter().collect();
                let mut rng = XorShift::new(seed as u64 + 1);
                while !kept.is_empty() {
                    let i = (rng.next_u64() % kept.len() as u64) as usize;
                    let w = kept.swap_remove(i);
                    if rng.next_u64() & 1 == 0 {
                        w.wake_by_ref();
                    }
                    drop(w);
                }
            });
            (tx, holder)
        })
        .unzip();
    let finished = Rc::new(Cell::new(0));
    for i in 0..HELD {
        let tx = senders[i % HOLDERS].clone();
        let finished = finished.clone();
        let t = lp.create_task(async move {
            std::future::poll_fn(|cx| {
                tx.send(cx.waker().clone()).unwrap();
                std::task::Poll::Ready(())
            })
            .await;
            yield_now().await;
            finished.set(finished.get() + 1);
            panic!("unretrieved {i}")
        });
        drop(t);
    }
    while finished.get() < HELD {
        lp.run_until_complete(yield_now()).unwrap();
    }
    // Every task is done and the loop holds none of them: the holders' wakers are the
    // last references. Release them while the loop runs and takes the cells sent home.
    assert!(lp.all_tasks().is_empty());
    assert!(reports.lock().unwrap().is_empty());
    drop(senders);
    let deadline = Instant::now() + Duration::from_secs(20);
    while reports.lock().unwrap().len() < HELD && Instant::now() < deadline {
        lp.run_until_complete(aloop::sleep(Duration::from_millis(1)))
            .unwrap();
    }
    for holder in holders {
        holder.join().unwrap();
    }
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), HELD);
    assert!(reports.iter().all(|id| *id == thread::current().id()));
}
