//! `TaskGroup` (asyncio 3.11): tasks that live and die together. The group waits for
//! all of them; the first failure (a panic) cancels the rest, and every failure is
//! returned at once in a [`TaskGroupError`] (asyncio's `ExceptionGroup`).
//!
//! Two forms: the scope function [`task_group`], whose body runs inline and is cancelled
//! (dropped) by the first failure, as asyncio's `async with TaskGroup()` body is; and
//! [`TaskGroup::new`] + [`TaskGroup::join`], where the code before `join` is not part of
//! the group and so is not cancelled.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::WakerSlot;
use crate::error::{PanicPayload, TaskError};
use crate::exception::{default_exception_handler, ExceptionContext};
use crate::running::running_state;
use crate::task::{
    note_wait, set_awaiting, spawn_with, AnyTask, CancelOps, CancelTarget, Task, TaskOptions,
    WaitKind,
};

/// `repr(C)`, `cancel_ops` first: the task awaiting the group keeps a thin pointer to it.
#[repr(C)]
struct Inner {
    cancel_ops: CancelOps,
    /// Unfinished children by task id.
    children: RefCell<HashMap<u64, AnyTask>>,
    errors: RefCell<Vec<PanicPayload>>,
    /// A failure or a cancellation: no new tasks, the others are being cancelled.
    aborting: Cell<bool>,
    /// Joined: no new tasks.
    closed: Cell<bool>,
    waker: WakerSlot,
}

impl Inner {
    fn child_done<T: 'static>(&self, id: u64, task: &Task<T>) {
        let removed = self.children.borrow_mut().remove(&id);
        drop(removed);
        // asyncio ignores a child's own cancellation; a panic is a failure (and reading
        // it marks it retrieved: the group reports it).
        if !task.cancelled() {
            if let Ok(Some(TaskError::Panicked(panic))) = task.exception() {
                self.fail(panic);
            }
        }
        self.waker.wake();
    }

    fn fail(&self, panic: PanicPayload) {
        self.errors.borrow_mut().push(panic);
        self.abort();
    }

    /// Cancels every unfinished child, once (collected first: a cancel may re-enter us).
    fn abort(&self) {
        if self.aborting.replace(true) {
            return;
        }
        let children: Vec<AnyTask> = self.children.borrow().values().cloned().collect();
        for child in children {
            child.cancel();
        }
        self.waker.wake();
    }

    fn is_idle(&self) -> bool {
        self.children.borrow().is_empty()
    }

    fn outcome(&self) -> Result<(), TaskGroupError> {
        self.closed.set(true);
        let errors = std::mem::take(&mut *self.errors.borrow_mut());
        if errors.is_empty() && !self.aborting.get() {
            Ok(())
        } else {
            Err(TaskGroupError { errors })
        }
    }
}

// SAFETY: `repr(C)` with `CancelOps::of::<Self>()` as first field, set in `TaskGroup::new`.
unsafe impl CancelTarget for Inner {
    const KIND: &'static str = "TaskGroup";

    /// The task awaiting the group was cancelled: cancel the children (asyncio's
    /// `__aexit__` on `CancelledError`).
    fn cancel_from_awaiter(&self) {
        self.abort();
    }

    fn describe(&self) -> crate::task::Description {
        let mut ids: Vec<u64> = self.children.borrow().keys().copied().collect();
        ids.sort_unstable();
        (Self::KIND, Some(ids))
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        for child in self.children.get_mut().values() {
            child.cancel();
        }
        // Failures collected but never returned (the group was dropped unjoined, or while
        // being awaited, e.g. by an outer group's failure): report them, as a task's
        // unretrieved panic is, rather than lose them.
        for panic in self.errors.get_mut().drain(..) {
            let context = ExceptionContext {
                message: "TaskGroup exception was never retrieved".into(),
                panic: Some(panic),
                task_name: None,
            };
            match running_state() {
                Some(state) => state.call_exception_handler(&context),
                None => default_exception_handler(&context),
            }
        }
    }
}

