//! The task's bookkeeping (`TaskCore`: outcome, waiters, name, cancel requests), the
//! `TaskFuture` wrapper the executor runs, and `spawn_on`, which puts them together.
//!
//! A task is one allocation: `aloop_executor::spawn_local_with` keeps the `TaskCore` in
//! the executor's cell, next to the future, and every handle (`Task<T>`, `AnyTask`, the
//! loop's registry) is an `aloop_executor::TaskRef` to that cell. `TaskCore<T>` is
//! `#[repr(C)]` with the output-independent `TaskMeta` first, so a handle that does not
//! know `T` can still read the meta.

use std::cell::Cell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use aloop_executor::TaskRef;
use pin_project_lite::pin_project;

use super::await_target::AwaitTarget;
use super::Task;
use crate::current::{CurrentTask, TaskGuard};
use crate::error::{PanicPayload, TaskError};
use crate::event_loop::core::{LoopCore, LoopScheduler, Ready};
use crate::exception::ExceptionContext;
use crate::handle::CallbackCell;

/// The meta of a task made by `spawn_on`.
pub(crate) fn meta_of(task: &TaskRef) -> &TaskMeta {
    // SAFETY: every `TaskRef` the facade holds comes from `spawn_on`, whose metadata is a
    // `TaskCore<T>`: `#[repr(C)]` with a `TaskMeta` first.
    unsafe { task.metadata::<TaskMeta>() }
}

// Bits of `TaskMeta::flags`.
const DONE: u8 = 1 << 0;
/// The task ended by cancellation (kept apart from the outcome, which may be taken).
const ENDED_CANCELLED: u8 = 1 << 1;
/// Someone looked at the outcome; a panic nobody saw is reported when the task goes.
const RETRIEVED: u8 = 1 << 2;

/// The part of a task that does not depend on its output type.
pub(crate) struct TaskMeta {
    pub(super) id: u64,
    pub(super) core: Weak<LoopCore>,
    awaiting: Cell<Option<AwaitTarget>>,
    /// Boxed twice so that an unnamed task pays one word for it, not three.
    #[allow(clippy::box_collection)]
    name: Cell<Option<Box<String>>>,
    pub(super) cancelling: Cell<u32>,
    /// Index in the loop's registry (u32: a loop with 4 billion live tasks is out of memory first).
    slot: Cell<u32>,
    next_callback_id: Cell<u32>,
    flags: Cell<u8>,
}

impl TaskMeta {
    fn flag(&self, bit: u8) -> bool {
        self.flags.get() & bit != 0
    }

    fn set_flag(&self, bit: u8) {
        self.flags.set(self.flags.get() | bit);
    }

    pub(crate) fn done(&self) -> bool {
        self.flag(DONE)
    }

    pub(crate) fn ended_cancelled(&self) -> bool {
        self.flag(ENDED_CANCELLED)
    }

    pub(crate) fn set_slot(&self, index: u32) {
        self.slot.set(index);
    }

    pub(crate) fn set_awaiting(&self, target: Option<AwaitTarget>) {
        let old = self.awaiting.replace(target);
        drop(old);
    }

    pub(super) fn name(&self) -> String {
        let name = self.name.take();
        let shown = match &name {
            Some(n) => String::clone(n),
            None => format!("Task-{}", self.id),
        };
        self.name.set(name);
        shown
    }

    pub(super) fn set_name(&self, name: String) {
        self.name.set(Some(Box::new(name)));
    }

    /// asyncio's `Task.cancel`: count the request, forward it to what the task awaits,
    /// and have the executor drop the future at the task's next step.
    pub(super) fn cancel(&self, task: &TaskRef) -> bool {
        if self.done() {
            return false;
        }
        self.cancelling.set(self.cancelling.get() + 1);
        let target = self.awaiting.take();
        if let Some(target) = target {
            target.cancel();
        }
        task.cancel()
    }
}

pub(super) type DoneCallback<T> = Box<dyn FnOnce(&Task<T>)>;

/// Whoever waits for the task, in registration order: done callbacks and the waker of
/// the task awaiting the handle. asyncio keeps both in one list (awaiting is a done
/// callback there), so a callback added before the `await` runs before the awaiter.
pub(super) enum Waiter<T> {
    Waker(Waker),
    Callback(u64, DoneCallback<T>),
}

#[repr(C)]
pub(crate) struct TaskCore<T> {
    /// First, so that `TaskRef::metadata::<TaskMeta>()` reads it (see `meta_of`).
    pub(super) meta: TaskMeta,
    /// `Some` from completion until an `await` or `take_result` moves it out.
    pub(super) outcome: Cell<Option<Result<T, TaskError>>>,
    /// The awaiter's waker, while no done callback was registered before it (the
    /// common case, without an allocation); otherwise it is queued in `waiters`.
    awaiter: Cell<Option<Waker>>,
    /// Done callbacks, and the awaiter when one came after them. Boxed so that a task
    /// without callbacks pays one word, not three.
    #[allow(clippy::box_collection)]
    waiters: Cell<Option<Box<Vec<Waiter<T>>>>>,
}

