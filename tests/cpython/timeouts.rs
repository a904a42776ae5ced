//! Port of CPython's `Lib/test/test_asyncio/test_timeouts.py` (see
//! `docs/conformance.md` for the version, and for each method with no Rust form): one
//! Rust test per method, `timeouts_timeout_<method>`.
//!
//! `async with asyncio.timeout(d) as cm: body` is `aloop::timeout(d, body)` with
//! `cm = .handle()`. aloop drops the block at the deadline instead of cancelling the
//! task (docs/asyncio-mapping.md), so the block's `except CancelledError` / `finally` is
//! its destructor (a `Defer`), which cannot await. Every test runs on virtual time;
//! asyncio's `time.sleep()` ("the loop is busy") is `advance()` of the virtual clock.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use aloop::{
    create_task, current_task, get_running_loop, sleep, timeout, timeout_at, TimeoutError,
};
use aloop_tests::Defer;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[aloop::test(virtual_time)]
async fn timeouts_timeout_timeout_basic() {
    let t = timeout(ms(10), sleep(secs(10)));
    let cm = t.handle();
    assert_eq!(t.await, Err(TimeoutError));
    assert!(cm.expired());
}

#[aloop::test(virtual_time)]
async fn timeouts_timeout_timeout_at_basic() {
    let deadline = get_running_loop().unwrap().time() + ms(10);
    let t = timeout_at(deadline, sleep(secs(10)));
    let cm = t.handle();
    assert_eq!(t.await, Err(TimeoutError));
    assert!(cm.expired());
    assert_eq!(cm.when(), Some(deadline));
}

/// Two blocks with one deadline: only the outer one reports the timeout; the inner block
/// sees its cancellation (is dropped).
#[aloop::test(virtual_time)]
async fn timeouts_timeout_nested_timeouts() {
    let deadline = get_running_loop().unwrap().time() + ms(10);
    let cancelled = Rc::new(Cell::new(false));
    let seen = cancelled.clone();
    let inner = timeout_at(deadline, sleep(secs(10)));
    let cm2 = inner.handle();
    let outer = timeout_at(deadline, async move {
        let _seen = Defer(move || seen.set(true));
        inner.await
    });
    let cm1 = outer.handle();
    assert_eq!(outer.await, Err(TimeoutError));
    assert!(cancelled.get());
    assert!(cm1.expired());
    assert!(cm2.expired());
}

#[aloop::test(virtual_time)]
async fn timeouts_timeout_waiter_cancelled() {
    let cancelled = Rc::new(Cell::new(false));
    let seen = cancelled.clone();
    let t = timeout(ms(10), async move {
        let _seen = Defer(move || seen.set(true));
        sleep(secs(10)).await;
    });
    assert_eq!(t.await, Err(TimeoutError));
    assert!(cancelled.get());
}

#[aloop::test(virtual_time)]
async fn timeouts_timeout_timeout_not_called() {
    let lp = get_running_loop().unwrap();
    let t0 = lp.time();
    let t = timeout(secs(10), sleep(ms(10)));
    let cm = t.handle();
    assert_eq!(t.await, Ok(()));
    let t1 = lp.time();
    assert!(!cm.expired());
    assert!(t1 - t0 < secs(2));
    assert!(cm.when().unwrap() > t1);
}

#[aloop::test(virtual_time)]
async fn timeouts_timeout_timeout_disabled() {
    let lp = get_running_loop().unwrap();
    let t0 = lp.time();
    let t = timeout(None, sleep(ms(10)));
    let cm = t.handle();
    assert_eq!(t.await, Ok(()));
    assert!(!cm.expired());
    assert_eq!(cm.when(), None);
    assert!(lp.time() - t0 < secs(2));
}

#[aloop::test(virtual_time)]
async fn timeouts_timeout_timeout_at_disabled() {
    let lp = get_running_loop().unwrap();
    let t0 = lp.time();
    let t = timeout_at(None, sleep(ms(10)));
    let cm = t.handle();
    assert_eq!(t.await, Ok(()));
    assert!(!cm.expired());
    assert_eq!(cm.when(), None);
    assert!(lp.time() - t0 < secs(2));
}

#[aloop::test(virtual_time)]
async fn timeouts_timeout_timeout_zero() {
    let lp = get_running_loop().unwrap();
    let t0 = lp.time();
    let t = timeout(Duration::ZERO, sleep(secs(10)));
    let cm = t.handle();
    assert_eq!(t.await, Err(TimeoutError));
    let t1 = lp.time();
    assert!(cm.expired());
    assert!(t1 - t0 < secs(2));
    let when = cm.when().unwrap();
    assert!(t0 <= when && when <= t1);
}

#[aloop::test(virtual_time)]
async fn timeouts_timeout_timeout_zero_sleep_zero() {
    let lp = get_running_loop().unwrap();
    let t0 = lp.time();
    let t = timeout(Duration::ZERO, sleep(Duration::ZERO));
    let cm = t.handle();
    assert_eq!(t.await, Err(TimeoutError));
    let t1 = lp.time();
    assert!(cm.expired());
    let when = cm.when().unwrap();
    assert!(t0 <= when && when <= t1);
}

/// A negative delay is a deadline in the past: `timeout_at(now - 11 s)` (a `Duration`
/// cannot be negative).
#[aloop::test(virtual_time)]
async fn timeouts_timeout_timeout_in_the_past_sleep_zero() {
    let lp = get_running_loop().unwrap();
    let t0 = lp.time();
    let t = timeout_at(t0 - secs(11), sleep(Duration::ZERO));
    let cm = t.handle();
    assert_eq!(t.await, Err(TimeoutError));
    let t1 = lp.time();
    assert!(cm.expired());
    assert!(t1 - t0 < secs(2));
    assert!(cm.when().unwrap() <= t0);
}

