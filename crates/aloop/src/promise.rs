//! `Promise<T>`: asyncio's `Future`, a result container set from the outside, awaited by
//! any number of tasks, with done callbacks scheduled through the loop.
//!
//! Named `Promise` so it does not clash with `std::future::Future`. asyncio's
//! `set_exception` maps to `T = Result<U, E>` and `set_result(Err(e))`.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use crate::error::{Cancelled, InvalidStateError, PromiseError};
use crate::loop_state::LoopState;
use crate::task::{note_wait, set_awaiting, CancelOps, CancelTarget, WaitKind};

enum State<T> {
    Pending,
    Done(T),
    Cancelled,
}

/// A waiter in registration order: a task's waker or a user callback. asyncio keeps both
/// in one list, so a woken task and a callback run in the order they were added.
enum Waiter<T> {
    Waker(Waker),
    Callback(u64, DoneCallback<T>),
}

type DoneCallback<T> = Box<dyn FnOnce(&Promise<T>)>;

/// `repr(C)`, `cancel_ops` first: a task awaiting the promise keeps a thin pointer to it
/// (`CancelTarget`).
#[repr(C)]
struct PromiseCore<T> {
    cancel_ops: CancelOps,
    state: RefCell<State<T>>,
    waiters: RefCell<Vec<Waiter<T>>>,
    next_id: Cell<u64>,
    home: Weak<LoopState>,
    /// Lets the core rebuild a handle for callbacks when cancelled through an awaiter.
    me: Weak<PromiseCore<T>>,
}

/// A result container bound to a loop (asyncio's `Future`); clones share it.
///
/// ```
/// let lp = aloop::new_event_loop();
/// let p = lp.create_future::<u32>();
/// p.add_done_callback(|p| println!("callback sees {:?}", p.result()));
/// p.set_result(7).unwrap();
/// assert!(p.set_result(8).is_err()); // only once
/// assert_eq!(p.result(), Ok(7));
/// let got = lp.run_until_complete(p.clone()).unwrap();
/// assert_eq!(got, Ok(7));
/// ```
pub struct Promise<T> {
    inner: Rc<PromiseCore<T>>,
}

impl<T> Clone for Promise<T> {
    fn clone(&self) -> Self {
        Promise {
            inner: self.inner.clone(),
        }
    }
}

impl<T: 'static> Promise<T> {
    pub(crate) fn new(home: &Rc<LoopState>) -> Self {
        Promise {
            inner: Rc::new_cyclic(|me| PromiseCore {
                cancel_ops: CancelOps::of::<PromiseCore<T>>(),
                state: RefCell::new(State::Pending),
                waiters: RefCell::new(Vec::new()),
                next_id: Cell::new(0),
                home: Rc::downgrade(home),
                me: me.clone(),
            }),
        }
    }

    /// Sets the result: wakes the awaiting tasks and schedules the done callbacks, in
    /// registration order, with `call_soon` (nothing runs inside this call). A second call,
    /// or a call on a cancelled promise, is an `InvalidStateError` and changes nothing.
    pub fn set_result(&self, value: T) -> Result<(), InvalidStateError> {
        {
            let mut state = self.inner.state.borrow_mut();
            if !matches!(*state, State::Pending) {
                return Err(InvalidStateError::ALREADY_DONE);
            }
            *state = State::Done(value);
        }
        self.inner.schedule_waiters();
        Ok(())
    }

    /// Cancels a pending promise (returns `true`); on a done one returns `false`.
    pub fn cancel(&self) -> bool {
        self.inner.cancel()
    }

    /// Whether a result was set or the promise was cancelled.
    pub fn done(&self) -> bool {
        !matches!(*self.inner.state.borrow(), State::Pending)
    }

    /// Whether the promise was cancelled.
    pub fn cancelled(&self) -> bool {
        matches!(*self.inner.state.borrow(), State::Cancelled)
    }

    /// The result, cloned; `InvalidState` while pending, `Cancelled` if cancelled.
    pub fn result(&self) -> Result<T, PromiseError>
    where
        T: Clone,
    {
        match &*self.inner.state.borrow() {
            State::Pending => Err(PromiseError::InvalidState(InvalidStateError::NOT_SET)),
            State::Done(v) => Ok(v.clone()),
            State::Cancelled => Err(PromiseError::Cancelled),
        }
    }

    /// Schedules `callback` for when the promise is done (at once, through `call_soon`,
    /// if it already is). Returns an id for [`Promise::remove_done_callback`].
    pub fn add_done_callback(&self, callback: impl FnOnce(&Promise<T>) + 'static) -> u64 {
        let id = self.inner.next_id.get();
        self.inner.next_id.set(id + 1);
        if self.done() {
            self.inner.schedule_callback(Box::new(callback));
        } else {
            self.inner
                .waiters
                .borrow_mut()
                .push(Waiter::Callback(id, Box::new(callback)));
        }
        id
    }

    /// Removes a done callback not yet scheduled; returns whether it was found.
    pub fn remove_done_callback(&self, id: u64) -> bool {
        let mut waiters = self.inner.waiters.borrow_mut();
        let before = waiters.len();
        waiters.retain(|w| !matches!(w, Waiter::Callback(i, _) if *i == id));
        before != waiters.len()
    }
}

impl<T: Clone + 'static> Future for Promise<T> {
    type Output = Result<T, Cancelled>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &*self.inner.state.borrow() {
            State::Done(v) => return Poll::Ready(Ok(v.clone())),
            State::Cancelled => return Poll::Ready(Err(Cancelled)),
            State::Pending => {}
        }
        let mut waiters = self.inner.waiters.borrow_mut();
        let known = waiters
            .iter()
            .any(|w| matches!(w, Waiter::Waker(k) if k.will_wake(cx.waker())));
        if !known {
            waiters.push(Waiter::Waker(cx.waker().clone()));
        }
        drop(waiters);
        set_awaiting(self.inner.clone());
        note_wait(WaitKind::Promise, !known);
        Poll::Pending
    }
}

impl<T: 'static> PromiseCore<T> {
    fn cancel(&self) -> bool {
        {
            let mut state = self.state.borrow_mut();
            if !matches!(*state, State::Pending) {
                return false;
            }
            *state = State::Cancelled;
        }
        self.schedule_waiters();
        true
    }

    fn schedule_callback(&self, callback: DoneCallback<T>) {
        let (Some(home), Some(inner)) = (self.home.upgrade(), self.me.upgrade()) else {
            return;
        };
        let me = Promise { inner };
        home.call_soon(move || callback(&me));
    }

    fn schedule_waiters(&self) {
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        for waiter in waiters {
            match waiter {
                Waiter::Waker(w) => w.wake(),
                Waiter::Callback(_, cb) => self.schedule_callback(cb),
            }
        }
    }
}

// SAFETY: `repr(C)` with `CancelOps::of::<Self>()` as first field, set in `Promise::new`.
unsafe impl<T: 'static> CancelTarget for PromiseCore<T> {
    const KIND: &'static str = "Promise";

    fn cancel_from_awaiter(&self) {
        self.cancel();
    }
}

impl<T> fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &*self.inner.state.borrow() {
            State::Pending => "pending",
            State::Done(_) => "done",
            State::Cancelled => "cancelled",
        };
        f.debug_struct("Promise").field("state", &state).finish()
    }
}
