//! Workloads "timers" and "timer-tasks": 100,000 timers with seeded pseudo-random delays
//! in 0..50 ms; every even-numbered one is cancelled right after all are scheduled; the
//! survivors are counted (and the sum of their indices checked, so a cancelled timer that
//! fired instead of a survivor is caught). After the timed part, the cell waits past the
//! last deadline and checks again that no cancelled timer fired late.
//!
//! * "timers" (the workload): aloop uses `call_later` + `TimerHandle::cancel`
//!   (asyncio's timer primitive: a callback, no task). tokio and smol have no callback
//!   timers, so they run the task form below.
//! * "timer-tasks": every runtime, aloop included, spawns one task per timer that sleeps
//!   then counts; half are cancelled (aloop `Task::cancel`, tokio `abort`, smol: the
//!   `Task` handle dropped).
//!
//! On tokio-mt a timer task runs on another worker while the main task is still
//! scheduling, so a very short timer can fire before its `abort()` arrives: there, and
//! only there, an even timer may fire if its delay was shorter than the set-up time
//! (`late_cancels` counts them); every other runtime must fire none.
//!
//! The run is bounded below by the 50 ms horizon, so ops/s here is mostly that horizon;
//! `setup_ms` (scheduling all timers and cancelling half) is the part runtimes differ in.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{rt, Outcome, Runtime, Scale};

const FULL: u64 = 100_000;
const MAX_DELAY_US: u64 = 50_000;
/// Past the last deadline by this much before the late check.
const GRACE: Duration = Duration::from_millis(5);

/// Timed part, setup part, and what fired (checked after the late check).
type Measured = (Duration, Duration, Fired);

/// What fired, split by parity: odd timers are the survivors, even ones were cancelled.
#[derive(Default, Clone, Copy)]
struct Fired {
    odd: u64,
    odd_index_sum: u64,
    even: u64,
}

impl Fired {
    fn record(&mut self, i: usize) {
        if i % 2 == 1 {
            self.odd += 1;
            self.odd_index_sum += i as u64;
        } else {
            self.even += 1;
        }
    }
}

pub fn run(runtime: Runtime, scale: Scale, callbacks: bool) -> Outcome {
    let n = scale.n(FULL);
    let mut rng = rt::SplitMix64(0x5EED);
    let delays: Vec<Duration> = (0..n)
        .map(|_| Duration::from_micros(rng.next_u64() % MAX_DELAY_US))
        .collect();
    let (elapsed, setup, fired) = match runtime {
        Runtime::Aloop if callbacks => aloop_call_later(&delays),
        Runtime::Aloop => aloop_tasks(delays.clone()),
        Runtime::TokioCt | Runtime::TokioMt => tokio_tasks(runtime, delays.clone()),
        Runtime::Smol => smol_tasks(delays.clone()),
    };
    // Survivors are the odd indices 1, 3, ..., n-1: n/2 of them, summing to (n/2)².
    let half = n / 2;
    let survivors_ok = fired.odd == half && fired.odd_index_sum == half * half;
    let late_allowed = match runtime {
        Runtime::TokioMt => delays.iter().step_by(2).filter(|&&d| d <= setup).count() as u64,
        _ => 0,
    };
    Outcome::new(n, elapsed, survivors_ok && fired.even <= late_allowed)
        .with("setup_ms", setup.as_secs_f64() * 1e3)
        .with("late_cancels", fired.even as f64)
}

/// Thread-safe `Fired` for tokio's `Send` tasks.
#[derive(Default)]
struct AtomicFired {
    odd: AtomicU64,
    odd_index_sum: AtomicU64,
    even: AtomicU64,
}

