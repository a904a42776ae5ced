//! The blocking bridge on the loop (catalogue group G): `run_in_executor`, `to_thread`,
//! the default executor, and `LoopHandle::spawn` (run_coroutine_threadsafe).
//!
//! Hold as-is: G1, G4, G6, G8. Adapted: G3 (closures carry their arguments; no
//! contextvars in Rust), G7 (the type system only admits a `ThreadPoolExecutor`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aloop::{ExecutorError, ThreadPoolExecutor};

#[test]
fn g1_run_in_executor_submits_at_once_and_runs_on_a_worker() {
    let lp = aloop::new_event_loop();
    let started = Arc::new(AtomicBool::new(false));
    let s = started.clone();
    let main_thread = std::thread::current().id();
    let job = lp.run_in_executor(None, move || {
        s.store(true, Ordering::SeqCst);
        (
            21 * 2,
            std::thread::current().name().map(str::to_owned),
            std::thread::current().id(),
        )
    });
    // Submitted at creation: it runs even though nobody polled the future yet.
    for _ in 0..500 {
        if started.load(Ordering::SeqCst) {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(started.load(Ordering::SeqCst));
    let (value, name, thread) = lp.run_until_complete(job).unwrap().unwrap();
    assert_eq!(value, 42);
    assert!(name.unwrap().starts_with("aloop_"));
    assert_ne!(thread, main_thread);
}

/// Adapted: asyncio's `to_thread(f, *args, **kwargs)` copies contextvars; a Rust closure
/// captures what it needs, so `to_thread(move || f(a, b))` is the whole story.
#[test]
fn g3_to_thread_runs_a_closure_with_its_captures() {
    let (a, b) = (1, 2);
    let out = aloop::run(async move { aloop::to_thread(move || (a, b, a + b)).await });
    assert_eq!(out.unwrap(), (1, 2, 3));
}

#[test]
fn g4_cancelling_the_await_does_not_stop_a_running_function() {
    let finished = Arc::new(AtomicBool::new(false));
    let f = finished.clone();
    aloop::run(async move {
        let f2 = f.clone();
        let t = aloop::create_task(aloop::to_thread(move || {
            std::thread::sleep(Duration::from_millis(50));
            f2.store(true, Ordering::SeqCst);
        }));
        aloop::sleep(Duration::from_millis(10)).await;
        t.cancel();
        assert!(t.await.unwrap_err().is_cancelled());
        assert!(!f.load(Ordering::SeqCst), "the function is still running");
        aloop::sleep(Duration::from_millis(500)).await;
        assert!(f.load(Ordering::SeqCst), "and it finished on its own");
    });
    assert!(finished.load(Ordering::SeqCst));
}

#[test]
fn g6_run_waits_for_jobs_still_running_in_the_default_executor() {
    let finished = Arc::new(AtomicBool::new(false));
    let f = finished.clone();
    aloop::run(async move {
        let lp = aloop::get_running_loop().unwrap();
        // Never awaited.
        drop(lp.run_in_executor(None, move || {
            std::thread::sleep(Duration::from_millis(100));
            f.store(true, Ordering::SeqCst);
        }));
    });
    assert!(finished.load(Ordering::SeqCst));
}

/// Adapted: Python checks the executor's type at run time; here `set_default_executor`
/// takes a `ThreadPoolExecutor`, so the wrong kind cannot be passed at all.
#[test]
fn g7_set_default_executor_replaces_the_pool_used_for_none() {
    let lp = aloop::new_event_loop();
    let pool = ThreadPoolExecutor::builder()
        .thread_name_prefix("mine")
        .build()
        .unwrap();
    lp.set_default_executor(pool);
    let job = lp.run_in_executor(None, || std::thread::current().name().map(str::to_owned));
    let name = lp.run_until_complete(job).unwrap().unwrap();
    assert!(name.unwrap().starts_with("mine"));
}

#[test]
fn g8_spawn_from_another_thread_returns_a_blockable_future() {
    let lp = aloop::new_event_loop();
    let handle = lp.handle();
    let worker = std::thread::spawn(move || {
        let ok = handle
            .spawn(async {
                aloop::sleep(Duration::from_millis(10)).await;
                1 + 2
            })
            .unwrap()
            .wait();
        let bad = handle.spawn(async { panic!("k") }).unwrap().wait();
        handle.stop().unwrap();
        (ok, bad)
    });
    lp.run_forever().unwrap();
    let (ok, bad) = worker.join().unwrap();
    assert_eq!(ok.unwrap(), 3);
    match bad {
        Err(aloop::TaskError::Panicked(p)) => assert_eq!(p.message(), "k"),
        other => panic!("expected the panic to come back, got {other:?}"),
    }
}

#[test]
fn a_job_that_panics_comes_back_as_an_error_and_the_pool_serves_on() {
    let out = aloop::run(async {
        let bad = aloop::to_thread(|| -> u8 { panic!("job failed") }).await;
        let good = aloop::to_thread(|| 7u8).await;
        (bad, good)
    });
    assert!(matches!(out.0, Err(ExecutorError::Job(ref e)) if e.is_panic()));
    assert_eq!(out.1.unwrap(), 7);
}

#[test]
fn shutdown_default_executor_waits_without_blocking_the_loop() {
    let finished = Arc::new(AtomicBool::new(false));
    let f = finished.clone();
    aloop::run(async move {
        let lp = aloop::get_running_loop().unwrap();
        drop(lp.run_in_executor(None, move || {
            std::thread::sleep(Duration::from_millis(50));
            f.store(true, Ordering::SeqCst);
        }));
        // A timer keeps firing while the shutdown waits: the loop is not blocked.
        let ticks = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let t = ticks.clone();
        let ticker = aloop::create_task(async move {
            loop {
                aloop::sleep(Duration::from_millis(1)).await;
                t.fetch_add(1, Ordering::SeqCst);
            }
        });
        lp.shutdown_default_executor().await;
        assert!(finished.load(Ordering::SeqCst));
        assert!(ticks.load(Ordering::SeqCst) > 0);
        ticker.cancel();
    });
}
