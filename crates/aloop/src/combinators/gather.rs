//! `gather`: run futures concurrently as tasks and collect their outputs in argument
//! order (asyncio's `gather`), its `return_exceptions` form, and the `gather!` / `join!`
//! macros for futures of different output types.
//!
//! Each child reports through a done callback that moves its output into a slot, so a
//! gather of n tasks costs O(n) in all, not O(n) per wake-up.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::{Children, WakerSlot};
use crate::error::TaskError;
use crate::task::{note_wait, set_awaiting, Task, WaitKind};

struct Shared<T> {
    /// Outcomes by argument position, filled as children finish.
    slots: RefCell<Vec<Option<Result<T, TaskError>>>>,
    remaining: Cell<usize>,
    first_error: RefCell<Option<TaskError>>,
    /// The gather returned or was dropped: children finishing later are only marked as
    /// retrieved (asyncio does the same), their outputs stay in their tasks.
    finished: Cell<bool>,
    waker: WakerSlot,
}

impl<T: 'static> Shared<T> {
    fn child_done(&self, index: usize, task: &Task<T>) {
        if self.finished.get() {
            if !task.cancelled() {
                let _ = task.exception();
            }
            return;
        }
        // Only another done callback could have taken the output first; the child then
        // reports as cancelled rather than leaving a hole.
        let outcome = task.take_result().unwrap_or(Err(TaskError::Cancelled));
        let failed = match &outcome {
            Err(e) if self.first_error.borrow().is_none() => {
                *self.first_error.borrow_mut() = Some(e.clone());
                true
            }
            _ => false,
        };
        if let Some(slot) = self.slots.borrow_mut().get_mut(index) {
            *slot = Some(outcome);
        }
        let left = self.remaining.get().saturating_sub(1);
        self.remaining.set(left);
        if failed || left == 0 {
            self.waker.wake();
        }
    }

    fn take_outcomes(&self) -> Vec<Result<T, TaskError>> {
        std::mem::take(&mut *self.slots.borrow_mut())
            .into_iter()
            .map(|slot| slot.unwrap_or(Err(TaskError::Cancelled)))
            .collect()
    }
}

/// The future returned by [`gather`] and [`Gather::from_tasks`]: every child's output
/// in argument order, or the first error as soon as it happens.
///
/// Awaiting it yields `Result<Vec<T>, TaskError>`. The first child to panic or be
/// cancelled makes it return that error at once, *without* cancelling the other children
/// (asyncio's default `gather`); they run on, detached. Use
/// [`return_exceptions`](Gather::return_exceptions) or [`gather_all`] to get every
/// outcome instead.
///
/// Dropping it before it returned (which is what cancelling the task awaiting it does)
/// cancels the children that are not done yet; cancelling the awaiting task cancels them
/// at once, as asyncio's cancelled gather does. A child cancelled on its own cancels
/// nothing else.
///
/// ```
/// use std::time::Duration;
/// aloop::run(async {
///     let slow = aloop::create_task(aloop::sleep(Duration::from_secs(10)));
///     let view = slow.as_any();
///     let g = aloop::Gather::from_tasks([slow]);
///     assert_eq!(g.len(), 1);
///     drop(g); // never awaited: the child is cancelled
///     aloop::sleep(Duration::ZERO).await;
///     assert!(view.cancelled());
/// });
/// ```
#[must_use = "a gather cancels its children when dropped; await it"]
pub struct Gather<T: 'static> {
    shared: Rc<Shared<T>>,
    children: Rc<Children>,
}

impl<T: 'static> Gather<T> {
    /// Gathers tasks that already exist (asyncio's `gather(task_a, task_b)`). The gather
    /// owns them from now on: keep [`Task::as_any`] views to look at them later.
    ///
    /// ```
    /// aloop::run(async {
    ///     let a = aloop::create_task(async { 1 });
    ///     let b = aloop::create_task(async { 2 });
    ///     let out = aloop::Gather::from_tasks([a, b]).await.unwrap();
    ///     assert_eq!(out, [1, 2]);
    /// });
    /// ```
    pub fn from_tasks<I: IntoIterator<Item = Task<T>>>(tasks: I) -> Gather<T> {
        let tasks: Vec<Task<T>> = tasks.into_iter().collect();
        let n = tasks.len();
        let shared = Rc::new(Shared {
            slots: RefCell::new((0..n).map(|_| None).collect()),
            remaining: Cell::new(n),
            first_error: RefCell::new(None),
            finished: Cell::new(false),
            waker: WakerSlot::default(),
        });
        let mut views = Vec::with_capacity(n);
        for (index, task) in tasks.into_iter().enumerate() {
            views.push(task.as_any());
            let shared = shared.clone();
            task.add_done_callback(move |t| shared.child_done(index, t));
        }
        Gather {
            shared,
            children: Rc::new(Children::new(views, "gather")),
        }
    }

    /// asyncio's `return_exceptions=True`: wait for every child and return all outcomes
    /// in argument order, a cancelled child as `Err(TaskError::Cancelled)`.
    ///
    /// ```
    /// aloop::run(async {
    ///     let ok = aloop::create_task(async { 1 });
    ///     let cancelled = aloop::create_task(async { 2 });
    ///     cancelled.cancel();
    ///     let out = aloop::Gather::from_tasks([ok, cancelled]).return_exceptions().await;
    ///     assert_eq!(*out[0].as_ref().unwrap(), 1);
    ///     assert!(out[1].as_ref().unwrap_err().is_cancelled());
    /// });
    /// ```
    pub fn return_exceptions(self) -> GatherAll<T> {
        GatherAll { inner: self }
    }

    /// How many children the gather has.
    pub fn len(&self) -> usize {
        self.children.tasks.len()
    }

    /// Whether the gather has no children (it is ready at once).
    pub fn is_empty(&self) -> bool {
        self.children.tasks.is_empty()
    }

    fn check_polled_once(&self) {
        assert!(
            !self.shared.finished.get(),
            "aloop: a gather was polled after it returned"
        );
    }

    fn finish(&self) {
        self.shared.finished.set(true);
    }

    /// Registers the awaiting task: woken by the children, its cancel forwarded to them.
    fn park(&self, cx: &mut Context<'_>) {
        let starts = self.shared.waker.register(cx.waker());
        set_awaiting(self.children.clone());
        note_wait(WaitKind::Gather, starts);
    }
}

