//! `EventLoopTestsMixin` of test_events.py on running and stopping the loop,
//! `call_soon` / `call_later` / `call_soon_threadsafe`, `run_in_executor`, the number
//! of iterations short sleeps take, and what a closed loop refuses. Neighbours:
//! `fds.rs`, `signals.rs`, `connections.rs`.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aloop::{new_event_loop, CloseRunningLoop, LoopClosed, RunError};
use aloop_tests::{record_exceptions, stopper, Log};

use super::bounded;

/// The clock resolution CPython's timing tests allow for (`test_utils.CLOCK_RES`).
const CLOCK_RES: Duration = Duration::from_millis(20);

/// `run_until_complete` from inside the running loop is refused (the future given to it
/// is dropped unpolled: asyncio's "coroutine was never awaited" warning).
#[test]
fn events_event_loop_run_until_complete_nesting() {
    let lp = new_event_loop();
    let inner = lp.clone_ref();
    let r = lp
        .run_until_complete(async move {
            assert!(inner.is_running());
            inner.run_until_complete(aloop::sleep(Duration::ZERO))
        })
        .unwrap();
    assert!(matches!(r, Err(RunError::AlreadyRunning)), "{r:?}");
}

/// `run_until_complete(sleep(0.1))` takes at least 0.1 s of the loop's clock.
#[test]
fn events_event_loop_run_until_complete() {
    bounded(30, || {
        let lp = new_event_loop();
        let delay = Duration::from_millis(100);
        let t0 = lp.time();
        lp.run_until_complete(aloop::sleep(delay)).unwrap();
        let dt = lp.time() - t0;
        assert!(dt + CLOCK_RES >= delay, "{dt:?}");
    });
}

/// `stop()` from the future given to `run_until_complete` ends it before the future
/// finishes: an error (asyncio: `RuntimeError`).
#[test]
fn events_event_loop_run_until_complete_stopped() {
    bounded(30, || {
        let lp = new_event_loop();
        let inner = lp.clone_ref();
        let r = lp.run_until_complete(async move {
            inner.stop();
            aloop::sleep(Duration::from_millis(100)).await;
        });
        assert!(matches!(r, Err(RunError::Stopped)), "{r:?}");
    });
}

/// `call_later(0.1, callback, 'hello world')`: the closure carries the argument.
#[test]
fn events_event_loop_call_later() {
    bounded(30, || {
        let lp = new_event_loop();
        let results = Log::new();
        let (r, stop) = (results.clone(), stopper(&lp));
        lp.call_later(Duration::from_millis(100), move || {
            r.push("hello world");
            stop();
        })
        .unwrap();
        lp.run_forever().unwrap();
        results.assert_eq(&["hello world"]);
    });
}

/// `call_soon(callback, 'hello', 'world')`.
#[test]
fn events_event_loop_call_soon() {
    let lp = new_event_loop();
    let results = Rc::new(RefCell::new(Vec::new()));
    let (r, stop) = (results.clone(), stopper(&lp));
    let callback = move |arg1: &str, arg2: &str| {
        r.borrow_mut().push((arg1.to_owned(), arg2.to_owned()));
        stop();
    };
    lp.call_soon(move || callback("hello", "world")).unwrap();
    lp.run_forever().unwrap();
    assert_eq!(
        *results.borrow(),
        [("hello".to_owned(), "world".to_owned())]
    );
}

