//! Catalogue group E (synchronisation primitives): one test per entry, mirroring the
//! asyncio snippet and its recorded output; adaptations are explained per test.
#![cfg(not(loom))]

mod common;

use std::rc::Rc;
use std::sync::Arc;

use aloop_sync::{Barrier, Condition, Event, Lock, Semaphore};
use common::{pause, yield_now, Log, Sim};
use futures_util::FutureExt;

/// E1: an uncontended acquire completes without yielding (a queued task has not run).
/// Adapted: releasing an unlocked lock cannot be written (release = dropping the guard),
/// so instead we check the lock is free again and a second drop is impossible by type.
#[test]
fn e1_uncontended_lock_acquires_without_yielding() {
    let mut sim = Sim::new();
    let log = Log::default();
    let l = log.clone();
    sim.spawn(async move { l.push("callback ran") });
    let lock = Lock::new();
    let l = log.clone();
    sim.block_on(async {
        let guard = lock.acquire().await;
        l.push(format!("acquired | locked: {}", lock.locked()));
        drop(guard);
        l.push(format!("after release | locked: {}", lock.locked()));
        yield_now().await;
    });
    assert_eq!(
        log.take(),
        [
            "acquired | locked: true",
            "after release | locked: false",
            "callback ran"
        ]
    );
    // And literally a single poll:
    assert!(lock.acquire().now_or_never().is_some());
}

/// E2: waiters acquire in FIFO order.
#[test]
fn e2_lock_waiters_fifo() {
    let mut sim = Sim::new();
    let lock = Rc::new(Lock::new());
    let log = Log::default();
    for n in 0..5 {
        let (lock, log) = (lock.clone(), log.clone());
        sim.spawn(async move {
            let _g = lock.acquire().await;
            log.push(n.to_string());
            pause().await;
        });
    }
    sim.run();
    assert_eq!(log.take(), ["0", "1", "2", "3", "4"]);
}

/// E3: the first waiter is handed the lock and cancelled before it runs: the next
/// waiter gets the lock; nothing deadlocks.
#[test]
fn e3_cancelled_woken_waiter_passes_lock_on() {
    let mut sim = Sim::new();
    let lock = Rc::new(Lock::new());
    let log = Log::default();
    let held = lock.try_acquire().unwrap();
    let waiter = |name: &'static str| {
        let (lock, log) = (lock.clone(), log.clone());
        async move {
            let _g = lock.acquire().await;
            log.push(format!("lock taken by {name}"));
        }
    };
    let b = sim.spawn(waiter("B"));
    let c = sim.spawn(waiter("C"));
    sim.run();
    drop(held);
    b.cancel();
    sim.run();
    log.push(format!(
        "B cancelled: {} | locked: {}",
        b.outcome() == Some(false),
        lock.locked()
    ));
    assert_eq!(c.outcome(), Some(true));
    assert_eq!(
        log.take(),
        ["lock taken by C", "B cancelled: true | locked: false"]
    );
}

/// E4: no barging. Adapted: aloop hands the lock directly to the woken waiter, so
/// `locked()` stays `true` after the release (asyncio prints `False`); the observable
/// order, waiter before newcomer, is asyncio's.
#[test]
fn e4_no_barging_woken_waiter_keeps_its_turn() {
    let mut sim = Sim::new();
    let lock = Rc::new(Lock::new());
    let log = Log::default();
    let held = lock.try_acquire().unwrap();
    let user = |name: &'static str| {
        let (lock, log) = (lock.clone(), log.clone());
        async move {
            let _g = lock.acquire().await;
            log.push(format!("lock taken by {name}"));
        }
    };
    sim.spawn(user("waiter"));
    sim.run();
    drop(held);
    log.push(format!("locked after release: {}", lock.locked()));
    assert!(lock.try_acquire().is_none(), "a newcomer must not barge");
    sim.spawn(user("newcomer"));
    sim.run();
    assert_eq!(
        log.take(),
        [
            "locked after release: true",
            "lock taken by waiter",
            "lock taken by newcomer"
        ]
    );
}

/// E5: wait blocks until set; set wakes every waiter; a set event returns at once.
#[test]
fn e5_event_set_wakes_all_waiters() {
    let mut sim = Sim::new();
    let ev = Rc::new(Event::new());
    let log = Log::default();
    for n in 0..2 {
        let (ev, log) = (ev.clone(), log.clone());
        sim.spawn(async move {
            ev.wait().await;
            log.push(format!("waiter {n} got true"));
        });
    }
    sim.run();
    log.push(format!("is_set: {}", ev.is_set()));
    ev.set();
    sim.run();
    sim.block_on(ev.wait());
    log.push("already set");
    ev.clear();
    log.push(format!("after clear: {}", ev.is_set()));
    assert_eq!(
        log.take(),
        [
            "is_set: false",
            "waiter 0 got true",
            "waiter 1 got true",
            "already set",
            "after clear: false"
        ]
    );
    assert!(
        ev.wait().now_or_never().is_none(),
        "cleared event blocks again"
    );
}

