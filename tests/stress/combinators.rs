//! Stress tests of the combinators (gather, as_completed, TaskGroup) with tens of
//! thousands of tasks; the conformance tests proper are `conformance/d_*.rs`.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use aloop::{as_completed, create_task, gather, sleep, task_group};
use aloop_tests::combinators::{ms, until, DropGuard};

// ---- stress ---------------------------------------------------------------------------

#[test]
fn stress_gather_100_000_tasks() {
    aloop::run(async {
        let n = 100_000u64;
        let out = gather((0..n).map(|i| async move {
            sleep(Duration::ZERO).await;
            i * 2
        }))
        .await
        .unwrap();
        assert_eq!(out.len(), n as usize);
        assert!(out.iter().enumerate().all(|(i, v)| *v == 2 * i as u64));
    });
}

#[test]
fn stress_as_completed_10_000_sleeps_in_deadline_order() {
    aloop::run(async {
        // A fixed-seed LCG: reproducible delays of 1..=300 ms.
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next_delay = move || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            1 + (seed >> 33) % 300
        };
        let sleeps: Vec<_> = (0..10_000)
            .map(|_| {
                let s = sleep(ms(next_delay()));
                async move {
                    let deadline = s.deadline();
                    s.await;
                    deadline
                }
            })
            .collect();
        let mut stream = as_completed(sleeps, None);
        let mut deadlines = Vec::with_capacity(10_000);
        while let Some(item) = stream.next().await {
            deadlines.push(item.unwrap().unwrap().unwrap());
        }
        assert_eq!(deadlines.len(), 10_000);
        let mut sorted = deadlines.clone();
        sorted.sort();
        assert!(deadlines == sorted, "completion order is deadline order");
    });
}

#[test]
fn stress_cancelling_task_group_with_10_000_sleeping_children() {
    aloop::run(async {
        let n = 10_000;
        let started = Rc::new(Cell::new(0usize));
        let dropped = Rc::new(Cell::new(0usize));
        let (s, d) = (started.clone(), dropped.clone());
        let owner = create_task(task_group(move |tg| async move {
            for _ in 0..n {
                let (s, guard) = (s.clone(), DropGuard(d.clone()));
                tg.create_task(async move {
                    let _guard = guard;
                    s.set(s.get() + 1);
                    sleep(Duration::from_secs(60)).await;
                });
            }
            std::future::pending::<()>().await;
        }));
        until(|| started.get() == n).await;
        let t0 = Instant::now();
        owner.cancel();
        assert!(owner.await.unwrap_err().is_cancelled());
        until(|| dropped.get() == n).await;
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "took {:?}",
            t0.elapsed()
        );
    });
}
