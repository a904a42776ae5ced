//! Task edge cases that CPython's test_tasks.py checks (tests/cpython/tasks has the port):
//! a task awaiting itself fails instead of hanging; `cancel()` of a task that already
//! failed counts as looking at the failure; a task cancelled during its last step ends
//! cancelled; a cancel requested while the task runs reaches what it awaits next; a
//! future whose destructor panics after its last step ends the task with that panic.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// `test_task_awaits_on_itself`: the task fails at that await (asyncio: RuntimeError).
#[test]
fn a_task_awaiting_itself_panics_there() {
    aloop::run(async {
        let slot: Rc<RefCell<Option<aloop::Task<()>>>> = Rc::default();
        let me = slot.clone();
        let task = aloop::create_task(async move {
            let own = me.borrow_mut().take().unwrap();
            let _ = own.await;
        });
        let view = task.as_any();
        *slot.borrow_mut() = Some(task);
        aloop::sleep(Duration::from_millis(10)).await;
        assert!(view.done(), "the task still waits for itself");
        assert!(!view.cancelled());
    });
}

/// `test_tb_logger_not_called_after_cancel`: `cancel()` on a task that already panicked
/// returns false and silences the "never retrieved" report, as asyncio's does.
#[test]
fn cancelling_a_task_that_already_failed_silences_its_report() {
    let reports: Rc<RefCell<Vec<String>>> = Rc::default();
    let sink = reports.clone();
    aloop::run(async move {
        aloop::get_running_loop()
            .unwrap()
            .set_exception_handler(Some(move |ctx: &aloop::ExceptionContext| {
                sink.borrow_mut().push(ctx.to_string())
            }));
        let task = aloop::create_task(async { panic!("TypeError") });
        aloop::sleep(Duration::from_millis(5)).await;
        assert!(task.done());
        assert!(!task.cancel());
        drop(task);
        aloop::sleep(Duration::ZERO).await;
    });
    assert!(reports.borrow().is_empty(), "{:?}", reports.borrow());
}

/// `test_cancel_at_end`: a task that cancels itself and returns without awaiting again
/// ends cancelled, its output dropped.
#[test]
fn a_task_cancelled_during_its_last_step_ends_cancelled() {
    aloop::run(async {
        let task = aloop::create_task(async {
            aloop::current_task().unwrap().unwrap().cancel();
            12
        });
        let view = task.as_any();
        assert!(task.await.unwrap_err().is_cancelled());
        assert!(view.cancelled());
        assert!(!view.cancel());
    });
}

/// `test_cancel_awaited_task` (bpo-34872): a task that cancels itself and then awaits a
/// sub-task cancels the sub-task, which cancels the promise it awaits.
#[test]
fn a_cancel_requested_while_running_reaches_what_the_step_awaits_next() {
    aloop::run(async {
        let fut = aloop::get_running_loop().unwrap().create_future::<()>();
        let nested_view = Rc::new(RefCell::new(None));
        let (awaited, slot) = (fut.clone(), nested_view.clone());
        let task = aloop::create_task(async move {
            let nested = aloop::create_task(awaited);
            *slot.borrow_mut() = Some(nested.as_any());
            aloop::sleep(Duration::ZERO).await;
            aloop::current_task().unwrap().unwrap().cancel();
            let _ = nested.await;
        });
        assert!(task.await.unwrap_err().is_cancelled());
        aloop::sleep(Duration::ZERO).await;
        let nested = nested_view.borrow().clone().unwrap();
        assert!(nested.cancelled(), "the sub-task was left running");
        assert!(fut.cancelled());
    });
}

/// Panics in a destructor of the task's own future, after its last step: the future is
/// dropped once, as the step ends, and the task ends with that panic, its awaiter woken,
/// out of `all_tasks`.
#[test]
fn a_future_whose_destructor_panics_after_its_last_step_ends_panicked() {
    struct PanicsOnDrop(Rc<std::cell::Cell<u32>>);
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
            panic!("destructor of the task's future");
        }
    }
    let drops: Rc<std::cell::Cell<u32>> = Rc::default();
    let counted = drops.clone();
    aloop::run(async move {
        // A hand-written future: an async block drops its locals inside its last poll,
        // this one only when it is dropped after returning `Ready`.
        struct ReadyOnSecondPoll {
            _guard: PanicsOnDrop,
            polled: bool,
        }
        impl std::future::Future for ReadyOnSecondPoll {
            type Output = u32;
            fn poll(
                mut self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<u32> {
                if self.polled {
                    return std::task::Poll::Ready(5);
                }
                self.polled = true;
                cx.waker().wake_by_ref();
                std::task::Poll::Pending
            }
        }
        let task = aloop::create_task(ReadyOnSecondPoll {
            _guard: PanicsOnDrop(counted),
            polled: false,
        });
        let view = task.as_any();
        let err = aloop::wait_for(task, Duration::from_secs(5))
            .await
            .expect("the awaiter was woken")
            .unwrap_err();
        assert!(err.is_panic(), "{err:?}");
        assert!(view.done());
        let listed = aloop::all_tasks().unwrap();
        assert!(!listed.contains(&view), "a finished task stays listed");
    });
    assert_eq!(drops.get(), 1, "the future was dropped more than once");
}
