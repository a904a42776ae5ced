//! The "Core loop" issue's "Must show" list, where no catalogue entry covers it already,
//! plus findings the conformance tests led to.
//!
//! Covered elsewhere: stop() lets the ready batch finish (a8), a task starts on the next
//! iteration (c1, c2), cancelling forwards to the awaited task (c17), promise done
//! callbacks in order (b5), callback panic to the handler (a17), call_soon_threadsafe
//! wakes a far timer (a16), running a closed loop (a15), re-entrant run from a task
//! (a13), setting a result twice (b2), get_running_loop outside a loop (a20).
//!
//! Regression tests for bugs these tests found (now fixed): a task's pinned future was
//! moved before it was dropped (on cancel and on close), and a task woke its awaiter ahead
//! of done callbacks registered earlier.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use aloop::{CloseRunningLoop, RunError, TaskError};
use aloop_tests::combinators::until;
use aloop_tests::{record_exceptions, stopper, Log};

#[test]
fn run_until_complete_returns_the_value_and_leaves_the_loop_reusable() {
    let lp = aloop::new_event_loop();
    assert_eq!(lp.run_until_complete(async { 1 }).unwrap(), 1);
    assert_eq!(lp.run_until_complete(async { "two" }).unwrap(), "two");
    // Even a failed run leaves the loop usable.
    let failed = lp.run_until_complete(async { panic!("first run fails") });
    assert!(matches!(
        failed,
        Err(RunError::Task(TaskError::Panicked(_)))
    ));
    let log = Log::new();
    lp.call_soon(log.pusher("callback after three runs"))
        .unwrap();
    lp.call_soon(stopper(&lp)).unwrap();
    lp.run_forever().unwrap();
    assert!(!lp.is_running() && !lp.is_closed());
    let t = lp.create_task(async { 3 });
    assert_eq!(lp.run_until_complete(t).unwrap().unwrap(), 3);
    lp.close().unwrap();
    log.assert_eq(&["callback after three runs"]);
}

#[test]
fn a_task_created_before_the_loop_runs_starts_in_its_first_iteration_in_fifo_order() {
    let lp = aloop::new_event_loop();
    let log = Log::new();
    lp.call_soon(log.pusher("callback before")).unwrap();
    let task_log = log.clone();
    let t = lp.create_task(async move { task_log.push("task step") });
    lp.call_soon(log.pusher("callback after")).unwrap();
    lp.call_soon(stopper(&lp)).unwrap();
    assert!(
        !t.done() && log.is_empty(),
        "create_task must not run the future"
    );
    lp.run_forever().unwrap();
    assert!(t.done());
    lp.close().unwrap();
    log.assert_eq(&["callback before", "task step", "callback after"]);
}

#[test]
fn cancelling_an_awaiting_task_cancels_the_inner_one_unless_shielded() {
    let log = Log::new();
    let log2 = log.clone();
    aloop::run(async move {
        let inner = aloop::create_task(aloop::sleep(Duration::from_secs(3600)));
        let inner_view = inner.as_any();
        // Written out (not `create_task(inner)`) to read as "a task awaiting a task".
        #[allow(clippy::redundant_async_block)]
        let outer = aloop::create_task(async move { inner.await });
        aloop::sleep(Duration::ZERO).await;
        outer.cancel();
        assert!(outer.await.unwrap_err().is_cancelled());
        until(|| inner_view.done()).await;
        log2.push(format!(
            "unshielded inner cancelled: {}",
            inner_view.cancelled()
        ));

        // The shielded task waits on a promise (not a timer), so that it is still
        // pending when checked, however slowly a loaded machine runs the loop.
        let release = aloop::get_running_loop().unwrap().create_future::<()>();
        let released = release.clone();
        let shielded = aloop::create_task(async move {
            released.await.unwrap();
            "inner finished"
        });
        let result_log = log2.clone();
        shielded.add_done_callback(move |t| {
            result_log.push(format!("shielded inner: {:?}", t.result().unwrap()));
        });
        let shielded_view = shielded.as_any();
        let outer = aloop::create_task(aloop::shield(shielded));
        aloop::sleep(Duration::ZERO).await;
        outer.cancel();
        assert!(outer.await.unwrap_err().is_cancelled());
        log2.push(format!(
            "after outer cancelled, inner done: {}",
            shielded_view.done()
        ));
        release.set_result(()).unwrap();
        until(|| shielded_view.done()).await;
        aloop::sleep(Duration::ZERO).await; // let its done callback run
    });
    log.assert_eq(&[
        "unshielded inner cancelled: true",
        "after outer cancelled, inner done: false",
        "shielded inner: Ok(\"inner finished\")",
    ]);
}