/// E7: notify(2) wakes the two oldest waiters, notify_all the rest; each holds the
/// lock when its wait returns.
#[test]
fn e7_condition_notify_fifo() {
    let mut sim = Sim::new();
    let cond = Rc::new(Condition::new());
    let log = Log::default();
    for n in 0..4 {
        let (cond, log) = (cond.clone(), log.clone());
        sim.spawn(async move {
            let g = cond.acquire().await;
            let g = g.wait().await;
            log.push(format!("woken {n} | holds lock: {}", cond.locked()));
            pause().await; // keep holding it for a while
            drop(g);
        });
    }
    sim.run();
    sim.block_on(async {
        let g = cond.acquire().await;
        assert_eq!(g.notify(2), 2);
    });
    sim.run();
    log.push("notify_all:");
    sim.block_on(async {
        let g = cond.acquire().await;
        assert_eq!(g.notify_all(), 2);
    });
    sim.run();
    assert_eq!(
        log.take(),
        [
            "woken 0 | holds lock: true",
            "woken 1 | holds lock: true",
            "notify_all:",
            "woken 2 | holds lock: true",
            "woken 3 | holds lock: true"
        ]
    );
}

/// E8: wait/notify without the lock. Adapted: they are methods of the lock's guard, so
/// the asyncio `RuntimeError` cannot be written (see the `compile_fail` doctest on
/// `Condition`); the one runtime check left, adopting a guard of another lock, is a
/// typed error that hands the guard back.
#[test]
fn e8_condition_requires_its_own_lock() {
    let cond = Condition::new();
    let other = Lock::new();
    let guard = other.try_acquire().unwrap();
    let err = cond.adopt(guard).unwrap_err();
    assert_eq!(
        err.to_string(),
        "cannot use the condition with a guard of a different lock"
    );
    assert!(other.locked(), "the refused guard still holds its lock");
    drop(err);
    assert!(!other.locked());
    // A guard of the right lock is accepted.
    let own = cond.inner_lock().try_acquire().unwrap();
    let g = cond.adopt(own).ok().unwrap();
    assert_eq!(g.notify(1), 0);
}

/// E10: a plain semaphore can be released above its initial value. Adapted: the value is
/// a `usize`, so the negative-initial-value `ValueError` is ruled out by the type.
#[test]
fn e10_semaphore_release_above_initial() {
    let sem = Semaphore::new(1);
    sem.release();
    sem.release();
    assert_eq!(sem.value(), 3);
    futures_executor::block_on(async {
        for _ in 0..3 {
            sem.acquire().await.forget();
        }
    });
    assert!(sem.locked());
    assert_eq!(sem.value(), 0);
}

/// E12: Barrier(3) releases all parties together with distinct arrival indices; the last
/// to arrive returns first.
#[test]
fn e12_barrier_releases_all_parties() {
    let mut sim = Sim::new();
    let barrier = Rc::new(Barrier::new(3));
    let log = Log::default();
    let party = |n: usize| {
        let (barrier, log) = (barrier.clone(), log.clone());
        async move {
            let index = barrier.wait().await.unwrap();
            log.push(format!("party {n} passed with index {index}"));
        }
    };
    sim.spawn(party(0));
    sim.spawn(party(1));
    sim.run();
    log.push(format!("n_waiting: {}", barrier.n_waiting()));
    sim.spawn(party(2));
    sim.run();
    assert_eq!(
        log.take(),
        [
            "n_waiting: 2",
            "party 2 passed with index 2",
            "party 0 passed with index 0",
            "party 1 passed with index 1"
        ]
    );
    assert_eq!(barrier.n_waiting(), 0);
}

/// E14: asyncio binds a primitive to the first loop that waits on it. Adapted (the
/// catalogue's aloop note): aloop's primitives are loop-agnostic, so the same Event is
/// waited on from two different executors, and tokio, without error.
#[test]
fn e14_primitives_are_not_bound_to_a_loop() {
    let ev = Arc::new(Event::new());
    let mut first = Sim::new();
    assert!(ev.wait().now_or_never().is_none());
    let e = ev.clone();
    let t = first.spawn(async move { e.wait().await });
    first.run();
    ev.set();
    first.run();
    assert_eq!(t.outcome(), Some(true));
    ev.clear();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let e = ev.clone();
    rt.block_on(async move {
        let waiter = tokio::spawn(async move { e.wait().await });
        tokio::task::yield_now().await;
        ev.set();
        waiter.await.unwrap();
    });
}
