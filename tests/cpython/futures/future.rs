//! `BaseFutureTests` of CPython's test_futures.py on `aloop::Promise` (and, for the
//! `wrap_future` tests, `aloop::JobFuture`). Sibling: `done_callback.rs`; the index is
//! `main.rs`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use aloop::{create_task, get_running_loop, Promise, PromiseError, ThreadPoolExecutor};
use aloop_tests::cpython::{tick, ticks};
use aloop_tests::{record_exceptions, Log};

/// A promise that may hold a failure: asyncio's future with `set_exception`.
type Fallible = Promise<Result<i32, &'static str>>;

fn fallible() -> Fallible {
    get_running_loop().unwrap().create_future()
}

/// Whether `set_result` and `set_exception` are both refused (InvalidStateError).
fn refuses_results(f: &Fallible) -> bool {
    f.set_result(Ok(0)).is_err() && f.set_result(Err("RuntimeError")).is_err()
}

#[aloop::test]
async fn futures_base_future_initial_state() {
    let f = fallible();
    assert!(!f.cancelled());
    assert!(!f.done());
    f.cancel();
    assert!(f.cancelled());
}

#[aloop::test]
async fn futures_base_future_cancel() {
    let f = fallible();
    assert!(f.cancel());
    assert!(f.cancelled());
    assert!(f.done());
    assert_eq!(f.result(), Err(PromiseError::Cancelled));
    assert!(refuses_results(&f));
    assert!(!f.cancel());
}

#[aloop::test]
async fn futures_base_future_result() {
    let f = fallible();
    assert!(matches!(f.result(), Err(PromiseError::InvalidState(_))));
    f.set_result(Ok(42)).unwrap();
    assert!(!f.cancelled());
    assert!(f.done());
    assert_eq!(f.result(), Ok(Ok(42)));
    assert!(refuses_results(&f));
    assert!(!f.cancel());
}

/// `set_exception(RuntimeError())` is `set_result(Err(..))`: `result()` gives the `Err`.
#[aloop::test]
async fn futures_base_future_exception() {
    let f = fallible();
    assert!(matches!(f.result(), Err(PromiseError::InvalidState(_))));
    f.set_result(Err("RuntimeError")).unwrap();
    assert!(!f.cancelled());
    assert!(f.done());
    assert_eq!(f.result(), Ok(Err("RuntimeError")));
    assert!(refuses_results(&f));
    assert!(!f.cancel());
}

/// Awaiting a future twice: the first await suspends until the result is set, the
/// second returns it at once, in the same step.
#[aloop::test]
async fn futures_base_future_yield_from_twice() {
    let f = get_running_loop().unwrap().create_future::<i32>();
    let log = Log::new();
    let (fut, l) = (f.clone(), log.clone());
    let task = create_task(async move {
        l.push("A");
        let x = fut.clone().await.unwrap();
        l.push(format!("B {x}"));
        let y = fut.await.unwrap();
        l.push(format!("C {y}"));
    });
    ticks(2).await;
    log.assert_eq(&["A"]);
    f.set_result(42).unwrap();
    tick().await;
    log.assert_eq(&["A", "B 42", "C 42"]);
    task.await.unwrap();
}

/// repr() text is Python's; the `Debug` form names the same states (the result is not
/// shown, as `T` need not be `Debug`, nor the callbacks, which are closures).
#[aloop::test]
async fn futures_base_future_future_repr() {
    let state = |f: &Fallible| format!("{f:?}");
    let pending = fallible();
    assert!(state(&pending).contains("pending"), "{}", state(&pending));
    let cancelled = fallible();
    cancelled.cancel();
    assert!(state(&cancelled).contains("cancelled"));
    let finished = fallible();
    finished.set_result(Ok(4)).unwrap();
    assert!(state(&finished).contains("done"));
    assert_eq!(finished.result(), Ok(Ok(4)));
    let failed = fallible();
    failed.set_result(Err("RuntimeError")).unwrap();
    assert!(state(&failed).contains("done"));
    let with_callbacks = fallible();
    with_callbacks.add_done_callback(|_| {});
    assert!(state(&with_callbacks).contains("pending"));
    with_callbacks.cancel();
    assert!(state(&with_callbacks).contains("cancelled"));
}

/// Drops `make()`'s promise after a few loop iterations and returns what the exception
/// handler received meanwhile (asyncio's `m_log.error` calls).
async fn reports_after_dropping(make: impl FnOnce() -> Fallible) -> Vec<String> {
    let log = Log::new();
    record_exceptions(&get_running_loop().unwrap(), &log);
    drop(make());
    ticks(3).await;
    log.events()
}

#[aloop::test]
async fn futures_base_future_tb_logger_abandoned() {
    assert!(reports_after_dropping(fallible).await.is_empty());
}

