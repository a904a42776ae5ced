//! A `TaskGroup` never loses a failure: panics it collected but never returned (the
//! group dropped unjoined, or dropped by an outer group's failure while it was being
//! awaited) reach the loop's exception handler, as a task's unretrieved panic does.
//! The group's other behaviours are in tests/conformance (D20-D25) and tests/cpython.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// Installs a handler recording each context's `Display` form.
fn record_reports() -> Rc<RefCell<Vec<String>>> {
    let reports: Rc<RefCell<Vec<String>>> = Rc::default();
    let sink = reports.clone();
    aloop::get_running_loop()
        .unwrap()
        .set_exception_handler(Some(move |ctx: &aloop::ExceptionContext| {
            sink.borrow_mut().push(ctx.to_string())
        }));
    reports
}

async fn ticks(n: usize) {
    for _ in 0..n {
        aloop::sleep(Duration::ZERO).await;
    }
}

#[test]
fn a_failure_of_a_group_dropped_unjoined_is_reported() {
    aloop::run(async {
        let reports = record_reports();
        let tg = aloop::TaskGroup::new();
        tg.create_task(async { panic!("lost") });
        ticks(2).await;
        assert!(tg.is_aborting());
        assert!(reports.borrow().is_empty());
        drop(tg);
        assert_eq!(
            *reports.borrow(),
            ["TaskGroup exception was never retrieved: panicked: lost"]
        );
    });
}

/// CPython's test_taskgroups `test_nested_groups_both_cancelled`: the outer group's
/// failure drops the body, and with it the inner group, which had failed too.
#[test]
fn a_failure_of_an_inner_group_dropped_by_the_outer_failure_is_reported() {
    aloop::run(async {
        let reports = record_reports();
        let outer = aloop::task_group(|outer| async move {
            aloop::task_group(|inner| async move {
                inner.create_task(async { panic!("inner") });
                outer.create_task(async { panic!("outer") });
            })
            .await
        })
        .await
        .unwrap_err();
        assert_eq!(outer.errors().len(), 1);
        assert_eq!(outer.errors()[0].message(), "outer");
        assert_eq!(
            *reports.borrow(),
            ["TaskGroup exception was never retrieved: panicked: inner"]
        );
    });
}

#[test]
fn a_joined_group_reports_nothing() {
    aloop::run(async {
        let reports = record_reports();
        let tg = aloop::TaskGroup::new();
        tg.create_task(async { panic!("returned") });
        let err = tg.join().await.unwrap_err();
        assert_eq!(err.errors()[0].message(), "returned");
        ticks(2).await;
        assert!(reports.borrow().is_empty());
    });
}
