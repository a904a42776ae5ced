//! `TaskRecord<T>`: what a task keeps beside its future — the meta (`meta.rs`), and
//! whoever waits for it (the awaiter's waker, done callbacks) until it is done, then its
//! outcome, in one slot (`completion.rs`) — and `complete`, which publishes the outcome.
//!
//! A task is one allocation: `aloop_executor::spawn_local_with` keeps the record in the
//! executor's cell, next to the future (`spawn.rs`), and every handle (`Task<T>`,
//! `AnyTask`, the loop's registry) is an `aloop_executor::TaskRef` to that cell. The
//! record is `#[repr(C)]` with the output-independent `TaskMeta` first, so a handle that
//! does not know `T` can still read the meta.

use std::cell::Cell;
use std::ptr::NonNull;
use std::task::Waker;

use aloop_executor::TaskRef;

use super::completion::Completion;
use super::current::current_task_ref;
use super::meta::{is_task_of, meta_of, TaskMeta, RETRIEVED};
pub(super) use super::waiters::DoneCallback;
use super::waiters::{Waiter, Waiters};
use crate::error::{PanicPayload, TaskError};
use crate::exception::ExceptionContext;

thread_local! {
    /// Done-callback ids: unique on the thread (a task and its loop live on one), so a
    /// task needs no counter of its own.
    static NEXT_CALLBACK_ID: Cell<u64> = const { Cell::new(0) };
}

fn next_callback_id() -> u64 {
    NEXT_CALLBACK_ID.with(|n| {
        let id = n.get();
        n.set(id.wrapping_add(1));
        id
    })
}

#[repr(C)]
pub(crate) struct TaskRecord<T> {
    /// First, so that `TaskRef::metadata::<TaskMeta>()` reads it (see `meta_of`).
    pub(super) meta: TaskMeta,
    /// Until the task is done, the awaiter and the done callbacks, in registration order
    /// (`waiters.rs`): asyncio keeps both in one list (awaiting is a done callback
    /// there), so a callback added before the `await` runs before the awaiter. Then the
    /// outcome, until an `await` or `take_result` moves it out.
    completion: Completion<T>,
}

