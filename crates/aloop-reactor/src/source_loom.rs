//! loom models of a source's readiness protocol (`source.rs`): the reactor's
//! `set_ready` racing a task's `register_waker`, and racing a task's `WouldBlock`
//! (`snapshot`, then `clear`) followed by its registration. In every interleaving a
//! task that goes to sleep is woken, or sees the readiness before it sleeps.
//!
//! Run: `RUSTFLAGS="--cfg loom" cargo test -p aloop-reactor --release --lib source_loom`

use std::sync::Arc;
use std::task::{Context, Wake, Waker};

use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use loom::thread;

use crate::source::{Dir, Mode, Source};

/// Counts its wake-ups.
struct Count(AtomicUsize);

impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn source(ready: bool) -> Arc<Source> {
    Arc::new(Source::new(3, 0, Mode::Edge, true, (ready, false)))
}

/// What the reactor does for one event: mark ready, then wake what it took.
fn deliver(source: &Source) {
    let mut wakers = Vec::new();
    source.set_ready(Dir::Read, &mut wakers);
    wakers.into_iter().for_each(Waker::wake);
}

/// The reactor's thread, delivering one event on `source` while the model's thread
/// goes on.
fn event_on_another_thread(source: &Arc<Source>) -> thread::JoinHandle<()> {
    let source = source.clone();
    thread::spawn(move || deliver(&source))
}

/// Registers a waker counting into `count` while the reactor's thread delivers an
/// event, and checks that the task saw readiness at once or was woken (`wakes` in all).
fn register_racing_an_event(src: &Arc<Source>, count: &Arc<Count>, wakes: usize) {
    let reactor = event_on_another_thread(src);
    let waker = Waker::from(count.clone());
    let saw_ready = src
        .register_waker(Dir::Read, &mut Context::from_waker(&waker))
        .is_ready();
    reactor.join().unwrap();
    assert!(
        saw_ready || count.0.load(SeqCst) == wakes,
        "the task slept through the event"
    );
}

#[test]
fn an_event_racing_a_registration_is_never_lost() {
    loom::model(|| {
        let src = source(false);
        let count = Arc::new(Count(AtomicUsize::new(0)));
        register_racing_an_event(&src, &count, 1);
        assert!(Source::is_ready(src.snapshot(Dir::Read)));
    });
}

#[test]
fn an_event_racing_a_would_block_is_never_lost() {
    loom::model(|| {
        let src = source(true);
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let reactor = event_on_another_thread(&src);
        // The task's read: it looked, the read said WouldBlock, it clears and waits.
        let snap = src.snapshot(Dir::Read);
        src.clear(Dir::Read, snap);
        let waker = Waker::from(count.clone());
        let slept = !Source::is_ready(src.snapshot(Dir::Read))
            && src
                .register_waker(Dir::Read, &mut Context::from_waker(&waker))
                .is_pending();
        reactor.join().unwrap();
        if slept {
            assert_eq!(count.0.load(SeqCst), 1, "the task slept through the event");
        }
        assert!(
            slept || Source::is_ready(src.snapshot(Dir::Read)),
            "readiness was lost"
        );
    });
}

#[test]
fn a_second_wait_after_a_wake_up_is_woken_too() {
    loom::model(|| {
        let src = source(false);
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        // First wait, ended by an event delivered before the model's race starts.
        assert!(src
            .register_waker(Dir::Read, &mut Context::from_waker(&waker))
            .is_pending());
        deliver(&src);
        assert_eq!(count.0.load(SeqCst), 1);
        // The task consumes the readiness, then waits again while the next event
        // comes: WAITING was cleared by the first delivery and must be set anew.
        src.clear(Dir::Read, src.snapshot(Dir::Read));
        register_racing_an_event(&src, &count, 2);
    });
}
