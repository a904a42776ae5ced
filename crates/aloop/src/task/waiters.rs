//! Whoever waits for a task — the task awaiting its handle, and the done callbacks — in
//! one word, which the task's record keeps until the task is done (`completion.rs`).
//!
//! The common case, another aloop task awaiting the handle directly, keeps a reference
//! to that task (its own waker is the same thing) and allocates nothing. A foreign
//! waker (a combinator's, another executor's) is boxed, and done callbacks go in a
//! boxed list, in registration order with the awaiter, as asyncio keeps them. One word
//! rather than a 16-byte `Waker` is what keeps a trivial task in the same malloc size
//! class now that the meta records the task's creation site and its wait
//! (`docs/benchmarks.md`, "Spawn: where the bytes go").

use std::ptr::{null_mut, NonNull};
use std::task::Waker;

use aloop_executor::TaskRef;

/// A done callback, given a reference to the finished task (the typed handle is rebuilt
/// from it in `task_handle.rs`).
pub(super) type DoneCallback = Box<dyn FnOnce(TaskRef)>;

/// One entry of a waiter list: the awaiter's waker, or a done callback with its id.
pub(super) enum Waiter {
    Waker(Waker),
    Callback(u64, DoneCallback),
}

/// A boxed list: a thin pointer, so it fits the tagged word.
#[allow(clippy::box_collection)]
pub(super) type WaiterList = Box<Vec<Waiter>>;

/// The slot's content, taken out.
pub(super) enum Waiters {
    None,
    /// The awaiting task, which polls the handle with its own waker.
    Task(TaskRef),
    /// An awaiter's waker that is not a task's own.
    Waker(Box<Waker>),
    /// Done callbacks and maybe the awaiter's waker, in registration order.
    List(WaiterList),
}

// Tags in the low bits of the word (every pointer here is 8-aligned).
const TASK: usize = 0;
const WAKER: usize = 1;
const LIST: usize = 2;
const TAG: usize = 7;

/// The word: null, or a tagged pointer owning what `Waiters` says.
pub(super) struct WaiterWord(*mut ());

fn tagged<T>(ptr: *mut T, tag: usize) -> *mut () {
    debug_assert_eq!(ptr as usize & TAG, 0);
    ptr.cast::<u8>().wrapping_add(tag).cast()
}

impl WaiterWord {
    /// Nobody waits.
    pub(super) const EMPTY: WaiterWord = WaiterWord(null_mut());

    /// Whether nobody waits.
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_null()
    }

    /// Gives up the word for what it owns.
    pub(super) fn into_waiters(mut self) -> Waiters {
        self.take()
    }

    fn take(&mut self) -> Waiters {
        let word = std::mem::replace(&mut self.0, null_mut());
        let Some(ptr) = NonNull::new(word.cast::<u8>()) else {
            return Waiters::None;
        };
        let tag = word as usize & TAG;
        let untagged = ptr.as_ptr().wrapping_sub(tag);
        match tag {
            // SAFETY: made by `from_waiters` from `TaskRef::into_raw`; the word gives its
            // reference back exactly once (it is null now).
            TASK => Waiters::Task(unsafe { TaskRef::from_raw(ptr.cast()) }),
            // SAFETY: made by `from_waiters` from `Box::into_raw` of this type; once.
            WAKER => Waiters::Waker(unsafe { Box::from_raw(untagged.cast()) }),
            // SAFETY: as above.
            _ => Waiters::List(unsafe { Box::from_raw(untagged.cast()) }),
        }
    }

    /// The word owning `waiters`.
    pub(super) fn from_waiters(waiters: Waiters) -> WaiterWord {
        WaiterWord(match waiters {
            Waiters::None => null_mut(),
            Waiters::Task(task) => tagged(task.into_raw().as_ptr(), TASK),
            Waiters::Waker(waker) => tagged(Box::into_raw(waker), WAKER),
            Waiters::List(list) => tagged(Box::into_raw(list), LIST),
        })
    }
}

impl Drop for WaiterWord {
    fn drop(&mut self) {
        drop(self.take());
    }
}

impl Waiters {
    /// The awaiter for `waker`: `current`, the running task, when `waker` is its own.
    pub(super) fn awaiter(waker: &Waker, current: Option<TaskRef>) -> Waiters {
        match current {
            Some(task) if task.is_waker_of(waker) => Waiters::Task(task),
            _ => Waiters::Waker(Box::new(waker.clone())),
        }
    }

    /// Whether the awaiter is `waker` already.
    pub(super) fn wakes(&self, waker: &Waker) -> bool {
        match self {
            Waiters::Task(task) => task.is_waker_of(waker),
            Waiters::Waker(w) => w.will_wake(waker),
            Waiters::None | Waiters::List(_) => false,
        }
    }

    /// As a list (a done callback is being added).
    pub(super) fn into_list(self) -> WaiterList {
        match self {
            Waiters::None => Box::default(),
            Waiters::Task(task) => Box::new(vec![Waiter::Waker(task.into_waker())]),
            Waiters::Waker(waker) => Box::new(vec![Waiter::Waker(*waker)]),
            Waiters::List(list) => list,
        }
    }
}
