//! `EventLoopTestsMixin` of test_events.py on `add_signal_handler`: its argument errors,
//! a real SIGINT handled and the default action restored on removal, and SIGALRM
//! arriving while the loop waits. The tests of this file take one lock, so two of them
//! never wait for the same process-wide signal at once. Neighbours: `run_loop.rs`,
//! `fds.rs`.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Mutex;
use std::time::Duration;

use aloop::signal::{SIGALRM, SIGINT, SIGKILL};
use aloop::{new_event_loop, SignalHandlerError};

use super::{bounded, wait_until};

/// Held by each test of this file for its whole run.
static SIGNALS: Mutex<()> = Mutex::new(());

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SIGNALS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// SIGALRM once, `after` from now (`signal.setitimer(ITIMER_REAL, after)`).
fn alarm_in(after: Duration) {
    let timer = libc::itimerval {
        it_interval: libc::timeval {
            tv_sec: 0,
            tv_usec: 0,
        },
        it_value: libc::timeval {
            tv_sec: after.as_secs() as libc::time_t,
            tv_usec: after.subsec_micros() as libc::suseconds_t,
        },
    };
    // SAFETY: `timer` is a valid `itimerval`; the old value is not asked for.
    let r = unsafe { libc::setitimer(libc::ITIMER_REAL, &timer, std::ptr::null_mut()) };
    assert_eq!(r, 0);
}

/// Out-of-range numbers and uncatchable signals are refused, a handled SIGINT runs the
/// handler on the loop, and it can be removed once. CPython's
/// `add_signal_handler('boom', ..)` (`TypeError`) does not compile here.
/// *Difference*: `remove_signal_handler` of an out-of-range number returns `false`
/// (asyncio raises `ValueError`); and after the removal asyncio reads back
/// `signal.default_int_handler` with `getsignal`, while aloop's process-wide action
/// stays installed (the `signal-hook` registry cannot remove it) and, with no loop
/// listening, does what the default disposition would do, which only a second SIGINT
/// could show (ending this test process), so it is not checked here.
#[test]
fn events_event_loop_add_signal_handler() {
    let _serial = lock();
    bounded(30, || {
        let lp = new_event_loop();
        let caught = Rc::new(Cell::new(0));
        let handler = |c: &Rc<Cell<i32>>| {
            let c = c.clone();
            move || c.set(c.get() + 1)
        };
        let nsig = libc::SIGRTMAX() + 1;
        for bad in [nsig + 1, 0, -1] {
            let r = lp.add_signal_handler(bad, handler(&caught));
            assert!(
                matches!(r, Err(SignalHandlerError::OutOfRange(n)) if n == bad),
                "{bad}: {r:?}"
            );
            assert!(!lp.remove_signal_handler(bad));
        }
        let r = lp.add_signal_handler(SIGKILL, handler(&caught));
        assert!(
            matches!(r, Err(SignalHandlerError::Uncatchable(n)) if n == SIGKILL),
            "{r:?}"
        );
        assert!(!lp.remove_signal_handler(SIGKILL));

        lp.add_signal_handler(SIGINT, handler(&caught)).unwrap();
        // SAFETY: sends SIGINT to this process, which the handler above now catches.
        assert_eq!(unsafe { libc::kill(libc::getpid(), SIGINT) }, 0);
        let c = caught.clone();
        lp.run_until_complete(async move { wait_until(|| c.get() > 0).await })
            .unwrap();
        assert_eq!(caught.get(), 1);
        assert!(lp.remove_signal_handler(SIGINT));
        assert!(!lp.remove_signal_handler(SIGINT));
    });
}

/// A signal arriving while the loop is blocked waiting (a timer 60 s away) runs the
/// handler, once.
#[test]
fn events_event_loop_signal_handling_while_selecting() {
    let _serial = lock();
    bounded(30, || {
        let lp = new_event_loop();
        let caught = Rc::new(Cell::new(0));
        let (c, lp2) = (caught.clone(), lp.clone_ref());
        lp.add_signal_handler(SIGALRM, move || {
            c.set(c.get() + 1);
            lp2.stop();
        })
        .unwrap();
        alarm_in(Duration::from_millis(10));
        let lp2 = lp.clone_ref();
        lp.call_later(Duration::from_secs(60), move || lp2.stop())
            .unwrap();
        lp.run_forever().unwrap();
        assert_eq!(caught.get(), 1);
        assert!(lp.remove_signal_handler(SIGALRM));
    });
}

/// `add_signal_handler(sig, handler, *args)`: the closure carries the arguments.
#[test]
fn events_event_loop_signal_handling_args() {
    let _serial = lock();
    bounded(30, || {
        let lp = new_event_loop();
        let some_args = (42,);
        let caught = Rc::new(Cell::new(0));
        let (c, lp2) = (caught.clone(), lp.clone_ref());
        let my_handler = move |args: (i32,)| {
            c.set(c.get() + 1);
            assert_eq!(args, (42,));
            lp2.stop();
        };
        lp.add_signal_handler(SIGALRM, move || my_handler(some_args))
            .unwrap();
        alarm_in(Duration::from_millis(100));
        let lp2 = lp.clone_ref();
        lp.call_later(Duration::from_secs(60), move || lp2.stop())
            .unwrap();
        lp.run_forever().unwrap();
        assert_eq!(caught.get(), 1);
        assert!(lp.remove_signal_handler(SIGALRM));
    });
}