impl<T: 'static> TaskRecord<T> {
    pub(super) fn new(meta: TaskMeta) -> Self {
        TaskRecord {
            meta,
            completion: Completion::new(),
        }
    }

    pub(super) fn retrieved(&self) {
        self.meta.set_flag(RETRIEVED);
    }

    /// Moves the outcome out, if there is one still.
    pub(super) fn take_outcome(&self) -> Option<Result<T, TaskError>> {
        self.completion.take_outcome()
    }

    /// Looks at the outcome, if there is one. It is put back even if `f` panics (a
    /// panicking `Clone`), so a look never loses it.
    pub(super) fn peek_outcome<R>(&self, f: impl FnOnce(&Result<T, TaskError>) -> R) -> Option<R> {
        self.completion.peek_outcome(f)
    }

    /// Registers the waker of a task awaiting this one (one slot, as asyncio keeps one
    /// wakeup per awaiting `await`); returns whether it is new (the wait starts).
    pub(super) fn set_awaiter(&self, waker: &Waker) -> bool {
        let mut new = true;
        let next = match self.completion.take_waiters() {
            same if same.wakes(waker) => {
                new = false;
                same
            }
            Waiters::List(list) if list.is_empty() => Waiters::awaiter(waker, current_task_ref()),
            // Callbacks came first: the awaiter queues behind them.
            Waiters::List(mut list) => {
                let mine = list.iter_mut().find_map(|w| match w {
                    Waiter::Waker(k) => Some(k),
                    Waiter::Callback(..) => None,
                });
                match mine {
                    Some(k) if k.will_wake(waker) => new = false,
                    Some(k) => *k = waker.clone(),
                    None => list.push(Waiter::Waker(waker.clone())),
                }
                Waiters::List(list)
            }
            Waiters::None | Waiters::Task(_) | Waiters::Waker(_) => {
                Waiters::awaiter(waker, current_task_ref())
            }
        };
        self.completion.put_waiters(next);
        new
    }

    /// Adds a done callback for a pending task; returns its id.
    pub(super) fn add_callback(&self, callback: DoneCallback) -> u64 {
        let id = next_callback_id();
        let mut list = self.completion.take_waiters().into_list();
        list.push(Waiter::Callback(id, callback));
        self.completion.put_waiters(Waiters::List(list));
        id
    }

    /// An id for a done callback that is scheduled at once (the task is done).
    pub(super) fn callback_id_for_done_task(&self) -> u64 {
        next_callback_id()
    }

    pub(super) fn remove_callback(&self, id: u64) -> bool {
        let waiters = self.completion.take_waiters();
        let Waiters::List(mut list) = waiters else {
            self.completion.put_waiters(waiters);
            return false;
        };
        let before = list.len();
        list.retain(|w| !matches!(w, Waiter::Callback(i, _) if *i == id));
        let removed = before != list.len();
        self.completion.put_waiters(Waiters::List(list));
        removed
    }

    /// Stores the outcome, unregisters the task, wakes its awaiter and schedules its done
    /// callbacks (never running them inline, as asyncio).
    pub(super) fn complete(&self, this: NonNull<Self>, result: Result<T, TaskError>) {
        if self.meta.done() {
            return;
        }
        self.meta
            .set_done(matches!(result, Err(TaskError::Cancelled)));
        let home = self.meta.home();
        let leftover_panic = match (&home, &result) {
            (Some(home), Err(TaskError::Panicked(panic))) if home.shutting_down_tasks() => {
                Some(panic.clone())
            }
            _ => None,
        };
        let waiters = self.completion.finish(result);
        self.meta.set_awaiting(None);
        if let Some(home) = &home {
            home.unregister_task(
                self.meta.slot(),
                |task| is_task_of(task, &self.meta),
                |moved, index| meta_of(moved).set_slot(index),
            );
            if let Some(panic) = leftover_panic {
                self.report_shutdown_panic(home, panic);
            }
        }
        let list = match waiters {
            Waiters::Task(awaiter) => return awaiter.into_waker().wake(),
            Waiters::Waker(awaiter) => return awaiter.wake(),
            Waiters::None => return,
            Waiters::List(list) => list,
        };
        for waiter in *list {
            match waiter {
                Waiter::Waker(waker) => waker.wake(),
                Waiter::Callback(_, cb) => {
                    if let Some(home) = &home {
                        // SAFETY: `this` is this task's metadata, of type `TaskRecord<T>`,
                        // and the cell is alive (we are inside its step or its abort).
                        let task = unsafe { TaskRef::from_metadata(this) };
                        home.call_soon(move || cb(task));
                    }
                }
            }
        }
    }
}

impl<T> Drop for TaskRecord<T> {
    fn drop(&mut self) {
        if !self.meta.flag(RETRIEVED) {
            self.report_unretrieved_panic();
        }
        self.meta.forget_name();
    }
}

impl<T> TaskRecord<T> {
    /// asyncio's "unhandled exception during asyncio.run() shutdown": the runner gathers
    /// the leftover tasks it cancelled and reports each failure with its task, which
    /// counts as retrieving it (no "never retrieved" later). The outcome stays for
    /// whoever still awaits the task.
    fn report_shutdown_panic(&self, home: &crate::loop_state::LoopState, panic: PanicPayload) {
        self.meta.set_flag(RETRIEVED);
        home.call_exception_handler(&ExceptionContext {
            message: "unhandled exception during aloop::run() shutdown".into(),
            panic: Some(panic),
            task_name: Some(self.meta.name()),
        });
    }

    /// asyncio's "Task exception was never retrieved", for a task going unobserved.
    fn report_unretrieved_panic(&mut self) {
        if let Some(Err(TaskError::Panicked(panic))) = self.completion.take_outcome() {
            let context = ExceptionContext {
                message: "Task exception was never retrieved".into(),
                panic: Some(panic),
                task_name: Some(self.meta.name()),
            };
            match self.meta.home() {
                Some(home) => home.call_exception_handler(&context),
                None => crate::exception::default_exception_handler(&context),
            }
        }
    }
}