#[test]
fn task_done_callbacks_run_in_registration_order() {
    let log = Log::new();
    let log2 = log.clone();
    aloop::run(async move {
        let t = aloop::create_task(async {
            aloop::sleep(Duration::ZERO).await;
            7
        });
        let mut ids = Vec::new();
        for name in ["cb1", "cb2", "cb3", "cb4"] {
            let log = log2.clone();
            ids.push(t.add_done_callback(move |t| {
                log.push(format!("{name} sees {:?}", t.result().unwrap()))
            }));
        }
        assert!(t.remove_done_callback(ids[2]));
        assert!(
            !t.remove_done_callback(ids[2]),
            "removing twice finds nothing"
        );
        let view = t.as_any();
        until(|| view.done()).await;
        aloop::sleep(Duration::ZERO).await;
        // On a done task, the callback is scheduled, not called inline.
        let log = log2.clone();
        t.add_done_callback(move |_| log.push("late callback"));
        log2.push("late callback added");
        aloop::sleep(Duration::ZERO).await;
    });
    log.assert_eq(&[
        "cb1 sees Ok(7)",
        "cb2 sees Ok(7)",
        "cb4 sees Ok(7)",
        "late callback added",
        "late callback",
    ]);
}

#[test]
fn panics_in_a_callback_and_a_task_reach_the_handler_and_the_loop_runs_on() {
    let lp = aloop::new_event_loop();
    let log = Log::new();
    record_exceptions(&lp, &log);
    lp.call_soon(|| panic!("callback boom")).unwrap();
    let t = lp.create_task(async { panic!("task boom") });
    t.set_name("t");
    drop(t); // nobody will retrieve the panic: it goes to the handler
    lp.call_later(Duration::from_millis(5), log.pusher("still running"))
        .unwrap();
    lp.call_later(Duration::from_millis(10), stopper(&lp))
        .unwrap();
    lp.run_forever().unwrap();
    lp.close().unwrap();
    let mut events = log.events();
    assert_eq!(events.pop().as_deref(), Some("still running"));
    events.sort();
    assert_eq!(
        events,
        [
            "handler: Exception in callback: panicked: callback boom",
            "handler: Task exception was never retrieved (task t): panicked: task boom",
        ]
    );
}

/// A task's state (here: its unretrieved panic) goes when the last reference does, and
/// on the loop's thread even when that last reference is a waker dropped on another
/// thread: the report waits for the waker, then arrives through the loop.
#[test]
fn a_task_whose_last_waker_dies_on_another_thread_is_reported_on_the_loop_thread() {
    let lp = aloop::new_event_loop();
    let reports = Arc::new(Mutex::new(Vec::new()));
    let r = reports.clone();
    lp.set_exception_handler(Some(move |ctx: &aloop::ExceptionContext| {
        r.lock()
            .unwrap()
            .push((ctx.to_string(), std::thread::current().id()));
    }));
    let (waker_tx, waker_rx) = mpsc::channel::<std::task::Waker>();
    let (drop_tx, drop_rx) = mpsc::channel::<()>();
    let holder = std::thread::spawn(move || {
        let waker = waker_rx.recv().unwrap();
        drop_rx.recv().unwrap();
        drop(waker);
    });
    let t = lp.create_task(async move {
        std::future::poll_fn(|cx| {
            waker_tx.send(cx.waker().clone()).unwrap();
            Poll::Ready(())
        })
        .await;
        panic!("task boom")
    });
    t.set_name("held");
    drop(t);
    lp.run_until_complete(aloop::sleep(Duration::from_millis(5)))
        .unwrap();
    // The task is done and unreferenced on the loop's side; the other thread's waker
    // still holds it, so nothing was reported yet.
    assert!(reports.lock().unwrap().is_empty());
    drop_tx.send(()).unwrap();
    holder.join().unwrap();
    lp.run_until_complete(aloop::sleep(Duration::from_millis(5)))
        .unwrap();
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(
        reports[0].0,
        "Task exception was never retrieved (task held): panicked: task boom"
    );
    assert_eq!(reports[0].1, std::thread::current().id());
}

