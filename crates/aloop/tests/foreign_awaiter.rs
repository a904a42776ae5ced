//! A task handle awaited through a combinator's own waker (not the awaiting task's):
//! the task keeps that waker (`task/waiters.rs`), wakes it, and its done callbacks
//! still run before the awaiter, in registration order.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

/// Polls a task handle with a waker of its own (as a combinator does), which wakes
/// the outer task.
struct Rewake<F>(Pin<Box<F>>);

struct Relay(Waker);

impl Wake for Relay {
    fn wake(self: Arc<Self>) {
        self.0.wake_by_ref();
    }
}

impl<F: Future> Future for Rewake<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let foreign = Waker::from(Arc::new(Relay(cx.waker().clone())));
        self.0.as_mut().poll(&mut Context::from_waker(&foreign))
    }
}

#[test]
fn a_foreign_awaiter_is_woken_and_callbacks_keep_their_place() {
    let lp = aloop::new_event_loop();
    let order = Rc::new(RefCell::new(Vec::new()));
    let o = order.clone();
    let out = lp.run_until_complete(async move {
        let nap = Duration::from_millis(1);
        let alone = aloop::create_task(async move {
            aloop::sleep(nap).await;
            1
        });
        let a = Rewake(Box::pin(alone)).await.unwrap();
        let with_callback = aloop::create_task(async move {
            aloop::sleep(nap).await;
            2
        });
        let o2 = o.clone();
        with_callback.add_done_callback(move |_| o2.borrow_mut().push("callback"));
        let b = Rewake(Box::pin(with_callback)).await.unwrap();
        o.borrow_mut().push("awaiter");
        a + b
    });
    assert_eq!(out.unwrap(), 3);
    assert_eq!(*order.borrow(), ["callback", "awaiter"]);
}
