//! Eager tasks (Python 3.12's `eager_start`): the first step runs inside
//! `create_eager_task`; a task that finishes there is done at once and never enters the
//! ready queue; one that waits goes on as a normal task; the current task during the
//! eager step is the new task; done callbacks are still scheduled; the eager task
//! factory makes `create_task` eager; a loop that is not running starts it normally.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

type Log = Rc<RefCell<Vec<String>>>;

fn push(log: &Log, s: impl Into<String>) {
    log.borrow_mut().push(s.into());
}

#[test]
fn a_task_that_finishes_in_its_first_step_is_done_before_anything_queued_runs() {
    let log: Log = Rc::default();
    let l = log.clone();
    aloop::run(async move {
        let lp = aloop::get_running_loop().unwrap();
        let queued = l.clone();
        lp.call_soon(move || push(&queued, "queued callback"))
            .unwrap();
        let step = l.clone();
        let task = aloop::create_eager_task(async move {
            push(&step, "eager step");
            7
        });
        push(&l, format!("created, done: {}", task.done()));
        assert_eq!(task.await.unwrap(), 7);
        // A normal task, for contrast: it runs after what was queued before it.
        let queued = l.clone();
        lp.call_soon(move || push(&queued, "queued callback 2"))
            .unwrap();
        let step = l.clone();
        let normal = aloop::create_task(async move { push(&step, "normal step") });
        push(&l, format!("created, done: {}", normal.done()));
        normal.await.unwrap();
    });
    assert_eq!(
        *log.borrow(),
        [
            // Queued before the eager task was made, yet run after its whole life:
            // awaiting a finished task does not yield either.
            "eager step",
            "created, done: true",
            "created, done: false",
            "queued callback",
            "queued callback 2",
            "normal step",
        ]
    );
}

#[test]
fn a_task_that_waits_goes_on_as_a_normal_task_and_is_current_in_its_step() {
    aloop::run(async {
        let outer = aloop::current_task().unwrap().unwrap();
        let seen = Rc::new(RefCell::new(None));
        let s = seen.clone();
        let task = aloop::create_eager_task(async move {
            *s.borrow_mut() = aloop::current_task().unwrap();
            aloop::sleep(Duration::from_millis(10)).await;
            "slept"
        });
        assert!(!task.done(), "it waits on a timer");
        let current_in_step = seen.borrow().clone().unwrap();
        assert!(
            current_in_step == task.as_any(),
            "the eager task was current in its step"
        );
        assert!(
            aloop::current_task().unwrap().unwrap() == outer,
            "and the caller again after"
        );
        assert_eq!(task.await.unwrap(), "slept");
    });
}

#[test]
fn done_callbacks_of_an_eagerly_finished_task_are_scheduled_not_inline() {
    let log: Log = Rc::default();
    let l = log.clone();
    aloop::run(async move {
        let task = aloop::create_eager_task(async { 1 });
        let cb = l.clone();
        task.add_done_callback(move |_| push(&cb, "done callback"));
        push(&l, "after add_done_callback");
        aloop::sleep(Duration::ZERO).await;
        push(&l, "next iteration");
    });
    assert_eq!(
        *log.borrow(),
        ["after add_done_callback", "done callback", "next iteration"]
    );
}

#[test]
fn the_eager_task_factory_makes_create_task_eager_and_a_stopped_loop_starts_normally() {
    let lp = aloop::new_event_loop();
    // Not running: queued as usual.
    let early = lp.create_eager_task(async { 1 });
    assert!(!early.done());
    lp.set_eager_task_factory(true);
    assert!(lp.eager_task_factory());
    lp.run_until_complete(async {
        let t = aloop::create_task(async { 2 });
        assert!(t.done(), "the factory made it eager");
        let lp = aloop::get_running_loop().unwrap();
        let t2 = lp.create_task(async { 3 });
        assert!(t2.done());
        assert_eq!(t.await.unwrap() + t2.await.unwrap(), 5);
    })
    .unwrap();
    assert_eq!(lp.run_until_complete(early).unwrap().unwrap(), 1);
    lp.set_eager_task_factory(false);
    lp.run_until_complete(async {
        assert!(!aloop::create_task(async {}).done());
    })
    .unwrap();
}

#[test]
fn an_eager_step_that_panics_gives_a_panicked_task_and_the_loop_runs_on() {
    aloop::run(async {
        let task = aloop::create_eager_task(async {
            panic!("eager failure");
        });
        assert!(task.done());
        assert!(matches!(task.await, Err(aloop::TaskError::Panicked(_))));
        assert_eq!(aloop::create_eager_task(async { 5 }).await.unwrap(), 5);
    });
}

/// A task offered to a task group that is finished (or failing) is returned cancelled and
/// its future never runs, also when the eager factory would start it inside
/// `create_task` (CPython's test_taskgroups, `TestEagerTaskTaskGroup.test_taskgroup_finished`).
#[test]
fn a_finished_task_group_never_runs_an_offered_task_under_the_eager_factory() {
    aloop::run(async {
        aloop::get_running_loop()
            .unwrap()
            .set_eager_task_factory(true);
        let tg = aloop::TaskGroup::new();
        tg.clone().join().await.unwrap();
        let ran = Rc::new(std::cell::Cell::new(false));
        let r = ran.clone();
        let late = tg.create_task(async move { r.set(true) });
        assert!(matches!(late.await, Err(aloop::TaskError::Cancelled)));
        assert!(!ran.get(), "the offered future ran");
    });
}

/// `create_task_with`: `eager_start` overrides the loop's factory either way, and a
/// name given at creation is the task's name during an eager first step.
#[test]
fn task_options_choose_eager_or_queued_and_name_the_first_step() {
    aloop::run(async {
        let lp = aloop::get_running_loop().unwrap();
        let own_name = || aloop::current_task().unwrap().unwrap().get_name();
        let eager = aloop::create_task_with(
            async move { own_name() },
            aloop::TaskOptions {
                name: Some("eager one".into()),
                eager_start: Some(true),
            },
        );
        assert!(eager.done(), "eager_start: Some(true) ran inside the call");
        assert_eq!(eager.await.unwrap(), "eager one");

        lp.set_eager_task_factory(true);
        let queued = lp.create_task_with(
            async move { own_name() },
            aloop::TaskOptions {
                name: Some("queued one".into()),
                eager_start: Some(false),
            },
        );
        assert!(!queued.done(), "eager_start: Some(false) beats the factory");
        assert_eq!(queued.await.unwrap(), "queued one");

        let by_factory = aloop::create_task_with(async {}, aloop::TaskOptions::default());
        assert!(by_factory.done(), "eager_start: None follows the factory");
        assert!(by_factory.get_name().starts_with("Task-"));
        lp.set_eager_task_factory(false);
    });
}