#[aloop::test]
async fn futures_base_future_tb_logger_not_called_after_cancel() {
    let reports = reports_after_dropping(|| {
        let f = fallible();
        f.set_result(Err("Exception")).unwrap();
        assert!(!f.cancel());
        f
    });
    assert!(reports.await.is_empty());
}

#[aloop::test]
async fn futures_base_future_tb_logger_result_unretrieved() {
    let reports = reports_after_dropping(|| {
        let f = fallible();
        f.set_result(Ok(42)).unwrap();
        f
    });
    assert!(reports.await.is_empty());
}

#[aloop::test]
async fn futures_base_future_tb_logger_result_retrieved() {
    let reports = reports_after_dropping(|| {
        let f = fallible();
        f.set_result(Ok(42)).unwrap();
        assert_eq!(f.result(), Ok(Ok(42)));
        f
    });
    assert!(reports.await.is_empty());
}

/// Deliberate difference (B12): a failure in a promise is a plain value, so dropping it
/// unread reports nothing (asyncio logs "Future exception was never retrieved").
#[aloop::test]
async fn futures_base_future_tb_logger_exception_unretrieved() {
    let reports = reports_after_dropping(|| {
        let f = fallible();
        f.set_result(Err("RuntimeError")).unwrap();
        f
    });
    assert!(reports.await.is_empty());
}

#[aloop::test]
async fn futures_base_future_tb_logger_exception_retrieved() {
    let reports = reports_after_dropping(|| {
        let f = fallible();
        f.set_result(Err("RuntimeError")).unwrap();
        assert_eq!(f.result(), Ok(Err("RuntimeError")));
        f
    });
    assert!(reports.await.is_empty());
}

#[aloop::test]
async fn futures_base_future_tb_logger_exception_result_retrieved() {
    let reports = reports_after_dropping(|| {
        let f = fallible();
        f.set_result(Err("RuntimeError")).unwrap();
        assert!(f.result().unwrap().is_err());
        f
    });
    assert!(reports.await.is_empty());
}

/// A job of a thread pool, awaited on the loop, runs on another thread.
#[aloop::test]
async fn futures_base_future_wrap_future() {
    let ex = ThreadPoolExecutor::new(1).unwrap();
    let job = ex.submit(|| ("oi", std::thread::current().id())).unwrap();
    let (res, ident) = job.await.unwrap();
    assert_eq!(res, "oi");
    assert_ne!(ident, std::thread::current().id());
    ex.shutdown(true, false);
}

/// Cancelling the task that awaits a job which has not started cancels the job: it never
/// runs (asyncio: cancelling the wrapper cancels the concurrent future).
#[aloop::test]
async fn futures_base_future_wrap_future_cancel() {
    let ex = ThreadPoolExecutor::new(1).unwrap();
    let (release, gate) = mpsc::channel::<()>();
    let busy = ex.submit(move || gate.recv().is_ok()).unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let r = ran.clone();
    let job = ex.submit(move || r.store(true, Ordering::SeqCst)).unwrap();
    let waiter = create_task(job);
    tick().await; // the waiter has awaited the job
    waiter.cancel();
    assert!(waiter.await.unwrap_err().is_cancelled());
    release.send(()).unwrap();
    assert!(busy.await.unwrap());
    ex.shutdown(true, false);
    assert!(!ran.load(Ordering::SeqCst));
}

/// A job that already finished is not cancelled by a cancel (it keeps its result), and
/// the task that was to await it ends cancelled all the same.
#[aloop::test]
async fn futures_base_future_wrap_future_cancel2() {
    let ex = ThreadPoolExecutor::new(1).unwrap();
    let job = ex.submit(|| 42).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !job.done() {
        assert!(Instant::now() < deadline, "the job did not finish");
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(!job.cancel());
    assert!(!job.cancelled());
    let waiter = create_task(job);
    waiter.cancel();
    assert!(waiter.await.unwrap_err().is_cancelled());
    ex.shutdown(true, false);
}

/// asyncio's private `_set_result_unless_cancelled`: a result offered to a cancelled
/// future is refused and the future stays cancelled.
#[aloop::test]
async fn futures_base_future_set_result_unless_cancelled() {
    let f = fallible();
    f.cancel();
    assert!(f.set_result(Ok(2)).is_err());
    assert!(f.cancelled());
}

/// Deliberate difference (B12), as `test_tb_logger_exception_unretrieved`: asyncio logs
/// the never-retrieved exception once; aloop reports nothing, in debug mode or not.
async fn exception_never_retrieved(debug: bool) {
    get_running_loop().unwrap().set_debug(debug);
    let reports = reports_after_dropping(|| {
        let f = fallible();
        f.set_result(Err("MemoryError")).unwrap();
        f
    });
    assert!(reports.await.is_empty());
}

#[aloop::test]
async fn futures_base_future_future_exception_never_retrieved() {
    exception_never_retrieved(false).await;
}

#[aloop::test]
async fn futures_base_future_future_exception_never_retrieved_debug() {
    exception_never_retrieved(true).await;
}
