//! A `timeout(d, body)` keeps its deadline in the future itself until someone asks for
//! a handle (`TimeoutFuture::handle`), which then shares it. These check that a handle
//! taken at any point (before the first poll, between polls, after the end) sees and
//! moves the same deadline the future uses, and reports how the block ended.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::task::Poll;
use std::time::{Duration, Instant};

/// Polls `fut` once; `Some(output)` if it finished.
async fn poll_once<F: Future>(mut fut: Pin<&mut F>) -> Option<F::Output> {
    poll_fn(|cx| match fut.as_mut().poll(cx) {
        Poll::Ready(output) => Poll::Ready(Some(output)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

#[test]
fn a_handle_taken_after_the_block_finished_reports_it_finished_and_not_expired() {
    aloop::run(async {
        let mut t = pin!(aloop::timeout(Duration::from_secs(60), async { 7 }));
        assert_eq!(poll_once(t.as_mut()).await, Some(Ok(7)));
        let cm = t.handle();
        assert!(!cm.expired());
        // Finished: asyncio's reschedule raises there; aloop returns false.
        assert!(!cm.reschedule(None));
        assert!(cm.when().is_some());
    });
}

#[test]
fn a_handle_taken_after_the_block_expired_reports_it_expired() {
    aloop::run(async {
        let mut t = pin!(aloop::timeout(
            Duration::from_millis(1),
            aloop::sleep(Duration::from_secs(60))
        ));
        let out = poll_fn(|cx| t.as_mut().poll(cx)).await;
        assert_eq!(out, Err(aloop::TimeoutError));
        let cm = t.handle();
        assert!(cm.expired());
        assert!(!cm.reschedule(None));
    });
}

#[test]
fn a_handle_taken_between_polls_moves_the_deadline_the_future_uses() {
    aloop::run(async {
        let start = Instant::now();
        let mut t = pin!(aloop::timeout(
            Duration::from_secs(60),
            aloop::sleep(Duration::from_secs(60))
        ));
        // The first poll arms the 60 s deadline.
        assert_eq!(poll_once(t.as_mut()).await, None);
        let cm = t.handle();
        let soon = Instant::now() + Duration::from_millis(5);
        assert!(cm.reschedule(Some(soon)));
        assert_eq!(t.handle().when(), Some(soon), "one shared deadline");
        // Re-polled (the waker was not yet known to the handle), the block sees the
        // moved deadline and expires at it, not at 60 s.
        let out = poll_fn(|cx| t.as_mut().poll(cx)).await;
        assert_eq!(out, Err(aloop::TimeoutError));
        assert!(cm.expired());
        assert!(start.elapsed() < Duration::from_secs(30));
    });
}

/// Takes a handle while `t` waits, has a callback `reschedule` it to now 5 ms later,
/// and suspends the task without polling `t`: only that `reschedule` can wake it
/// before the block's own 10 s. Returns how `t` ended once polled again.
async fn reschedule_a_waiting_block_through_a_late_handle<F: Future>(
    mut t: Pin<&mut aloop::TimeoutFuture<F>>,
) -> Result<F::Output, aloop::TimeoutError> {
    let start = Instant::now();
    assert!(poll_once(t.as_mut()).await.is_none(), "the block waits");
    let cm = t.handle();
    aloop::get_running_loop()
        .unwrap()
        .call_later(Duration::from_millis(5), move || {
            assert!(cm.reschedule(Some(Instant::now())));
        })
        .unwrap();
    let mut suspended = false;
    poll_fn(|_| match std::mem::replace(&mut suspended, true) {
        false => Poll::Pending,
        true => Poll::Ready(()),
    })
    .await;
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "woken by the reschedule, not by the block's own deadline"
    );
    poll_fn(|cx| t.as_mut().poll(cx)).await
}

#[test]
fn a_reschedule_through_a_handle_taken_between_polls_wakes_the_waiting_task() {
    aloop::run(async {
        let t = pin!(aloop::timeout(
            Duration::from_secs(10),
            aloop::sleep(Duration::from_secs(10))
        ));
        let out = reschedule_a_waiting_block_through_a_late_handle(t).await;
        assert_eq!(out, Err(aloop::TimeoutError));
    });
}

#[test]
fn a_block_with_no_deadline_is_woken_by_a_late_handles_reschedule() {
    aloop::run(async {
        let t = pin!(aloop::timeout(None, aloop::sleep(Duration::from_secs(10))));
        let out = reschedule_a_waiting_block_through_a_late_handle(t).await;
        assert_eq!(out, Err(aloop::TimeoutError));
    });
}

#[test]
fn a_handle_taken_before_the_first_poll_starts_from_the_given_deadline() {
    aloop::run(async {
        let when = Instant::now() + Duration::from_secs(3600);
        let t = aloop::timeout_at(when, async { "done" });
        let cm = t.handle();
        assert_eq!(cm.when(), Some(when));
        assert_eq!(t.await, Ok("done"));
        assert!(!cm.expired());
        assert!(!cm.reschedule(None), "finished");
    });
}

#[test]
fn a_block_without_a_handle_still_expires_and_finishes() {
    aloop::run(async {
        let out = aloop::timeout(
            Duration::from_millis(1),
            aloop::sleep(Duration::from_secs(60)),
        )
        .await;
        assert_eq!(out, Err(aloop::TimeoutError));
        let out = aloop::timeout(None, async { 1 }).await;
        assert_eq!(out, Ok(1));
    });
}