#[test]
fn running_the_loop_from_inside_a_callback_is_already_running() {
    let lp = aloop::new_event_loop();
    let errors: Rc<Cell<Option<(RunError, RunError)>>> = Rc::default();
    {
        let (lp2, errors) = (lp.clone_ref(), errors.clone());
        lp.call_soon(move || {
            let e1 = lp2.run_forever().unwrap_err();
            let e2 = lp2.run_until_complete(async {}).unwrap_err();
            errors.set(Some((e1, e2)));
            lp2.stop();
        })
        .unwrap();
    }
    lp.run_forever().unwrap();
    let (e1, e2) = errors.take().expect("the callback ran");
    for e in [e1, e2] {
        assert!(matches!(e, RunError::AlreadyRunning), "{e:?}");
        assert_eq!(e.to_string(), "This event loop is already running");
    }
    lp.close().unwrap();
}

#[test]
fn misuse_gives_typed_errors_that_say_what_happened() {
    // Closing a running loop.
    let lp = aloop::new_event_loop();
    let lp2 = lp.clone_ref();
    let e = lp
        .run_until_complete(async move { lp2.close() })
        .unwrap()
        .unwrap_err();
    assert_eq!(e, CloseRunningLoop);
    assert_eq!(e.to_string(), "Cannot close a running event loop");
    // Running a second loop while one runs on this thread.
    let other = aloop::new_event_loop();
    let other2 = other.clone_ref();
    let e = lp
        .run_until_complete(async move { other2.run_forever() })
        .unwrap()
        .unwrap_err();
    assert!(matches!(e, RunError::AnotherLoopRunning), "{e:?}");
    assert_eq!(
        e.to_string(),
        "Cannot run the event loop while another loop is running"
    );
    let e = aloop::try_run(async { aloop::try_run(async {}) })
        .unwrap()
        .unwrap_err();
    assert!(matches!(e, RunError::AnotherLoopRunning), "{e:?}");
    // stop() before the future finished.
    lp.call_soon(stopper(&lp)).unwrap();
    let e = lp
        .run_until_complete(aloop::sleep(Duration::from_secs(3600)))
        .unwrap_err();
    assert!(matches!(e, RunError::Stopped), "{e:?}");
    assert_eq!(e.to_string(), "Event loop stopped before Future completed.");
    // Running a closed loop.
    lp.close().unwrap();
    let e = lp.run_until_complete(async {}).unwrap_err();
    assert!(matches!(e, RunError::Closed), "{e:?}");
    assert_eq!(e.to_string(), "Event loop is closed");
    other.close().unwrap();
}

/// Asyncio runs a task's done callbacks and its awaiter's wakeup in registration order (the
/// wakeup is a done callback too), so a callback added before `await t` runs first and
/// sees the result: Python prints "cb 1" then "awaited 1".
#[test]

fn task_done_callback_registered_before_await_runs_before_the_awaiter() {
    let log = Log::new();
    let log2 = log.clone();
    aloop::run(async move {
        let t = aloop::create_task(async {
            aloop::sleep(Duration::ZERO).await;
            1
        });
        let cb_log = log2.clone();
        t.add_done_callback(move |t| cb_log.push(format!("cb {:?}", t.result())));
        let v = t.await.unwrap();
        log2.push(format!("awaited {v}"));
        aloop::sleep(Duration::ZERO).await;
    });
    log.assert_eq(&["cb Ok(Ok(1))", "awaited 1"]);
}

/// The other order: a task already awaiting `t` when a callback is added is woken first.
/// Python (`asyncio.sleep(0.01, 1)` awaited by a second task, then `add_done_callback`)
/// prints `['awaited 1', 'cb 1']`.
#[test]
fn an_awaiter_registered_before_a_done_callback_is_woken_first() {
    let log = Log::new();
    let log2 = log.clone();
    aloop::run(async move {
        let t = Rc::new(RefCell::new(aloop::create_task(async {
            aloop::sleep(Duration::from_millis(10)).await;
            1
        })));
        let (t2, wlog) = (t.clone(), log2.clone());
        // Borrowed only inside each poll, so the main task can add a callback between.
        let waiter = aloop::create_task(async move {
            let v = std::future::poll_fn(|cx| Pin::new(&mut *t2.borrow_mut()).poll(cx)).await;
            wlog.push(format!("awaited {}", v.unwrap()));
        });
        aloop::sleep(Duration::ZERO).await; // the waiter now awaits `t`
        let cb_log = log2.clone();
        t.borrow()
            .add_done_callback(move |t| cb_log.push(format!("cb {:?}", t.done())));
        waiter.await.unwrap();
        aloop::sleep(Duration::ZERO).await;
    });
    log.assert_eq(&["awaited 1", "cb true"]);
}

/// A `!Unpin` future that records where it was polled and where it is dropped.
struct AddressCheck {
    polled_at: Cell<usize>,
    seen: Rc<Cell<Option<(usize, usize)>>>,
    _pinned: PhantomPinned,
}

