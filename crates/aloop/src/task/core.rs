//! The task's shared state (`TaskCore`: outcome, waiters, name, cancel bookkeeping), the
//! `TaskFuture` wrapper the executor runs, and `spawn_on`, which puts them together.
//!
//! A task is two allocations: the executor's cell (which holds the user's future inside a
//! `TaskFuture`) and the `TaskCore<T>` that the handle, the registry and done callbacks
//! share. The output lives in the core so that callbacks can look at it.

use std::cell::{Cell, OnceCell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use pin_project_lite::pin_project;

use super::Task;
use crate::current::TaskGuard;
use crate::error::{PanicPayload, TaskError};
use crate::event_loop::core::{LoopCore, LoopScheduler, Ready};
use crate::exception::ExceptionContext;
use crate::handle::CallbackCell;

pub(crate) trait CancelTarget {
    fn cancel_from_awaiter(&self);
}

/// What every task core offers without its output type.
pub(crate) trait AnyTaskCore {
    fn meta(&self) -> &TaskMeta;
    fn ended_cancelled(&self) -> bool;
    /// Drops the future now (loop close); completes the task as cancelled.
    fn abort(&self) {
        if let Some(raw) = self.meta().raw.get() {
            raw.abort();
        }
    }
}

/// The part of a task that does not depend on its output type.
pub(crate) struct TaskMeta {
    pub(super) id: u64,
    pub(super) name: Cell<Option<Box<str>>>,
    pub(super) raw: OnceCell<aloop_executor::Task<()>>,
    pub(super) awaiting: Cell<Option<Rc<dyn CancelTarget>>>,
    pub(super) cancelling: Cell<u32>,
    /// Index in the loop's registry (u32: a loop with 4 billion live tasks is out of memory first).
    pub(super) slot: Cell<u32>,
    pub(super) done: Cell<bool>,
    pub(super) core: Weak<LoopCore>,
}

impl TaskMeta {
    pub(crate) fn set_awaiting(&self, target: Option<Rc<dyn CancelTarget>>) {
        let old = self.awaiting.replace(target);
        drop(old);
    }

    pub(super) fn name(&self) -> String {
        let name = self.name.take();
        let shown = match &name {
            Some(n) => n.to_string(),
            None => format!("Task-{}", self.id),
        };
        self.name.set(name);
        shown
    }

    pub(super) fn set_name(&self, name: String) {
        self.name.set(Some(name.into_boxed_str()));
    }

    /// asyncio's `Task.cancel`: count the request, forward it to what the task awaits,
    /// and have the executor drop the future at the task's next step.
    pub(super) fn cancel(&self) -> bool {
        if self.done.get() {
            return false;
        }
        self.cancelling.set(self.cancelling.get() + 1);
        let target = self.awaiting.take();
        if let Some(target) = target {
            target.cancel_from_awaiter();
        }
        match self.raw.get() {
            Some(raw) => raw.cancel(),
            None => false,
        }
    }
}

pub(super) enum Outcome<T> {
    Pending,
    Done(Result<T, TaskError>),
    Taken,
}

pub(super) type DoneCallback<T> = Box<dyn FnOnce(&Task<T>)>;

/// Whoever waits for the task, in registration order: done callbacks and the waker of
/// the task awaiting the handle. asyncio keeps both in one list (awaiting is a done
/// callback there), so a callback added before the `await` runs before the awaiter.
pub(super) enum Waiter<T> {
    Waker(Waker),
    Callback(u64, DoneCallback<T>),
}

pub(crate) struct TaskCore<T> {
    pub(super) meta: TaskMeta,
    pub(super) outcome: RefCell<Outcome<T>>,
    /// Whether the task ended by cancellation (kept apart from `outcome`, which an
    /// `await` may have taken).
    pub(super) ended_cancelled: Cell<bool>,
    pub(super) waiters: RefCell<Vec<Waiter<T>>>,
    pub(super) next_callback_id: Cell<u32>,
    /// Whether anyone looked at the outcome; a panic nobody saw is reported on drop.
    pub(super) retrieved: Cell<bool>,
}

impl<T: 'static> TaskCore<T> {
    /// Stores the outcome, unregisters the task, wakes its awaiter and schedules its done
    /// callbacks (never running them inline, as asyncio).
    fn complete(self: &Rc<Self>, result: Result<T, TaskError>) {
        if self.meta.done.replace(true) {
            return;
        }
        self.ended_cancelled
            .set(matches!(result, Err(TaskError::Cancelled)));
        *self.outcome.borrow_mut() = Outcome::Done(result);
        self.meta.set_awaiting(None);
        let core = self.meta.core.upgrade();
        if let Some(core) = &core {
            let removed = core
                .tasks
                .borrow_mut()
                .remove(self.meta.slot.get() as usize);
            drop(removed);
        }
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        for waiter in waiters {
            match waiter {
                Waiter::Waker(waker) => waker.wake(),
                Waiter::Callback(_, cb) => {
                    if let Some(core) = &core {
                        let task = Task { core: self.clone() };
                        core.push_ready(Ready::Callback(CallbackCell::new_rc(move || cb(&task))));
                    }
                }
            }
        }
    }
}