/// A group of tasks (asyncio 3.11's `TaskGroup`). Clones are handles to the same group.
///
/// The first child to panic cancels the others (and the body of [`task_group`]); a child
/// cancelled on its own is not a failure. Awaiting the group ([`join`](TaskGroup::join)
/// or the [`task_group`] scope) waits until every child has ended and returns every
/// panic at once. Cancelling the task awaiting the group cancels its children; dropping
/// the last handle cancels the unfinished ones. A handle kept inside one of the group's
/// own tasks keeps the group alive until that task ends. Panics the group collected but
/// never returned (dropped unjoined, or while being awaited) go to the loop's exception
/// handler as "TaskGroup exception was never retrieved".
///
/// ```
/// use std::time::Duration;
/// aloop::run(async {
///     let tg = aloop::TaskGroup::new();
///     let a = tg.create_task(async { 1 });
///     let b = tg.create_task(async {
///         aloop::sleep(Duration::from_millis(5)).await;
///         2
///     });
///     tg.join().await.unwrap();
///     assert_eq!(a.await.unwrap() + b.await.unwrap(), 3);
/// });
/// ```
#[derive(Clone)]
pub struct TaskGroup {
    inner: Rc<Inner>,
}

impl Default for TaskGroup {
    fn default() -> Self {
        TaskGroup::new()
    }
}

impl TaskGroup {
    /// An empty group; it needs no running loop until a task is created.
    pub fn new() -> TaskGroup {
        TaskGroup {
            inner: Rc::new(Inner {
                cancel_ops: CancelOps::of::<Inner>(),
                children: RefCell::new(HashMap::new()),
                errors: RefCell::new(Vec::new()),
                aborting: Cell::new(false),
                closed: Cell::new(false),
                waker: WakerSlot::default(),
            }),
        }
    }

    /// Spawns `future` as a task of the group ([`create_task`](crate::create_task)) and
    /// returns its handle, which may be awaited as any task's.
    ///
    /// Once the group is shutting down (after a failure or cancellation) or has been
    /// joined, the task is returned already cancelled and its future never runs, even
    /// under the eager task factory (asyncio raises `RuntimeError` there).
    ///
    /// The group reads each child's outcome in a done callback queued before any awaiter
    /// of the returned handle resumes, so awaiting the handle does not hide a panic from
    /// the group.
    ///
    /// # Panics
    /// Outside a running loop, as [`create_task`](crate::create_task).
    ///
    /// ```
    /// aloop::run(async {
    ///     let tg = aloop::TaskGroup::new();
    ///     let t = tg.create_task(async { "child" });
    ///     assert_eq!(tg.len(), 1);
    ///     assert_eq!(t.await.unwrap(), "child");
    ///     tg.join().await.unwrap();
    /// });
    /// ```
    #[track_caller]
    pub fn create_task<F>(&self, future: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.create_task_with(future, TaskOptions::default())
    }

    /// [`create_task`](Self::create_task) with asyncio's keyword arguments (`name=`,
    /// `eager_start=`; see [`TaskOptions`]).
    ///
    /// ```
    /// aloop::run(async {
    ///     let tg = aloop::TaskGroup::new();
    ///     let t = tg.create_task_with(async { 7 }, aloop::TaskOptions::named("seven"));
    ///     assert_eq!(t.get_name(), "seven");
    ///     tg.join().await.unwrap();
    ///     assert_eq!(t.await.unwrap(), 7);
    /// });
    /// ```
    #[track_caller]
    pub fn create_task_with<F>(&self, future: F, options: TaskOptions) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let state = running_state()
            .expect("aloop::TaskGroup::create_task called outside a running aloop event loop");
        if self.inner.aborting.get() || self.inner.closed.get() {
            // Queued, never eager: under the eager task factory the first step would run
            // inside `create_task`, before this cancel could stop it.
            let queued = TaskOptions {
                eager_start: Some(false),
                ..options
            };
            let task = spawn_with(&state, future, queued);
            task.cancel();
            return task;
        }
        let task = spawn_with(&state, future, options);
        let view = task.as_any();
        let id = view.id();
        self.inner.children.borrow_mut().insert(id, view);
        let group: Weak<Inner> = Rc::downgrade(&self.inner);
        task.add_done_callback(move |t| {
            // With the group gone, a panic nobody reads is reported when the task drops.
            if let Some(group) = group.upgrade() {
                group.child_done(id, t);
            }
        });
        task
    }

    /// Unfinished tasks in the group.
    pub fn len(&self) -> usize {
        self.inner.children.borrow().len()
    }

    /// Whether every task of the group has ended.
    pub fn is_empty(&self) -> bool {
        self.inner.is_idle()
    }

    /// Whether a failure or cancellation is shutting the group down.
    pub fn is_aborting(&self) -> bool {
        self.inner.aborting.get()
    }

    /// Waits for every task of the group (asyncio's `async with` exit): `Ok(())`, or
    /// every panic in a [`TaskGroupError`]. Dropping the join before it returns (as
    /// cancelling its task does) cancels the unfinished tasks.
    ///
    /// ```
    /// aloop::run(async {
    ///     let tg = aloop::TaskGroup::new();
    ///     tg.create_task(async { panic!("a") });
    ///     tg.create_task(async { panic!("b") });
    ///     let err = tg.join().await.unwrap_err();
    ///     assert_eq!(err.errors().len(), 2);
    /// });
    /// ```
    pub fn join(self) -> TaskGroupJoin {
        TaskGroupJoin {
            group: self,
            done: false,
        }
    }
}

