//! The slot of a task's record (`record.rs`) that holds whoever waits for the task while
//! it runs (`waiters.rs`), and its outcome once it is done.
//!
//! The two never live at once: `complete` takes the waiters out as it puts the outcome
//! in, and nobody waits for a done task (an `await` reads the outcome, a done callback
//! is scheduled at once). Sharing one slot saves a word per task: for most outputs the
//! outcome's tag has room for the `Done` / `Waiting` distinction, so the slot is as big
//! as the outcome alone (16 bytes for a `u64` or `()` output), and a trivial task stays
//! in glibc's 112-byte malloc chunk (`docs/benchmarks.md`, "Spawn: where the bytes go").

use std::cell::Cell;
use std::ptr::null_mut;

use super::waiters::Waiters;
use crate::error::TaskError;

enum Stage<T> {
    /// Not done: who waits, as `Waiters::into_word` spells it. A plain word with no
    /// destructor, so that swapping the stage in and out runs no drop code: the slot
    /// owns what it points to, and gives it back in `take_waiters`, `finish` or `drop`.
    Waiting(*mut ()),
    /// Done: the outcome, `None` once an `await` or `take_result` moved it out.
    Done(Option<Result<T, TaskError>>),
}

/// Waiters, then the outcome. Owning thread only (`Cell`), like the rest of the record.
pub(super) struct Completion<T>(Cell<Stage<T>>);

impl<T> Completion<T> {
    pub(super) fn new() -> Self {
        Completion(Cell::new(Stage::Waiting(null_mut())))
    }

    /// Takes the waiters out (none once the task is done); give them back with
    /// [`Completion::put_waiters`].
    pub(super) fn take_waiters(&self) -> Waiters {
        match self.0.replace(Stage::Waiting(null_mut())) {
            // SAFETY: the slot owned the word, and now holds null instead.
            Stage::Waiting(word) => unsafe { Waiters::from_word(word) },
            done => {
                self.0.set(done);
                Waiters::None
            }
        }
    }

    /// Puts waiters back after [`Completion::take_waiters`]. On a done task (which no
    /// caller does: they check `done()` first) they are dropped, keeping the outcome.
    pub(super) fn put_waiters(&self, waiters: Waiters) {
        let word = waiters.into_word();
        match self.0.replace(Stage::Waiting(word)) {
            Stage::Waiting(old) => debug_assert!(old.is_null(), "waiters put back twice"),
            done => {
                self.0.set(done);
                // SAFETY: the word was made just above and is no longer in the slot.
                drop(unsafe { Waiters::from_word(word) });
            }
        }
    }

    /// Stores the outcome and returns the waiters it replaces, to be woken.
    pub(super) fn finish(&self, outcome: Result<T, TaskError>) -> Waiters {
        match self.0.replace(Stage::Done(Some(outcome))) {
            // SAFETY: the slot owned the word and holds the outcome instead now.
            Stage::Waiting(word) => unsafe { Waiters::from_word(word) },
            // `complete` runs once (it checks `done()`); a second outcome replaces
            // nothing it should keep.
            Stage::Done(_) => Waiters::None,
        }
    }

    /// Moves the outcome out, if the task is done and it is still there.
    pub(super) fn take_outcome(&self) -> Option<Result<T, TaskError>> {
        match self.0.replace(Stage::Done(None)) {
            Stage::Done(outcome) => outcome,
            waiting => {
                self.0.set(waiting);
                None
            }
        }
    }

    /// Looks at the outcome, if there is one. It is put back even if `f` panics (a
    /// panicking `Clone`), so a look never loses it.
    pub(super) fn peek_outcome<R>(&self, f: impl FnOnce(&Result<T, TaskError>) -> R) -> Option<R> {
        struct PutBack<'a, T>(&'a Completion<T>, Option<Result<T, TaskError>>);
        impl<T> Drop for PutBack<'_, T> {
            fn drop(&mut self) {
                if let Some(outcome) = self.1.take() {
                    self.0 .0.set(Stage::Done(Some(outcome)));
                }
            }
        }
        let held = PutBack(self, self.take_outcome());
        held.1.as_ref().map(f)
    }
}

impl<T> Drop for Completion<T> {
    fn drop(&mut self) {
        if let Stage::Waiting(word) = *self.0.get_mut() {
            // SAFETY: the slot owned the word, and is going away.
            drop(unsafe { Waiters::from_word(word) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slot_is_no_bigger_than_the_outcome() {
        use std::mem::size_of;
        assert_eq!(size_of::<Completion<u64>>(), 16);
        assert_eq!(size_of::<Completion<()>>(), 16);
        assert_eq!(
            size_of::<Completion<String>>(),
            size_of::<Option<Result<String, TaskError>>>()
        );
    }

    /// The outcome's value, or what it ended with.
    fn value(outcome: Option<Result<u32, TaskError>>) -> Option<Result<u32, &'static str>> {
        outcome.map(|r| {
            r.map_err(|e| {
                if e.is_cancelled() {
                    "cancelled"
                } else {
                    "panicked"
                }
            })
        })
    }

    #[test]
    fn waiters_give_way_to_the_outcome() {
        let slot = Completion::<u32>::new();
        assert!(matches!(slot.take_waiters(), Waiters::None));
        slot.put_waiters(Waiters::List(Box::default()));
        assert_eq!(value(slot.take_outcome()), None, "no outcome while waiting");
        assert!(matches!(slot.finish(Ok(7)), Waiters::List(_)));
        assert!(matches!(slot.take_waiters(), Waiters::None));
        assert_eq!(slot.peek_outcome(|r| *r.as_ref().unwrap()), Some(7));
        slot.put_waiters(Waiters::List(Box::default()));
        let kept = value(slot.take_outcome());
        assert_eq!(kept, Some(Ok(7)), "a late waiter keeps the outcome");
        assert_eq!(value(slot.take_outcome()), None, "taken once");
        assert_eq!(slot.peek_outcome(|_| ()), None);
    }

    #[test]
    fn a_panicking_look_keeps_the_outcome() {
        let slot = Completion::<u32>::new();
        slot.finish(Err(TaskError::Cancelled));
        let looked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            slot.peek_outcome(|_| panic!("a look that panics"))
        }));
        assert!(looked.is_err());
        assert!(matches!(
            slot.take_outcome(),
            Some(Err(TaskError::Cancelled))
        ));
    }
}