impl<T> AnyTaskCore for TaskCore<T> {
    fn meta(&self) -> &TaskMeta {
        &self.meta
    }

    fn ended_cancelled(&self) -> bool {
        self.ended_cancelled.get()
    }
}

impl<T> CancelTarget for TaskCore<T> {
    fn cancel_from_awaiter(&self) {
        self.meta.cancel();
    }
}

impl<T> Drop for TaskCore<T> {
    fn drop(&mut self) {
        if self.retrieved.get() {
            return;
        }
        if let Outcome::Done(Err(TaskError::Panicked(panic))) = &*self.outcome.borrow() {
            let context = ExceptionContext {
                message: "Task exception was never retrieved".into(),
                panic: Some(panic.clone()),
                task_name: Some(self.meta.name()),
            };
            match self.meta.core.upgrade() {
                Some(core) => core.call_exception_handler(&context),
                None => crate::exception::default_exception_handler(&context),
            }
        }
    }
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
        core: Rc<TaskCore<F::Output>>,
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
            // Cancelled (or the loop closed): run the future's destructors as the task,
            // so `current_task()` works in cleanup code, then record the cancellation.
            let guard = TaskGuard::enter(this.core.clone());
            let dropped = catch_unwind(AssertUnwindSafe(|| this.future.set(None)));
            drop(guard);
            let outcome = match dropped {
                Ok(()) => TaskError::Cancelled,
                Err(payload) => TaskError::Panicked(PanicPayload::new(payload)),
            };
            this.core.complete(Err(outcome));
        }
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
        this.core.meta.set_awaiting(None);
        let guard = TaskGuard::enter(this.core.clone());
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
        this.core.complete(result);
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
    let task_core = Rc::new(TaskCore {
        meta: TaskMeta {
            id: next_task_id(),
            name: Cell::new(None),
            raw: OnceCell::new(),
            awaiting: Cell::new(None),
            cancelling: Cell::new(0),
            slot: Cell::new(u32::MAX),
            done: Cell::new(false),
            core: Rc::downgrade(core),
        },
        outcome: RefCell::new(Outcome::Pending),
        ended_cancelled: Cell::new(false),
        waiters: RefCell::new(Vec::new()),
        next_callback_id: Cell::new(0),
        retrieved: Cell::new(false),
    });
    let wrapped = TaskFuture {
        future: Some(future),
        core: task_core.clone(),
    };
    let scheduler = LoopScheduler {
        shared: core.shared.clone(),
    };
    let (runnable, raw) = aloop_executor::spawn_local(wrapped, scheduler);
    // The core keeps the executor's handle (not a separate reference): cancel and abort
    // go through it, and dropping the core detaches the task.
    let _ = task_core.meta.raw.set(raw);
    let task = Task { core: task_core };
    if core.closed.get() {
        // A closed loop runs nothing: the task ends cancelled at once, its future dropped.
        drop(runnable);
        return task;
    }
    let slot = core.tasks.borrow_mut().insert(task.core.clone());
    task.core.meta.slot.set(slot as u32);
    core.push_ready(Ready::Task(runnable));
    task
}

#[cfg(test)]
mod size_probe {
    #[test]
    fn task_core_stays_small() {
        // With the Rc header, 136 bytes is the most that fits a 160-byte malloc chunk.
        let size = std::mem::size_of::<super::TaskCore<u64>>();
        assert!(size <= 136, "TaskCore<u64> grew to {size} bytes");
    }
}