impl Future for AddressCheck {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        self.polled_at.set(&*self as *const Self as usize);
        Poll::Pending // never woken: only cancellation ends it
    }
}

impl Drop for AddressCheck {
    fn drop(&mut self) {
        self.seen
            .set(Some((self.polled_at.get(), self as *const Self as usize)));
    }
}

/// Pin's contract: a pinned future is dropped where it was pinned. Breaking it is
/// undefined behaviour for self-referential futures (any `async` block holding a borrow
/// of its own local across an `await`): such a task cancelled while suspended crashed
/// with SIGSEGV in a destructor that used the borrow.
#[test]

fn cancelled_task_future_is_dropped_where_it_was_pinned() {
    let seen: Rc<Cell<Option<(usize, usize)>>> = Rc::default();
    let seen2 = seen.clone();
    aloop::run(async move {
        let t = aloop::create_task(AddressCheck {
            polled_at: Cell::new(0),
            seen: seen2,
            _pinned: PhantomPinned,
        });
        aloop::sleep(Duration::ZERO).await;
        t.cancel();
        assert!(t.await.unwrap_err().is_cancelled());
    });
    let (polled_at, dropped_at) = seen.get().expect("the future was dropped");
    assert_ne!(polled_at, 0, "the future was polled");
    assert_eq!(polled_at, dropped_at, "the pinned future moved before drop");
}

/// The same contract on the other path that drops an unfinished task: closing the loop.
#[test]

fn task_future_dropped_by_close_is_dropped_where_it_was_pinned() {
    let seen: Rc<Cell<Option<(usize, usize)>>> = Rc::default();
    let lp = aloop::new_event_loop();
    let t = lp.create_task(AddressCheck {
        polled_at: Cell::new(0),
        seen: seen.clone(),
        _pinned: PhantomPinned,
    });
    lp.call_soon(stopper(&lp)).unwrap();
    lp.run_forever().unwrap(); // one iteration: the task is polled once
    lp.close().unwrap();
    assert!(t.cancelled());
    let (polled_at, dropped_at) = seen.get().expect("close dropped the future");
    assert_ne!(polled_at, 0, "the future was polled");
    assert_eq!(polled_at, dropped_at, "the pinned future moved before drop");
}

/// A timer cancelled after it became due, by a callback running earlier in the same
/// batch, does not run (asyncio checks `_cancelled` when the batch reaches the handle).
#[test]
fn a_due_timer_cancelled_earlier_in_its_batch_does_not_run() {
    let lp = aloop::new_event_loop();
    let log = Log::new();
    let when = lp.time() + Duration::from_millis(5);
    let victim: Rc<Cell<Option<aloop::TimerHandle>>> = Rc::default();
    {
        let (log, victim) = (log.clone(), victim.clone());
        lp.call_at(when, move || {
            log.push("first cancels second");
            victim.take().unwrap().cancel();
        })
        .unwrap();
    }
    victim.set(Some(lp.call_at(when, log.pusher("second: never")).unwrap()));
    lp.call_at(when + Duration::from_millis(20), stopper(&lp))
        .unwrap();
    lp.run_forever().unwrap();
    lp.close().unwrap();
    log.assert_eq(&["first cancels second"]);
}

/// A `spawn` whose loop closes before running it reports `Cancelled` instead of leaving
/// the waiting thread blocked forever.
#[test]
fn threadsafe_spawn_on_a_loop_that_closes_unrun_reports_cancelled() {
    let lp = aloop::new_event_loop();
    let fut = lp.handle().spawn(async { 1 }).unwrap();
    lp.close().unwrap();
    match fut.wait_timeout(Duration::from_secs(10)) {
        Ok(outcome) => assert!(outcome.unwrap_err().is_cancelled()),
        Err(_) => panic!("the waiter was never told"),
    }
}

/// A value whose `Clone` panics, to show that looking at a task's result never loses it.
#[derive(Debug)]
struct CloneBomb(u32);

impl Clone for CloneBomb {
    fn clone(&self) -> Self {
        panic!("clone bomb")
    }
}

#[test]
fn a_panicking_clone_in_result_keeps_the_outcome() {
    let lp = aloop::new_event_loop();
    let t = lp.create_task(async { CloneBomb(7) });
    lp.run_until_complete(aloop::sleep(Duration::ZERO)).unwrap();
    assert!(t.done());
    let looked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| t.result()));
    assert!(looked.is_err());
    // The outcome is still there for whoever takes it.
    assert_eq!(t.take_result().unwrap().unwrap().0, 7);
}
