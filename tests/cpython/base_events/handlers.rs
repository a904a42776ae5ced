//! `BaseEventLoopTests` and `BaseEventLoopWithSelectorTests` of test_base_events.py on
//! the loop's exception handler, debug mode's slow-step reports and the default
//! executor. asyncio's logger is aloop's default exception handler (a line on stderr,
//! which a test cannot read), so these tests install a recording handler where CPython
//! patches the logger. Neighbours: `run_loop.rs`, `network.rs`, `sendfile.rs`.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use aloop::{new_event_loop, ExceptionContext, ThreadPoolExecutor};
use aloop_tests::{record_exceptions, stopper, Log};

use super::bounded;

/// A callback that panics after completing a future: the panic reaches the handler as
/// "Exception in callback" with its payload (the default handler is also given the
/// context, and prints it), and the loop goes on to run the future's done callback. Both
/// for `call_soon` and `call_later`.
#[test]
fn base_events_base_event_loop_default_exc_handler_callback() {
    bounded(30, || {
        let lp = new_event_loop();
        let contexts = Rc::new(std::cell::RefCell::new(Vec::<String>::new()));
        let seen = contexts.clone();
        lp.set_exception_handler(Some(move |ctx: &ExceptionContext| {
            aloop::default_exception_handler(ctx);
            seen.borrow_mut().push(ctx.to_string());
        }));
        for delayed in [false, true] {
            let fut = lp.create_future::<bool>();
            let f2 = fut.clone();
            let zero_error = move || {
                f2.set_result(true).unwrap();
                let zero = std::hint::black_box(0);
                let _ = 1 / zero;
            };
            if delayed {
                lp.call_later(Duration::from_millis(10), zero_error)
                    .unwrap();
            } else {
                lp.call_soon(zero_error).unwrap();
            }
            let lp2 = lp.clone_ref();
            fut.add_done_callback(move |_| lp2.stop());
            lp.run_forever().unwrap();
            let last = contexts.borrow().last().cloned().unwrap();
            assert!(last.starts_with("Exception in callback"), "{last}");
            assert!(last.contains("divide by zero"), "{last}");
        }
        assert_eq!(contexts.borrow().len(), 2);
    });
}

/// A task that fails and whose failure nobody retrieves is reported when it is
/// dropped: "Task exception was never retrieved" (asyncio: `Future.__del__` logs
/// "exception was never retrieved").
#[test]
fn base_events_base_event_loop_default_exc_handler_coro() {
    bounded(30, || {
        let lp = new_event_loop();
        let log = Log::new();
        record_exceptions(&lp, &log);
        let task = lp.create_task(async {
            aloop::sleep(Duration::from_millis(10)).await;
            let zero = std::hint::black_box(0);
            1 / zero
        });
        let lp2 = lp.clone_ref();
        task.add_done_callback(move |_| lp2.stop());
        lp.run_forever().unwrap();
        assert!(log.is_empty(), "{:?}", log.events());
        drop(task);
        lp.call_soon(stopper(&lp)).unwrap();
        lp.run_forever().unwrap();
        let events = log.events();
        assert_eq!(events.len(), 1, "{events:?}");
        assert!(
            events[0].starts_with("handler: Task exception was never retrieved"),
            "{events:?}"
        );
        assert!(events[0].contains("divide by zero"), "{events:?}");
    });
}

/// A custom handler receives "Exception in callback" (in debug mode too); after
/// `set_exception_handler(None)` it is no longer called (the default handler is).
#[test]
fn base_events_base_event_loop_set_exc_handler_custom() {
    let lp = new_event_loop();
    lp.set_debug(true);
    let run_loop = |lp: &aloop::EventLoop| {
        lp.call_soon(|| panic!("zero_error")).unwrap();
        lp.call_soon(stopper(lp)).unwrap();
        lp.run_forever().unwrap();
    };
    let log = Log::new();
    record_exceptions(&lp, &log);
    run_loop(&lp);
    log.assert_eq(&["handler: Exception in callback: panicked: zero_error"]);
    lp.set_exception_handler(None::<fn(&ExceptionContext)>);
    run_loop(&lp);
    assert_eq!(log.len(), 1);
}

/// A handler that itself panics does not break the loop: the loop carries on with its
/// other callbacks, and the handler is called again for the next failure. (asyncio
/// logs "Unhandled error in exception handler"; aloop prints the same words through
/// the default handler, on stderr, which the test cannot read.)
#[test]
fn base_events_base_event_loop_set_exc_handler_broken() {
    let lp = new_event_loop();
    let calls = Rc::new(Cell::new(0));
    let c = calls.clone();
    lp.set_exception_handler(Some(move |_: &ExceptionContext| {
        c.set(c.get() + 1);
        panic!("spam");
    }));
    let log = Log::new();
    for round in ["first", "second"] {
        lp.call_soon(|| panic!("zero_error")).unwrap();
        lp.call_soon(log.pusher(round)).unwrap();
        lp.call_soon(stopper(&lp)).unwrap();
        lp.run_forever().unwrap();
    }
    log.assert_eq(&["first", "second"]);
    assert_eq!(calls.get(), 2);
}

/// In debug mode, a slow callback and a slow task step are both reported: aloop prints
/// "executing a callback took .. seconds" / "executing a task step took .." on stderr
/// (asyncio logs "Executing <Handle ..> took .. seconds"), and counts each in
/// `metrics().slow_steps`, which is what the test reads.
#[test]
fn base_events_base_event_loop_with_selector_log_slow_callbacks() {
    bounded(30, || {
        let lp = new_event_loop();
        lp.set_debug(true);
        let threshold = Duration::from_millis(50);
        lp.set_slow_callback_duration(threshold);
        let lp2 = lp.clone_ref();
        lp.call_soon(move || {
            std::thread::sleep(threshold * 2);
            lp2.stop();
        })
        .unwrap();
        lp.run_forever().unwrap();
        let after_callback = lp.metrics();
        assert!(after_callback.slow_steps >= 1, "{after_callback:?}");
        assert!(after_callback.longest_callback >= threshold);

        let lp2 = lp.clone_ref();
        let _task = lp.create_task(async move {
            std::thread::sleep(threshold * 2);
            lp2.stop();
        });
        lp.run_forever().unwrap();
        let after_task = lp.metrics();
        assert!(
            after_task.slow_steps > after_callback.slow_steps,
            "{after_task:?}"
        );
        assert!(after_task.longest_task_step >= threshold);
    });
}

/// `set_default_executor` replaces the pool `run_in_executor(None, ..)` uses.
/// (asyncio's test reads the private `_default_executor`; here the job runs on a
/// thread of the new pool, named by its prefix.)
#[test]
fn base_events_base_event_loop_set_default_executor() {
    let lp = new_event_loop();
    let pool = ThreadPoolExecutor::builder()
        .max_workers(1)
        .thread_name_prefix("cpython-dummy")
        .build()
        .unwrap();
    lp.set_default_executor(pool);
    let job = lp.run_in_executor(None, || std::thread::current().name().map(str::to_owned));
    let name = lp.run_until_complete(job).unwrap().unwrap().unwrap();
    assert!(name.starts_with("cpython-dummy"), "{name}");
    lp.run_until_complete({
        let lp = lp.clone_ref();
        async move { lp.shutdown_default_executor().await }
    })
    .unwrap();
}
