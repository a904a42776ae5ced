//! A sleep polled again before its deadline (inside a select, under a `timeout` whose
//! body is still running, or handed to another task) keeps its timer and swaps the
//! waker the timer will wake (`Sleep::poll`, `LoopState::rewake_timer`).

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

/// Polls `fut` once; `true` if it finished.
async fn poll_once<F: Future + Unpin>(fut: &mut F) -> bool {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *fut).poll(cx).is_ready())).await
}

#[test]
fn a_sleep_armed_by_one_task_wakes_the_task_that_polls_it_next() {
    aloop::run(async {
        let start = Instant::now();
        let mut sleep = aloop::sleep(Duration::from_millis(20));
        assert!(
            !poll_once(&mut sleep).await,
            "armed, with this task's waker"
        );
        // Another task takes the armed sleep over. Only the wheel can wake it: if the
        // timer still held the first task's waker, the second would wait forever.
        let other = aloop::create_task(async move {
            sleep.await;
            start.elapsed()
        });
        let slept = aloop::wait_for(other, Duration::from_secs(10))
            .await
            .expect("the second task was woken by the sleep's timer")
            .unwrap();
        assert!(slept >= Duration::from_millis(20));
    });
}

#[test]
fn a_sleep_polled_again_keeps_its_place_among_timers_due_at_the_same_time() {
    aloop::run(async {
        let when = Instant::now() + Duration::from_millis(20);
        let order = Rc::new(RefCell::new(Vec::new()));
        let mut first = aloop::sleep_until(when);
        assert!(!poll_once(&mut first).await, "armed first");
        let second = {
            let order = order.clone();
            aloop::create_task(async move {
                aloop::sleep_until(when).await;
                order.borrow_mut().push("second");
            })
        };
        aloop::sleep(Duration::ZERO).await; // the second task arms its timer
        assert!(!poll_once(&mut first).await, "polled again, still armed");
        first.await;
        order.borrow_mut().push("first");
        second.await.unwrap();
        assert_eq!(*order.borrow(), ["first", "second"]);
    });
}