/// A failure of the block is its output (`Err` as a value; asyncio raises KeyError
/// through the `async with`), and the timeout did not expire.
#[aloop::test(virtual_time)]
async fn timeouts_timeout_foreign_exception_passed() {
    let t = timeout(ms(10), async { Err::<(), _>("KeyError") });
    let cm = t.handle();
    assert_eq!(t.await, Ok(Err("KeyError")));
    assert!(!cm.expired());
}

/// The block's cleanup fails (asyncio: `1/0` in `finally`) when the timeout drops it:
/// that failure, a panic here, wins over the TimeoutError and ends the task.
#[aloop::test(virtual_time)]
async fn timeouts_timeout_foreign_exception_on_timeout() {
    let task = create_task(async {
        let crash = async {
            let _finally = Defer(|| panic!("ZeroDivisionError"));
            sleep(secs(1)).await;
        };
        timeout(ms(10), crash).await
    });
    let err = task.await.unwrap_err();
    assert!(!err.is_cancelled());
    assert!(format!("{err:?}").contains("ZeroDivisionError"), "{err:?}");
}

#[aloop::test(virtual_time)]
async fn timeouts_timeout_foreign_cancel_doesnt_timeout_if_not_expired() {
    let t = timeout(secs(10), async {
        current_task().unwrap().unwrap().cancel();
        sleep(secs(10)).await;
    });
    let cm = t.handle();
    let task = create_task(t);
    assert!(task.await.unwrap_err().is_cancelled());
    assert!(!cm.expired());
}

#[aloop::test(virtual_time)]
async fn timeouts_timeout_outer_task_is_not_cancelled() {
    let task = create_task(async {
        assert_eq!(timeout(ms(1), sleep(secs(10))).await, Err(TimeoutError));
    });
    let any = task.as_any();
    task.await.unwrap();
    assert!(!any.cancelled());
    assert!(any.done());
}

/// The loop is "busy" past the outer (2 ms) deadline but not the inner (100 ms) one:
/// the outer block times out.
#[aloop::test(virtual_time)]
async fn timeouts_timeout_nested_timeouts_concurrent() {
    let outer = timeout(ms(2), async {
        timeout(ms(100), async {
            get_running_loop().unwrap().advance(ms(10)).unwrap();
            sleep(secs(1)).await;
        })
        .await
    });
    assert_eq!(outer.await, Err(TimeoutError));
}

/// The loop is busy past both deadlines; the outer one must still stop the long sleep
/// that follows the inner block.
#[aloop::test(virtual_time)]
async fn timeouts_timeout_nested_timeouts_loop_busy() {
    let lp = get_running_loop().unwrap();
    let t0 = lp.time();
    let outer = timeout(ms(100), async {
        let inner = timeout(ms(10), async {
            get_running_loop().unwrap().advance(ms(100)).unwrap();
            sleep(secs(1)).await;
        });
        assert_eq!(inner.await, Err(TimeoutError));
        sleep(secs(10)).await; // interrupted by the outer deadline
    });
    assert_eq!(outer.await, Err(TimeoutError));
    let t1 = lp.time();
    assert!(t0 <= t1 && t1 <= t0 + secs(1));
}

#[aloop::test(virtual_time)]
async fn timeouts_timeout_reschedule() {
    let deadline1 = get_running_loop().unwrap().time() + secs(10);
    let deadline2 = deadline1 + secs(20);
    let t = timeout_at(deadline1, sleep(secs(50)));
    let cm = t.handle();
    let task = create_task(t);

    assert_eq!(cm.when(), Some(deadline1));
    cm.reschedule(Some(deadline2));
    assert_eq!(cm.when(), Some(deadline2));
    cm.reschedule(None);
    assert_eq!(cm.when(), None);

    task.cancel();
    assert!(task.await.unwrap_err().is_cancelled());
    assert!(!cm.expired());
}

/// repr() text is Python's; Debug shows the deadline and the expiry.
#[aloop::test(virtual_time)]
async fn timeouts_timeout_repr_active() {
    let t = timeout(secs(10), async {});
    let debug = format!("{:?}", t.handle());
    assert!(
        debug.contains("when: Some(") && debug.contains("expired: false"),
        "{debug}"
    );
    t.await.unwrap();
}

#[aloop::test(virtual_time)]
async fn timeouts_timeout_repr_expired() {
    let t = timeout(ms(10), sleep(secs(10)));
    let cm = t.handle();
    assert_eq!(t.await, Err(TimeoutError));
    assert!(format!("{cm:?}").contains("expired: true"));
}

/// asyncio's `[finished]` state shows in Rust as a `reschedule` refused once the block
/// has finished (asyncio raises RuntimeError there).
#[aloop::test(virtual_time)]
async fn timeouts_timeout_repr_finished() {
    let t = timeout(secs(10), sleep(Duration::ZERO));
    let cm = t.handle();
    t.await.unwrap();
    assert!(!cm.reschedule(None));
    assert!(format!("{cm:?}").contains("expired: false"));
}

#[aloop::test(virtual_time)]
async fn timeouts_timeout_repr_disabled() {
    let t = timeout(None, async {});
    assert!(format!("{:?}", t.handle()).contains("when: None"));
    t.await.unwrap();
}
