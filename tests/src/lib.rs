//! Shared helpers for the workspace integration tests (`conformance/`, `stress/`).
//!
//! The conformance tests mirror the catalogue's Python snippets, whose observable output
//! is a sequence of printed lines; [`Log`] is the Rust stand-in for that stdout, so each
//! test can assert the exact sequence of events.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
pub mod combinators;
pub mod cpython;
pub mod tls_certs;

use std::rc::Rc;
use std::task::{Context, Poll};

/// An ordered record of events, shared by the callbacks and tasks of one test (the
/// snippet's `print`). Cloning shares the same record.
#[derive(Clone, Default)]
pub struct Log(Rc<RefCell<Vec<String>>>);

impl Log {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends one event.
    pub fn push(&self, event: impl Into<String>) {
        self.0.borrow_mut().push(event.into());
    }

    /// A closure that appends `event` when called: the `loop.call_soon(print, "x")` idiom.
    pub fn pusher(&self, event: impl Into<String>) -> impl FnOnce() + 'static {
        let log = self.clone();
        let event = event.into();
        move || log.push(event)
    }

    /// The events so far, in order.
    pub fn events(&self) -> Vec<String> {
        self.0.borrow().clone()
    }

    /// Number of events so far.
    pub fn len(&self) -> usize {
        self.0.borrow().len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.borrow().is_empty()
    }

    /// Asserts the events are exactly `expected`, in order.
    #[track_caller]
    pub fn assert_eq(&self, expected: &[&str]) {
        assert_eq!(self.events(), expected);
    }
}

/// Suspends the current task exactly once, without the loop's timer machinery: it wakes
/// itself and returns `Pending`, so the task goes to the back of the ready queue (what
/// `asyncio.sleep(0)` does). Works under any executor.
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// The future returned by [`yield_now`].
#[must_use = "yield_now does nothing unless awaited"]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Runs a closure when dropped. A task's future is dropped when the task is cancelled
/// (Rust's form of `CancelledError` at the current `await`), so a `Defer` held across an
/// `await` is where the Python snippets' `except CancelledError:` / `finally:` code goes.
pub struct Defer<F: FnMut()>(pub F);

impl<F: FnMut()> Drop for Defer<F> {
    fn drop(&mut self) {
        (self.0)();
    }
}

/// A closure that stops `lp` when called: the `loop.call_soon(loop.stop)` idiom.
pub fn stopper(lp: &aloop::LoopRef) -> impl FnOnce() + 'static {
    let lp = lp.clone_ref();
    move || lp.stop()
}

/// Installs an exception handler on `lp` that records each context into `log` as
/// `"handler: <context>"`, the context in its `Display` form: the message, then
/// ` (task NAME)` when a task is involved, then `: panicked: MSG` when there was a panic.
pub fn record_exceptions(lp: &aloop::LoopRef, log: &Log) {
    let log = log.clone();
    lp.set_exception_handler(Some(move |ctx: &aloop::ExceptionContext| {
        log.push(format!("handler: {ctx}"));
    }));
}

/// A tiny deterministic PRNG (xorshift64*), so the stress tests' "random" deadlines are
/// reproducible from a seed without an extra dependency.
pub struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (zero is remapped, as xorshift must not start at 0).
    pub fn new(seed: u64) -> Self {
        XorShift(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next 64 pseudo-random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..bound`.
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}
