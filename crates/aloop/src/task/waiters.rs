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

fn tagged<T>(ptr: *mut T, tag: usize) -> *mut () {
    debug_assert_eq!(ptr as usize & TAG, 0);
    ptr.cast::<u8>().wrapping_add(tag).cast()
}

impl Waiters {
    /// As one word: null, or a tagged pointer owning what `self` held. Whoever keeps the
    /// word owns that, and gives it back with [`Waiters::from_word`] exactly once.
    #[inline]
    pub(super) fn into_word(self) -> *mut () {
        match self {
            Waiters::None => null_mut(),
            Waiters::Task(task) => tagged(task.into_raw().as_ptr(), TASK),
            Waiters::Waker(waker) => tagged(Box::into_raw(waker), WAKER),
            Waiters::List(list) => tagged(Box::into_raw(list), LIST),
        }
    }

    /// What [`Waiters::into_word`] made `word` from.
    ///
    /// # Safety
    /// `word` came from `into_word` and was not given back before (null may be given
    /// back any number of times).
    #[inline]
    pub(super) unsafe fn from_word(word: *mut ()) -> Waiters {
        let Some(ptr) = NonNull::new(word.cast::<u8>()) else {
            return Waiters::None;
        };
        let tag = word as usize & TAG;
        let untagged = ptr.as_ptr().wrapping_sub(tag);
        match tag {
            // SAFETY: made by `into_word` from `TaskRef::into_raw`; given back once (the
            // caller's promise).
            TASK => Waiters::Task(unsafe { TaskRef::from_raw(ptr.cast()) }),
            // SAFETY: made by `into_word` from `Box::into_raw` of this type; once.
            WAKER => Waiters::Waker(unsafe { Box::from_raw(untagged.cast()) }),
            // SAFETY: as above.
            _ => Waiters::List(unsafe { Box::from_raw(untagged.cast()) }),
        }
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
