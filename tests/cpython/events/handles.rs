//! `HandleTests` and `TimerTests` of test_events.py: what `call_soon` / `call_later` /
//! `call_at` hand back. CPython builds `Handle` / `TimerHandle` objects directly on a
//! mock loop; aloop's handles come only from the loop, so each test gets its handle
//! from a real one. Neighbours: `run_loop.rs`.

use std::rc::Rc;
use std::time::Duration;

use aloop::new_event_loop;
use aloop_tests::{record_exceptions, stopper, Log};

/// A handle is live until cancelled, and a cancelled one does not run.
#[test]
fn events_handle_handle() {
    let lp = new_event_loop();
    let log = Log::new();
    let h = lp.call_soon(log.pusher("ran")).unwrap();
    assert!(!h.cancelled());
    h.cancel();
    assert!(h.cancelled());
    lp.call_soon(stopper(&lp)).unwrap();
    lp.run_forever().unwrap();
    assert!(log.is_empty());
}

/// A callback that panics is reported as "Exception in callback" (CPython calls the
/// handle's private `_run()`; here the loop runs it).
#[test]
fn events_handle_callback_with_exception() {
    let lp = new_event_loop();
    let log = Log::new();
    record_exceptions(&lp, &log);
    lp.call_soon(|| panic!("ValueError")).unwrap();
    lp.call_soon(stopper(&lp)).unwrap();
    lp.run_forever().unwrap();
    log.assert_eq(&["handler: Exception in callback: panicked: ValueError"]);
}

/// *Difference*: asyncio's `repr` names the callback, its arguments and its source
/// line (`<Handle noop(1, 2) at file:line>`), then `<Handle cancelled>`; a Rust closure
/// has no name or source to show, so the `Debug` form gives the state only.
#[test]
fn events_handle_handle_repr() {
    let lp = new_event_loop();
    let h = lp.call_soon(|| ()).unwrap();
    let live = format!("{h:?}");
    assert!(live.starts_with("Handle"), "{live}");
    assert!(live.contains("cancelled: false"), "{live}");
    h.cancel();
    let cancelled = format!("{h:?}");
    assert!(cancelled.contains("cancelled: true"), "{cancelled}");
}

/// `when()` is the deadline given to `call_at`.
#[test]
fn events_timer_when() {
    let lp = new_event_loop();
    let when = lp.time() + Duration::from_secs(60);
    let h = lp.call_at(when, || ()).unwrap();
    assert_eq!(h.when(), when);
}

/// Cancelling a timer marks it cancelled and lets go of the callback at once (asyncio
/// sets `_callback` and `_args` to `None`; here what the closure holds is dropped).
#[test]
fn events_timer_timer() {
    let lp = new_event_loop();
    let args = Rc::new((1, 2, 3));
    let held = args.clone();
    let h = lp
        .call_later(Duration::from_secs(60), move || {
            let _ = &held;
        })
        .unwrap();
    assert!(!h.cancelled());
    assert_eq!(Rc::strong_count(&args), 2);
    h.cancel();
    assert!(h.cancelled());
    assert_eq!(Rc::strong_count(&args), 1);
}

/// *Difference*: asyncio's `repr` is `<TimerHandle when=123 noop() at file:line>`, then
/// `<TimerHandle cancelled when=123>`; aloop's `Debug` form gives the deadline and the
/// state, as a closure has no name or source to show.
#[test]
fn events_timer_timer_repr() {
    let lp = new_event_loop();
    let when = lp.time() + Duration::from_secs(60);
    let h = lp.call_at(when, || ()).unwrap();
    let live = format!("{h:?}");
    assert!(live.starts_with("TimerHandle"), "{live}");
    assert!(live.contains(&format!("when: {when:?}")), "{live}");
    assert!(live.contains("cancelled: false"), "{live}");
    h.cancel();
    let cancelled = format!("{h:?}");
    assert!(
        cancelled.contains(&format!("when: {when:?}")),
        "{cancelled}"
    );
    assert!(cancelled.contains("cancelled: true"), "{cancelled}");
}