impl<T: 'static> TaskCore<T> {
    pub(super) fn retrieved(&self) {
        self.meta.set_flag(RETRIEVED);
    }

    /// Looks at the outcome, if there is one. It is put back even if `f` panics (a
    /// panicking `Clone`), so a look never loses it.
    pub(super) fn peek_outcome<R>(&self, f: impl FnOnce(&Result<T, TaskError>) -> R) -> Option<R> {
        struct PutBack<'a, T>(
            &'a Cell<Option<Result<T, TaskError>>>,
            Option<Result<T, TaskError>>,
        );
        impl<T> Drop for PutBack<'_, T> {
            fn drop(&mut self) {
                self.0.set(self.1.take());
            }
        }
        let held = PutBack(&self.outcome, self.outcome.take());
        held.1.as_ref().map(f)
    }

    /// Registers the waker of a task awaiting this one (one slot, as asyncio keeps one
    /// wakeup per awaiting `await`).
    pub(super) fn set_awaiter(&self, waker: &Waker) {
        if let Some(current) = self.awaiter.take() {
            let next = if current.will_wake(waker) {
                current
            } else {
                waker.clone()
            };
            self.awaiter.set(Some(next));
            return;
        }
        let mut waiters = self.waiters.take();
        match waiters.as_deref_mut() {
            // Callbacks came first: the awaiter queues behind them.
            Some(list) if !list.is_empty() => {
                let mine = list.iter_mut().find_map(|w| match w {
                    Waiter::Waker(k) => Some(k),
                    Waiter::Callback(..) => None,
                });
                match mine {
                    Some(k) if k.will_wake(waker) => {}
                    Some(k) => *k = waker.clone(),
                    None => list.push(Waiter::Waker(waker.clone())),
                }
            }
            _ => self.awaiter.set(Some(waker.clone())),
        }
        self.waiters.set(waiters);
    }

    pub(super) fn add_waiter(&self, waiter: Waiter<T>) {
        let mut waiters = self.waiters.take().unwrap_or_default();
        waiters.push(waiter);
        self.waiters.set(Some(waiters));
    }

    pub(super) fn remove_callback(&self, id: u64) -> bool {
        let Some(mut waiters) = self.waiters.take() else {
            return false;
        };
        let before = waiters.len();
        waiters.retain(|w| !matches!(w, Waiter::Callback(i, _) if *i == id));
        let removed = before != waiters.len();
        self.waiters.set(Some(waiters));
        removed
    }

    pub(super) fn next_callback_id(&self) -> u64 {
        let id = self.meta.next_callback_id.get();
        self.meta.next_callback_id.set(id.wrapping_add(1));
        u64::from(id)
    }

    /// Stores the outcome, unregisters the task, wakes its awaiter and schedules its done
    /// callbacks (never running them inline, as asyncio).
    fn complete(&self, this: NonNull<Self>, result: Result<T, TaskError>) {
        if self.meta.done() {
            return;
        }
        let mut flags = DONE;
        if matches!(result, Err(TaskError::Cancelled)) {
            flags |= ENDED_CANCELLED;
        }
        self.meta.set_flag(flags);
        self.outcome.set(Some(result));
        self.meta.set_awaiting(None);
        let core = self.meta.core.upgrade();
        if let Some(core) = &core {
            let removed = core
                .tasks
                .borrow_mut()
                .remove(self.meta.slot.get(), &self.meta);
            drop(removed);
        }
        // An inline awaiter registered before any callback, so it goes first.
        if let Some(waker) = self.awaiter.take() {
            waker.wake();
        }
        let Some(waiters) = self.waiters.take() else {
            return;
        };
        for waiter in *waiters {
            match waiter {
                Waiter::Waker(waker) => waker.wake(),
                Waiter::Callback(_, cb) => {
                    if let Some(core) = &core {
                        // SAFETY: `this` is this task's metadata, of type `TaskCore<T>`,
                        // and the cell is alive (we are inside its step or its abort).
                        let task = Task::from_raw(unsafe { TaskRef::from_metadata(this) });
                        core.push_ready(Ready::Callback(CallbackCell::new_rc(move || cb(&task))));
                    }
                }
            }
        }
    }
}

impl<T> Drop for TaskCore<T> {
    fn drop(&mut self) {
        if self.meta.flag(RETRIEVED) {
            return;
        }
        if let Some(Err(TaskError::Panicked(panic))) = self.outcome.take() {
            let context = ExceptionContext {
                message: "Task exception was never retrieved".into(),
                panic: Some(panic),
                task_name: Some(self.meta.name()),
            };
            match self.meta.core.upgrade() {
                Some(core) => core.call_exception_handler(&context),
                None => crate::exception::default_exception_handler(&context),
            }
        }
    }
}

/// Makes a counted reference from the current-task pointer (see `CurrentTask`).
///
/// # Safety
/// `meta` is the `TaskMeta` of a live task whose metadata type is `TaskCore<T>`.
unsafe fn task_ref_of<T>(meta: NonNull<TaskMeta>) -> TaskRef {
    // SAFETY: `TaskMeta` is the first field of the `repr(C)` `TaskCore<T>`, so the
    // pointers coincide; the rest is the caller's promise.
    unsafe { TaskRef::from_metadata(meta.cast::<TaskCore<T>>()) }
}