impl<T: 'static> Future for Gather<T> {
    type Output = Result<Vec<T>, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.check_polled_once();
        let first_error = this.shared.first_error.borrow_mut().take();
        if let Some(e) = first_error {
            this.finish();
            this.shared.slots.borrow_mut().clear();
            return Poll::Ready(Err(e));
        }
        if this.shared.remaining.get() == 0 {
            this.finish();
            return Poll::Ready(this.shared.take_outcomes().into_iter().collect());
        }
        this.park(cx);
        Poll::Pending
    }
}

impl<T: 'static> Drop for Gather<T> {
    fn drop(&mut self) {
        if !self.shared.finished.replace(true) {
            self.children.cancel_unfinished();
        }
    }
}

impl<T: 'static> fmt::Debug for Gather<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gather")
            .field("children", &self.len())
            .field("remaining", &self.shared.remaining.get())
            .finish()
    }
}

/// The future returned by [`gather_all`] and [`Gather::return_exceptions`]: every
/// child's outcome, in argument order, once all are done. Dropping it before it returned
/// cancels the unfinished children, as [`Gather`].
///
/// ```
/// aloop::run(async {
///     let all: aloop::GatherAll<u8> = aloop::gather_all([1u8, 2].map(|x| async move { x }));
///     let out: Vec<u8> = all.await.into_iter().map(Result::unwrap).collect();
///     assert_eq!(out, [1, 2]);
/// });
/// ```
#[must_use = "a gather cancels its children when dropped; await it"]
pub struct GatherAll<T: 'static> {
    inner: Gather<T>,
}

impl<T: 'static> Future for GatherAll<T> {
    type Output = Vec<Result<T, TaskError>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &self.get_mut().inner;
        inner.check_polled_once();
        if inner.shared.remaining.get() == 0 {
            inner.finish();
            return Poll::Ready(inner.shared.take_outcomes());
        }
        inner.park(cx);
        Poll::Pending
    }
}

impl<T: 'static> fmt::Debug for GatherAll<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("GatherAll").field(&self.inner).finish()
    }
}

/// Runs `futures` concurrently, each in its own task (spawned now, in order), and yields
/// their outputs in argument order (asyncio's `gather`).
///
/// The first panic or cancellation of a child is returned at once as `Err`, leaving the
/// others running; see [`Gather`] for cancellation.
///
/// # Panics
/// Outside a running loop (it calls [`create_task`](crate::create_task)).
///
/// ```
/// use std::time::Duration;
/// aloop::run(async {
///     let delays = [30u64, 10, 20];
///     let out = aloop::gather(delays.map(|ms| async move {
///         aloop::sleep(Duration::from_millis(ms)).await;
///         ms
///     }))
///     .await;
///     assert_eq!(out.unwrap(), [30, 10, 20]); // argument order, not completion order
/// });
/// ```
#[track_caller]
pub fn gather<I>(futures: I) -> Gather<<I::Item as Future>::Output>
where
    I: IntoIterator,
    I::Item: Future + 'static,
    <I::Item as Future>::Output: 'static,
{
    let created_at = std::panic::Location::caller();
    let tasks: Vec<_> = futures
        .into_iter()
        .map(|f| crate::runner::create_task_at(f, created_at))
        .collect();
    Gather::from_tasks(tasks)
}