impl AtomicFired {
    fn record(&self, i: usize) {
        if i % 2 == 1 {
            self.odd.fetch_add(1, Ordering::Relaxed);
            self.odd_index_sum.fetch_add(i as u64, Ordering::Relaxed);
        } else {
            self.even.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn load(&self) -> Fired {
        Fired {
            odd: self.odd.load(Ordering::Relaxed),
            odd_index_sum: self.odd_index_sum.load(Ordering::Relaxed),
            even: self.even.load(Ordering::Relaxed),
        }
    }
}

/// `call_later` per timer, `TimerHandle::cancel` on the even ones; the last survivor
/// stops the loop.
fn aloop_call_later(delays: &[Duration]) -> Measured {
    let lp = aloop::new_event_loop();
    let survivors = delays.len() as u64 / 2;
    let fired = Rc::new(Cell::new(Fired::default()));
    let t = Instant::now();
    let handles: Vec<aloop::TimerHandle> = delays
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            let fired = fired.clone();
            let cb = move || {
                let mut f = fired.get();
                f.record(i);
                fired.set(f);
                if f.odd == survivors {
                    aloop::get_running_loop().expect("in a callback").stop();
                }
            };
            lp.call_later(d, cb).expect("loop is open")
        })
        .collect();
    for h in handles.iter().step_by(2) {
        h.cancel();
    }
    let setup = t.elapsed();
    // A bug must not hang the suite: stop anyway after a generous bound.
    let guard = lp
        .call_later(Duration::from_secs(10), {
            let lp = lp.clone_ref();
            move || lp.stop()
        })
        .expect("loop is open");
    lp.run_forever().expect("aloop: run_forever failed");
    let elapsed = t.elapsed();
    guard.cancel();
    let late_check = t + Duration::from_micros(MAX_DELAY_US) + GRACE;
    lp.run_until_complete(aloop::sleep_until(late_check))
        .expect("aloop: late check failed");
    (elapsed, setup, fired.get())
}

fn aloop_tasks(delays: Vec<Duration>) -> Measured {
    rt::aloop(async move {
        let fired = Rc::new(Cell::new(Fired::default()));
        let t = Instant::now();
        let tasks: Vec<_> = delays
            .iter()
            .enumerate()
            .map(|(i, &d)| {
                let fired = fired.clone();
                aloop::create_task(async move {
                    aloop::sleep(d).await;
                    let mut f = fired.get();
                    f.record(i);
                    fired.set(f);
                })
            })
            .collect();
        for task in tasks.iter().step_by(2) {
            task.cancel();
        }
        let setup = t.elapsed();
        for task in tasks.into_iter().skip(1).step_by(2) {
            task.await.expect("a surviving timer task failed");
        }
        let elapsed = t.elapsed();
        aloop::sleep_until(t + Duration::from_micros(MAX_DELAY_US) + GRACE).await;
        (elapsed, setup, fired.get())
    })
}

fn tokio_tasks(runtime: Runtime, delays: Vec<Duration>) -> Measured {
    rt::tokio(runtime, async move {
        let fired = Arc::new(AtomicFired::default());
        let t = Instant::now();
        let tasks: Vec<_> = delays
            .iter()
            .enumerate()
            .map(|(i, &d)| {
                let fired = fired.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(d).await;
                    fired.record(i);
                })
            })
            .collect();
        for task in tasks.iter().step_by(2) {
            task.abort();
        }
        let setup = t.elapsed();
        for task in tasks.into_iter().skip(1).step_by(2) {
            task.await.expect("a surviving timer task failed");
        }
        let elapsed = t.elapsed();
        tokio::time::sleep_until((t + Duration::from_micros(MAX_DELAY_US) + GRACE).into()).await;
        (elapsed, setup, fired.load())
    })
}

fn smol_tasks(delays: Vec<Duration>) -> Measured {
    rt::smol(move |ex| async move {
        let fired = Rc::new(Cell::new(Fired::default()));
        let t = Instant::now();
        let mut tasks: Vec<_> = delays
            .iter()
            .enumerate()
            .map(|(i, &d)| {
                let fired = fired.clone();
                Some(ex.spawn(async move {
                    async_io::Timer::after(d).await;
                    let mut f = fired.get();
                    f.record(i);
                    fired.set(f);
                }))
            })
            .collect();
        // Dropping an async-executor `Task` cancels it.
        for task in tasks.iter_mut().step_by(2) {
            drop(task.take());
        }
        let setup = t.elapsed();
        for task in tasks.into_iter().flatten() {
            task.await;
        }
        let elapsed = t.elapsed();
        async_io::Timer::at(t + Duration::from_micros(MAX_DELAY_US) + GRACE).await;
        (elapsed, setup, fired.get())
    })
}