impl fmt::Debug for TaskGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("tasks", &self.len())
            .field("aborting", &self.is_aborting())
            .finish()
    }
}

/// The future returned by [`TaskGroup::join`].
///
/// ```
/// use std::time::Duration;
/// aloop::run(async {
///     let tg = aloop::TaskGroup::new();
///     let child = tg.create_task(aloop::sleep(Duration::from_secs(10)));
///     let view = child.as_any();
///     let join: aloop::TaskGroupJoin = tg.join();
///     drop(join); // as if the task awaiting it were cancelled
///     aloop::sleep(Duration::ZERO).await;
///     assert!(view.cancelled());
/// });
/// ```
#[must_use = "a group's join does nothing unless awaited"]
pub struct TaskGroupJoin {
    group: TaskGroup,
    done: bool,
}

impl Future for TaskGroupJoin {
    type Output = Result<(), TaskGroupError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(
            !this.done,
            "aloop: a TaskGroup join was polled after it returned"
        );
        let inner = &this.group.inner;
        if inner.is_idle() {
            this.done = true;
            return Poll::Ready(inner.outcome());
        }
        let starts = inner.waker.register(cx.waker());
        set_awaiting(inner.clone());
        note_wait(WaitKind::TaskGroup, starts);
        Poll::Pending
    }
}

impl Drop for TaskGroupJoin {
    fn drop(&mut self) {
        if !self.done {
            self.group.inner.abort();
        }
    }
}

impl fmt::Debug for TaskGroupJoin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroupJoin")
            .field("group", &self.group)
            .finish()
    }
}

pin_project! {
    /// The future returned by [`task_group`]: the body's output, or every failure.
    ///
    /// ```
    /// aloop::run(async {
    ///     let scope = aloop::task_group(|tg| async move {
    ///         let a = tg.create_task(async { 20 });
    ///         a.await.unwrap() + 1
    ///     });
    ///     assert_eq!(scope.await.unwrap(), 21);
    /// });
    /// ```
    #[must_use = "a task group does nothing unless awaited"]
    pub struct TaskGroupScope<Fut: Future> {
        #[pin]
        body: Option<Fut>,
        output: Option<Fut::Output>,
        group: TaskGroup,
        done: bool,
    }

    impl<Fut: Future> PinnedDrop for TaskGroupScope<Fut> {
        fn drop(this: Pin<&mut Self>) {
            if !this.done {
                this.group.inner.abort();
            }
        }
    }
}