/// [`gather`] with asyncio's `return_exceptions=True`: waits for every child and yields
/// all outcomes in argument order.
///
/// # Panics
/// Outside a running loop, as [`gather`].
///
/// ```
/// aloop::run(async {
///     let out = aloop::gather_all([
///         Box::pin(async { 1 }) as std::pin::Pin<Box<dyn std::future::Future<Output = i32>>>,
///         Box::pin(async { panic!("k") }),
///         Box::pin(async { 3 }),
///     ])
///     .await;
///     assert_eq!(*out[0].as_ref().unwrap(), 1);
///     assert!(out[1].as_ref().unwrap_err().is_panic());
///     assert_eq!(*out[2].as_ref().unwrap(), 3);
/// });
/// ```
#[track_caller]
pub fn gather_all<I>(futures: I) -> GatherAll<<I::Item as Future>::Output>
where
    I: IntoIterator,
    I::Item: Future + 'static,
    <I::Item as Future>::Output: 'static,
{
    gather(futures).return_exceptions()
}

/// Where the `gather!` / `join!` macros keep one child's output until all are done.
#[doc(hidden)]
pub struct Slot<T>(Rc<RefCell<Option<T>>>);

impl<T> Slot<T> {
    #[doc(hidden)]
    pub fn take(&self) -> Result<T, TaskError> {
        self.0.borrow_mut().take().ok_or(TaskError::Cancelled)
    }

    #[doc(hidden)]
    pub fn outcome(&self, unit: Option<Result<(), TaskError>>) -> Result<T, TaskError> {
        unit.unwrap_or(Err(TaskError::Cancelled))?;
        self.take()
    }
}

type Erased = Pin<Box<dyn Future<Output = ()>>>;

/// Turns `future` into a `()` future that stores its output in the returned slot, so
/// futures of different types can share one [`Gather`].
#[doc(hidden)]
pub fn split<F>(future: F, erased: &mut Vec<Erased>) -> Slot<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let slot = Rc::new(RefCell::new(None));
    let filled = slot.clone();
    erased.push(Box::pin(async move {
        let value = future.await;
        *filled.borrow_mut() = Some(value);
    }));
    Slot(slot)
}

/// A tuple of slots, read back as a tuple of values.
#[doc(hidden)]
pub trait Slots {
    /// The outputs, when every child succeeded.
    type Values;
    /// Every child's outcome.
    type Outcomes;
    /// Reads every slot.
    fn take_all(self) -> Result<Self::Values, TaskError>;
    /// Pairs each slot with its child's outcome.
    fn outcomes(self, units: Vec<Result<(), TaskError>>) -> Self::Outcomes;
}

macro_rules! impl_slots {
    ($($T:ident $i:tt),+) => {
        impl<$($T),+> Slots for ($(Slot<$T>,)+) {
            type Values = ($($T,)+);
            type Outcomes = ($(Result<$T, TaskError>,)+);
            fn take_all(self) -> Result<Self::Values, TaskError> {
                Ok(($(self.$i.take()?,)+))
            }
            fn outcomes(self, units: Vec<Result<(), TaskError>>) -> Self::Outcomes {
                let mut units = units.into_iter();
                ($(self.$i.outcome(units.next()),)+)
            }
        }
    };
}

impl_slots!(A 0);
impl_slots!(A 0, B 1);
impl_slots!(A 0, B 1, C 2);
impl_slots!(A 0, B 1, C 2, D 3);
impl_slots!(A 0, B 1, C 2, D 3, E 4);
impl_slots!(A 0, B 1, C 2, D 3, E 4, F 5);
impl_slots!(A 0, B 1, C 2, D 3, E 4, F 5, G 6);
impl_slots!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7);
impl_slots!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8);
impl_slots!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9);
impl_slots!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10);
impl_slots!(A 0, B 1, C 2, D 3, E 4, F 5, G 6, H 7, I 8, J 9, K 10, L 11);

/// [`gather`](crate::gather()) for futures of different output types (up to 12): spawns
/// each in a task now and yields `Result<(A, B, ..), TaskError>`, the first error
/// returned as soon as it happens (the other children run on). Must be used inside a
/// running loop.
///
/// ```
/// aloop::run(async {
///     let (n, s) = aloop::gather!(async { 1 }, async { "two" }).await.unwrap();
///     assert_eq!((n, s), (1, "two"));
/// });
/// ```
#[macro_export]
macro_rules! gather {
    ($($fut:expr),+ $(,)?) => {{
        let mut erased = ::std::vec::Vec::new();
        let slots = ($($crate::__private::split($fut, &mut erased),)+);
        let gathered = $crate::gather(erased);
        async move {
            gathered.await?;
            $crate::__private::Slots::take_all(slots)
        }
    }};
}

/// [`gather_all`](crate::gather_all) for futures of different output types (up to 12):
/// waits for every child and yields a tuple of `Result<_, TaskError>`, one per future.
///
/// ```
/// aloop::run(async {
///     let (n, s) = aloop::join!(async { 1 }, async { "two" }).await;
///     assert_eq!((n.unwrap(), s.unwrap()), (1, "two"));
/// });
/// ```
#[macro_export]
macro_rules! join {
    ($($fut:expr),+ $(,)?) => {{
        let mut erased = ::std::vec::Vec::new();
        let slots = ($($crate::__private::split($fut, &mut erased),)+);
        let gathered = $crate::gather_all(erased);
        async move {
            let units = gathered.await;
            $crate::__private::Slots::outcomes(slots, units)
        }
    }};
}