pin_project! {
    /// The future the executor runs: the user's future plus the bookkeeping that makes it
    /// an asyncio task (current task, panics caught, outcome stored, cleanup on cancel).
    pub(crate) struct TaskFuture<F: Future>
    where
        F::Output: 'static,
    {
        #[pin]
        future: Option<F>,
        // Valid while this future exists: the executor drops it before the metadata.
        core: NonNull<TaskCore<F::Output>>,
    }

    impl<F: Future> PinnedDrop for TaskFuture<F>
    where
        F::Output: 'static,
    {
        fn drop(this: Pin<&mut Self>) {
            let mut this = this.project();
            if this.future.is_none() {
                return;
            }
            let ptr = *this.core;
            // Cancelled (or the loop closed): run the future's destructors as the task,
            // so `current_task()` works in cleanup code, then record the cancellation.
            let guard = TaskGuard::enter(current_of(ptr));
            let dropped = catch_unwind(AssertUnwindSafe(|| this.future.set(None)));
            drop(guard);
            let outcome = match dropped {
                Ok(()) => TaskError::Cancelled,
                Err(payload) => TaskError::Panicked(PanicPayload::new(payload)),
            };
            // SAFETY: see the field's comment.
            unsafe { ptr.as_ref() }.complete(ptr, Err(outcome));
        }
    }
}

fn current_of<T: 'static>(ptr: NonNull<TaskCore<T>>) -> CurrentTask {
    CurrentTask {
        meta: ptr.cast::<TaskMeta>(),
        task_ref: task_ref_of::<T>,
    }
}

impl<F> Future for TaskFuture<F>
where
    F: Future,
    F::Output: 'static,
{
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        let Some(future) = this.future.as_mut().as_pin_mut() else {
            return Poll::Ready(());
        };
        let ptr = *this.core;
        // SAFETY: see the field's comment.
        let core = unsafe { ptr.as_ref() };
        core.meta.set_awaiting(None);
        let guard = TaskGuard::enter(current_of(ptr));
        let polled = catch_unwind(AssertUnwindSafe(|| future.poll(cx)));
        drop(guard);
        let result = match polled {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(output)) => Ok(output),
            Err(payload) => Err(TaskError::Panicked(PanicPayload::new(payload))),
        };
        // Drop the finished future before publishing the outcome, as a coroutine's frame
        // is gone by the time its task is done.
        this.future.set(None);
        core.complete(ptr, result);
        Poll::Ready(())
    }
}

thread_local! {
    /// Task numbers (`Task-N`) per thread: a loop and its tasks live on one thread, and
    /// a plain counter keeps spawning free of atomics.
    static NEXT_TASK_ID: Cell<u64> = const { Cell::new(1) };
}

fn next_task_id() -> u64 {
    NEXT_TASK_ID.with(|n| {
        let id = n.get();
        n.set(id + 1);
        id
    })
}

/// Spawns `future` on `core`: registers it and queues its first step behind what is
/// already ready (so it starts on the next iteration, in FIFO order with callbacks).
pub(crate) fn spawn_on<F>(core: &Rc<LoopCore>, future: F) -> Task<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let task_core = TaskCore {
        meta: TaskMeta {
            id: next_task_id(),
            core: Rc::downgrade(core),
            awaiting: Cell::new(None),
            name: Cell::new(None),
            cancelling: Cell::new(0),
            slot: Cell::new(u32::MAX),
            next_callback_id: Cell::new(0),
            flags: Cell::new(0),
        },
        outcome: Cell::new(None),
        awaiter: Cell::new(None),
        waiters: Cell::new(None),
    };
    let scheduler = LoopScheduler {
        shared: core.shared.clone(),
    };
    let (runnable, raw) = aloop_executor::spawn_local_with(
        task_core,
        |ptr| TaskFuture {
            future: Some(future),
            core: ptr,
        },
        scheduler,
    );
    let task = Task::from_raw(raw);
    if core.closed.get() {
        // A closed loop runs nothing: the task ends cancelled at once, its future dropped.
        drop(runnable);
        return task;
    }
    let slot = core.tasks.borrow_mut().insert(task.raw.clone());
    task.core().meta.set_slot(slot);
    core.push_ready(Ready::Task(runnable));
    task
}

#[cfg(test)]
mod size_probe {
    #[test]
    fn task_core_stays_small() {
        // Header (24) + TaskCore + scheduler (8) + a small future (24): keep the cell of
        // a trivial task within a 160-byte malloc chunk.
        let size = std::mem::size_of::<super::TaskCore<u64>>();
        assert!(size <= 96, "TaskCore<u64> grew to {size} bytes");
        let target = std::mem::size_of::<Option<super::AwaitTarget>>();
        assert!(target <= 16, "Option<AwaitTarget> grew to {target} bytes");
    }
}