/// A callback recording its argument and stopping the loop at the second call, shared
/// by the two threadsafe tests (it must be `Send` for `call_soon_threadsafe`).
fn threadsafe_callback(
    results: &Arc<Mutex<Vec<&'static str>>>,
    handle: &aloop::LoopHandle,
) -> impl Fn(&'static str) + Send + Clone + 'static {
    let (results, handle) = (results.clone(), handle.clone());
    move |arg| {
        let mut r = results.lock().unwrap();
        r.push(arg);
        if r.len() >= 2 {
            handle.stop().unwrap();
        }
    }
}

/// A thread's `call_soon_threadsafe` made before the loop's own `call_soon` runs first.
#[test]
fn events_event_loop_call_soon_threadsafe() {
    bounded(30, || {
        let lp = new_event_loop();
        let results = Arc::new(Mutex::new(Vec::new()));
        let handle = lp.handle();
        let callback = threadsafe_callback(&results, &handle);
        let from_thread = callback.clone();
        std::thread::spawn(move || {
            handle
                .call_soon_threadsafe(move || from_thread("hello"))
                .unwrap();
        })
        .join()
        .unwrap();
        lp.call_soon(move || callback("world")).unwrap();
        lp.run_forever().unwrap();
        assert_eq!(*results.lock().unwrap(), ["hello", "world"]);
    });
}

/// `call_soon_threadsafe` from the loop's own thread keeps its place before a later
/// `call_soon`.
#[test]
fn events_event_loop_call_soon_threadsafe_same_thread() {
    bounded(30, || {
        let lp = new_event_loop();
        let results = Arc::new(Mutex::new(Vec::new()));
        let handle = lp.handle();
        let callback = threadsafe_callback(&results, &handle);
        let first = callback.clone();
        handle.call_soon_threadsafe(move || first("hello")).unwrap();
        lp.call_soon(move || callback("world")).unwrap();
        lp.run_forever().unwrap();
        assert_eq!(*results.lock().unwrap(), ["hello", "world"]);
    });
}

/// `run_in_executor(None, run, 'yo')` runs on another thread and returns its value.
#[test]
fn events_event_loop_run_in_executor() {
    let lp = new_event_loop();
    let run = |arg: &'static str| (arg, std::thread::current().id());
    let job = lp.run_in_executor(None, move || run("yo"));
    let (res, thread_id) = lp.run_until_complete(job).unwrap().unwrap();
    assert_eq!(res, "yo");
    assert_ne!(thread_id, std::thread::current().id());
}

/// A job whose future is given up, then the default executor shut down and the loop
/// closed: nothing reaches the loop afterwards. *Difference*: asyncio's `f2.cancel()`
/// cancels the asyncio future (the job itself still runs); a `RunInExecutor` dropped
/// without being awaited leaves its job to run, fire and forget (G4). CPython patches
/// `call_soon` to see that no callback comes back; here no exception reaches the
/// handler and the job ran to its end before the shutdown returned.
#[test]
fn events_event_loop_run_in_executor_cancel() {
    bounded(30, || {
        let lp = new_event_loop();
        let log = Log::new();
        record_exceptions(&lp, &log);
        let finished = Arc::new(AtomicBool::new(false));
        let f = finished.clone();
        let job = lp.run_in_executor(None, move || {
            std::thread::sleep(Duration::from_millis(50));
            f.store(true, Ordering::SeqCst);
        });
        drop(job);
        let lp2 = lp.clone_ref();
        lp.run_until_complete(async move { lp2.shutdown_default_executor().await })
            .unwrap();
        assert!(finished.load(Ordering::SeqCst));
        lp.close().unwrap();
        std::thread::sleep(Duration::from_millis(100));
        assert!(log.is_empty(), "{:?}", log.events());
    });
}

/// Sleeps of 10 ms down to 0.1 ns take few iterations: the loop does not spin on a
/// deadline its poller's timeout rounds down to zero. CPython counts `_run_once` calls
/// (ideally 12, at most 20); aloop counts them in `metrics().iterations`.
#[test]
fn events_event_loop_timeout_rounding() {
    bounded(30, || {
        let lp = new_event_loop();
        let before = lp.metrics().iterations;
        lp.run_until_complete(async {
            for ns in [10_000_000, 100_000, 1_000, 10, 0] {
                aloop::sleep(Duration::from_nanos(ns)).await;
            }
        })
        .unwrap();
        let iterations = lp.metrics().iterations - before;
        assert!(iterations <= 20, "{iterations} iterations");
    });
}

/// `close()` from a task of the running loop is refused.
#[test]
fn events_event_loop_close_running_event_loop() {
    let lp = new_event_loop();
    let inner = lp.clone_ref();
    let r = lp.run_until_complete(async move { inner.close() }).unwrap();
    assert_eq!(r, Err(CloseRunningLoop));
    assert!(!lp.is_closed());
}

/// A closed loop refuses everything: running, `call_soon`, `call_soon_threadsafe`,
/// `call_later`, `call_at`, `add_signal_handler` (`LoopClosed` for each).
/// *Difference*: `create_task` returns a task already cancelled instead of raising,
/// and `run_in_executor(None, ..)` a future that fails with `Submit(Shutdown)` (the
/// default pool was shut down by `close()`) instead of raising when iterated; the job
/// never runs.
#[test]
fn events_event_loop_close() {
    let lp = new_event_loop();
    lp.close().unwrap();
    assert!(matches!(lp.run_forever(), Err(RunError::Closed)));
    let fut = lp.create_future::<()>();
    assert!(matches!(lp.run_until_complete(fut), Err(RunError::Closed)));
    assert_eq!(lp.call_soon(|| ()).map(|_| ()), Err(LoopClosed));
    assert_eq!(lp.handle().call_soon_threadsafe(|| ()), Err(LoopClosed));
    assert_eq!(
        lp.call_later(Duration::from_secs(1), || ()).map(|_| ()),
        Err(LoopClosed)
    );
    assert_eq!(lp.call_at(lp.time(), || ()).map(|_| ()), Err(LoopClosed));
    let task = lp.create_task(async {});
    assert!(task.cancelled());
    let r = lp.add_signal_handler(aloop::signal::SIGTERM, || ());
    assert!(
        matches!(r, Err(aloop::SignalHandlerError::Closed(LoopClosed))),
        "{r:?}"
    );
    let ran = Arc::new(AtomicBool::new(false));
    let r2 = ran.clone();
    let job = lp.run_in_executor(None, move || r2.store(true, Ordering::SeqCst));
    // The closed loop cannot run it; a `RunInExecutor` is bound to no loop.
    let other = new_event_loop();
    let r = other.run_until_complete(job).unwrap();
    assert!(
        matches!(
            r,
            Err(aloop::ExecutorError::Submit(aloop::SubmitError::Shutdown))
        ),
        "{r:?}"
    );
    std::thread::sleep(Duration::from_millis(50));
    assert!(!ran.load(Ordering::SeqCst));
}
