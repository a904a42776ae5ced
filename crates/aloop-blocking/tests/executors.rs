//! `JobFuture` under several executors: tokio (current-thread and
//! multi-thread), futures-executor, and a plain thread blocking on it.
#![cfg(not(loom))]

use std::sync::mpsc;
use std::time::Duration;

use aloop_blocking::{JobError, ThreadPoolExecutor};
use futures_util::task::LocalSpawnExt;

#[test]
fn awaited_under_tokio_current_thread() {
    let pool = ThreadPoolExecutor::new(4).expect("pool");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let sum = rt.block_on(async {
        let futs: Vec<_> = (0..100u64)
            .map(|i| pool.submit(move || i).expect("submit"))
            .collect();
        let mut sum = 0;
        for f in futs {
            sum += f.await.expect("job");
        }
        sum
    });
    assert_eq!(sum, (0..100).sum::<u64>());
}

#[test]
fn awaited_under_tokio_multi_thread_with_spawned_tasks() {
    let pool = ThreadPoolExecutor::new(4).expect("pool");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("rt");
    let out = rt.block_on(async {
        let tasks: Vec<_> = (0..64usize)
            .map(|i| {
                let fut = pool.submit(move || i * 2).expect("submit");
                tokio::spawn(fut) // JobFuture is Send: it can move to any tokio worker
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("task").expect("job"));
        }
        out
    });
    assert_eq!(out, (0..64).map(|i| i * 2).collect::<Vec<_>>());
}

#[test]
fn a_pending_job_wakes_the_tokio_task() {
    let pool = ThreadPoolExecutor::new(1).expect("pool");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let (release, gate) = mpsc::channel::<()>();
    let fut = pool
        .submit(move || {
            let _ = gate.recv();
            "woken"
        })
        .expect("submit");
    let out = rt.block_on(async move {
        let releaser = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            let _ = release.send(());
        });
        let r = tokio::time::timeout(Duration::from_secs(30), fut).await;
        let _ = releaser.join();
        r
    });
    assert_eq!(out.expect("not woken in time").expect("job"), "woken");
}

#[test]
fn a_panic_surfaces_as_an_error_under_tokio() {
    let pool = ThreadPoolExecutor::new(1).expect("pool");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("rt");
    let r = rt.block_on(
        pool.submit(|| -> u8 { panic!("in tokio") })
            .expect("submit"),
    );
    assert_eq!(r.unwrap_err().panic_message(), Some("in tokio"));
}

#[test]
fn tokio_select_dropping_the_future_cancels_a_queued_job() {
    let pool = ThreadPoolExecutor::new(1).expect("pool");
    let (release, gate) = mpsc::channel::<()>();
    let blocker = pool.submit(move || gate.recv().is_ok()).expect("submit");
    let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let r = std::sync::Arc::clone(&ran);
    let queued = pool
        .submit(move || r.store(true, std::sync::atomic::Ordering::SeqCst))
        .expect("submit");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let timed_out = rt.block_on(async {
        tokio::time::timeout(Duration::from_millis(10), queued)
            .await
            .is_err()
    });
    assert!(timed_out);
    release.send(()).expect("release");
    assert!(blocker.wait().expect("blocker"));
    pool.shutdown(true, false);
    assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
}

#[test]
fn awaited_under_futures_executor() {
    let pool = ThreadPoolExecutor::new(3).expect("pool");
    let out = futures_executor::block_on(async {
        let mut out = Vec::new();
        for i in 0..50u32 {
            out.push(
                pool.submit(move || i + 1)
                    .expect("submit")
                    .await
                    .expect("job"),
            );
        }
        // And all at once, through `map`.
        let all = futures_util::future::join_all(
            pool.map(|x: u32| x * 3, 0..10).expect("map").into_futures(),
        )
        .await;
        out.extend(all.into_iter().map(|r| r.expect("job")));
        out
    });
    assert_eq!(out[..50], (1..=50).collect::<Vec<_>>()[..]);
    assert_eq!(out[50..], (0..10).map(|x| x * 3).collect::<Vec<_>>()[..]);

    // A local pool with many tasks awaiting at once.
    let mut local = futures_executor::LocalPool::new();
    let spawner = local.spawner();
    let results = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    for i in 0..20usize {
        let fut = pool.submit(move || i).expect("submit");
        let results = std::rc::Rc::clone(&results);
        spawner
            .spawn_local(async move {
                let v = fut.await.expect("job");
                results.borrow_mut().push(v);
            })
            .expect("spawn");
    }
    local.run();
    let mut got = results.borrow().clone();
    got.sort_unstable();
    assert_eq!(got, (0..20).collect::<Vec<_>>());
}

#[test]
fn blocked_on_from_plain_threads() {
    let pool = ThreadPoolExecutor::new(2).expect("pool");
    let handles: Vec<_> = (0..4u32)
        .map(|t| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                (0..100u32)
                    .map(|i| {
                        pool.submit(move || t * 1000 + i)
                            .expect("submit")
                            .wait()
                            .expect("job")
                    })
                    .sum::<u32>()
            })
        })
        .collect();
    let total: u32 = handles.into_iter().map(|h| h.join().expect("thread")).sum();
    let expected: u32 = (0..4u32)
        .map(|t| (0..100u32).map(|i| t * 1000 + i).sum::<u32>())
        .sum();
    assert_eq!(total, expected);
    let cancelled = pool.submit(|| ()).expect("submit");
    let _ = cancelled.cancel();
    assert!(matches!(
        cancelled.wait(),
        Ok(()) | Err(JobError::Cancelled)
    ));
}