/// Runs `body` with a new [`TaskGroup`] (asyncio's `async with TaskGroup() as tg: body`)
/// and waits for all its tasks; yields the body's output, or every failure.
///
/// The body runs inline in the current task. The first failure of a child cancels the
/// other children and the body (it is dropped at once); a panic in the body is a failure
/// too, cancels the children and joins the others in the [`TaskGroupError`] (D25).
/// Cancelling the task awaiting the scope cancels everything.
///
/// ```
/// use std::time::Duration;
/// aloop::run(async {
///     let err = aloop::task_group(|tg| async move {
///         tg.create_task(aloop::sleep(Duration::from_secs(10))); // cancelled by the failure
///         tg.create_task(async { panic!("boom") });
///         aloop::sleep(Duration::from_secs(10)).await; // the body is cancelled too
///     })
///     .await
///     .unwrap_err();
///     assert_eq!(err.errors()[0].message(), "boom");
/// });
/// ```
pub fn task_group<F, Fut>(body: F) -> TaskGroupScope<Fut>
where
    F: FnOnce(TaskGroup) -> Fut,
    Fut: Future,
{
    let group = TaskGroup::new();
    TaskGroupScope {
        body: Some(body(group.clone())),
        output: None,
        group,
        done: false,
    }
}

impl<Fut: Future> Future for TaskGroupScope<Fut> {
    type Output = Result<Fut::Output, TaskGroupError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        assert!(
            !*this.done,
            "aloop: a task group was polled after it returned"
        );
        let inner = this.group.inner.clone();
        if let Some(body) = this.body.as_mut().as_pin_mut() {
            if !inner.aborting.get() {
                match catch_unwind(AssertUnwindSafe(|| body.poll(cx))) {
                    Ok(Poll::Pending) => {}
                    Ok(Poll::Ready(output)) => *this.output = Some(output),
                    Err(payload) => inner.fail(PanicPayload::new(payload)),
                }
            }
            if this.output.is_some() || inner.aborting.get() {
                // Finished, or cancelled by a failure: dropping the body is its cleanup,
                // and a panic there is one more failure.
                let body = &mut this.body;
                if let Err(payload) = catch_unwind(AssertUnwindSafe(|| body.set(None))) {
                    inner.fail(PanicPayload::new(payload));
                }
            }
        }
        if this.body.is_none() && inner.is_idle() {
            *this.done = true;
            return Poll::Ready(match inner.outcome() {
                Ok(()) => this
                    .output
                    .take()
                    .ok_or(TaskGroupError { errors: Vec::new() }),
                Err(e) => Err(e),
            });
        }
        if this.body.is_none() {
            // While the body runs, a cancel goes to what the body awaits; after, to us.
            let starts = inner.waker.register(cx.waker());
            set_awaiting(inner);
            note_wait(WaitKind::TaskGroup, starts);
        } else {
            inner.waker.register(cx.waker());
        }
        Poll::Pending
    }
}

impl<Fut: Future> fmt::Debug for TaskGroupScope<Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroupScope")
            .field("group", &self.group)
            .field("body_running", &self.body.is_some())
            .finish()
    }
}

/// Every failure of a task group (asyncio's `ExceptionGroup('unhandled errors in a
/// TaskGroup', [...])`), in the order they happened.
///
/// An empty list means the group was shut down by a cancellation, not by a failure
/// (normally the awaiting task is then cancelled too and never sees it).
///
/// ```
/// aloop::run(async {
///     let err = aloop::task_group(|tg| async move {
///         tg.create_task(async { panic!("boom") });
///     })
///     .await
///     .unwrap_err();
///     assert_eq!(err.to_string(), "unhandled errors in a TaskGroup (1 sub-exception)");
///     let panics = err.into_errors();
///     assert_eq!(panics[0].message(), "boom");
/// });
/// ```
#[derive(Debug, Clone)]
pub struct TaskGroupError {
    errors: Vec<PanicPayload>,
}

impl TaskGroupError {
    /// The panics, in the order they happened.
    pub fn errors(&self) -> &[PanicPayload] {
        &self.errors
    }

    /// The panics, owned.
    pub fn into_errors(self) -> Vec<PanicPayload> {
        self.errors
    }
}

impl fmt::Display for TaskGroupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.errors.len();
        let plural = if n == 1 { "" } else { "s" };
        write!(
            f,
            "unhandled errors in a TaskGroup ({n} sub-exception{plural})"
        )
    }
}

impl std::error::Error for TaskGroupError {}
