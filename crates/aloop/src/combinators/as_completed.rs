//! `as_completed`: a `Stream` of the outputs of futures run as tasks, in the order they
//! finish (asyncio's `as_completed`), with an optional overall timeout.
//!
//! Done callbacks push each outcome onto a queue as the child finishes, so the stream's
//! order is the completion order and each item costs O(1).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;

use super::timeout::TimeoutError;
use super::{deadline_after, Children, WakerSlot};
use crate::error::TaskError;
use crate::sleep::{deadline, Sleep};
use crate::task::{note_wait, set_awaiting, Task, WaitKind};

struct Shared<T> {
    finished: RefCell<VecDeque<Result<T, TaskError>>>,
    /// The stream timed out or was dropped: later outcomes stay in their tasks.
    closed: Cell<bool>,
    waker: WakerSlot,
}

impl<T: 'static> Shared<T> {
    fn child_done(&self, task: &Task<T>) {
        if self.closed.get() {
            if !task.cancelled() {
                let _ = task.exception();
            }
            return;
        }
        let outcome = task.take_result().unwrap_or(Err(TaskError::Cancelled));
        self.finished.borrow_mut().push_back(outcome);
        self.waker.wake();
    }
}

/// One item of [`AsCompleted`]: the next child's outcome, or `Err(TimeoutError)` once
/// the timeout has passed.
///
/// ```
/// aloop::run(async {
///     let mut s = aloop::as_completed([async { 1 }], None);
///     let item: aloop::AsCompletedItem<i32> = s.next().await.unwrap();
///     assert_eq!(item.unwrap().unwrap(), 1);
/// });
/// ```
pub type AsCompletedItem<T> = Result<Result<T, TaskError>, TimeoutError>;

/// The stream returned by [`as_completed`]: `Ok(outcome)` for each child in the order
/// they finish, then, if the timeout passes first, one `Err(TimeoutError)` per child
/// still running (asyncio raises `TimeoutError` from each remaining awaitable). It ends
/// after as many items as it has children.
///
/// Dropping it cancels the children that have not finished (they belong to it); a
/// timeout alone cancels nothing. Besides [`Stream`], it has an inherent
/// [`next`](AsCompleted::next), so no extension trait is needed.
///
/// ```
/// use std::time::Duration;
/// aloop::run(async {
///     let quick = aloop::sleep(Duration::from_millis(1));
///     let slow = aloop::sleep(Duration::from_secs(10));
///     let mut s = aloop::as_completed([quick, slow], Duration::from_millis(20));
///     assert_eq!(s.remaining(), 2);
///     assert!(s.next().await.unwrap().unwrap().is_ok()); // the quick one
///     assert_eq!(s.next().await.unwrap().unwrap_err(), aloop::TimeoutError);
///     assert!(s.next().await.is_none());
/// });
/// ```
#[must_use = "streams do nothing unless polled"]
pub struct AsCompleted<T: 'static> {
    shared: Rc<Shared<T>>,
    children: Rc<Children>,
    /// Items still to yield.
    remaining: usize,
    sleep: Option<Sleep>,
    timed_out: bool,
}

/// Runs `futures` concurrently, each in its own task (spawned now, in order), and yields
/// their outcomes as they finish (asyncio's `as_completed`). `timeout` is a `Duration`
/// or `None`; see [`AsCompleted`].
///
/// # Panics
/// Outside a running loop (it calls [`create_task`](crate::create_task)).
///
/// Items are the outputs themselves, not awaitables as in asyncio: a Rust stream item is
/// already the awaited value.
///
/// ```
/// use std::time::Duration;
/// aloop::run(async {
///     let mut stream = aloop::as_completed(
///         [30u64, 10, 20].map(|ms| async move {
///             aloop::sleep(Duration::from_millis(ms)).await;
///             ms
///         }),
///         None,
///     );
///     let mut order = Vec::new();
///     while let Some(item) = stream.next().await {
///         order.push(item.unwrap().unwrap());
///     }
///     assert_eq!(order, [10, 20, 30]);
/// });
/// ```
#[track_caller]
pub fn as_completed<I>(
    futures: I,
    timeout: impl Into<Option<Duration>>,
) -> AsCompleted<<I::Item as Future>::Output>
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
    AsCompleted::from_tasks(tasks, timeout)
}

impl<T: 'static> AsCompleted<T> {
    /// [`as_completed`] over tasks that already exist; the stream owns them from now on
    /// (keep [`Task::as_any`] views to look at them).
    ///
    /// ```
    /// aloop::run(async {
    ///     let tasks = vec![aloop::create_task(async { 1 }), aloop::create_task(async { 2 })];
    ///     let mut stream = aloop::AsCompleted::from_tasks(tasks, None);
    ///     let mut sum = 0;
    ///     while let Some(item) = stream.next().await {
    ///         sum += item.unwrap().unwrap();
    ///     }
    ///     assert_eq!(sum, 3);
    /// });
    /// ```
    pub fn from_tasks<I>(tasks: I, timeout: impl Into<Option<Duration>>) -> AsCompleted<T>
    where
        I: IntoIterator<Item = Task<T>>,
    {
        let shared = Rc::new(Shared {
            finished: RefCell::new(VecDeque::new()),
            closed: Cell::new(false),
            waker: WakerSlot::default(),
        });
        let mut views = Vec::new();
        for task in tasks {
            views.push(task.as_any());
            let s = shared.clone();
            task.add_done_callback(move |t| s.child_done(t));
        }
        AsCompleted {
            shared,
            remaining: views.len(),
            children: Rc::new(Children::new(views, "as_completed")),
            // Timing starts now, as asyncio's does when iteration starts.
            sleep: timeout.into().and_then(deadline_after).map(deadline),
            timed_out: false,
        }
    }

    /// The next item, or `None` when every child has been accounted for.
    // An async `next` (as `StreamExt::next`), which `Iterator` cannot express.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> AsCompletedNext<'_, T> {
        AsCompletedNext { stream: self }
    }

    /// Items still to come.
    pub fn remaining(&self) -> usize {
        self.remaining
    }
}

impl<T: 'static> Stream for AsCompleted<T> {
    type Item = AsCompletedItem<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.remaining == 0 {
            return Poll::Ready(None);
        }
        let next = this.shared.finished.borrow_mut().pop_front();
        if let Some(outcome) = next {
            this.remaining -= 1;
            this.shared.waker.end_wait();
            return Poll::Ready(Some(Ok(outcome)));
        }
        if !this.timed_out {
            if let Some(sleep) = &mut this.sleep {
                if Pin::new(sleep).poll(cx).is_ready() {
                    // asyncio stops listening at the timeout; the children run on.
                    this.timed_out = true;
                    this.sleep = None;
                    this.shared.closed.set(true);
                }
            }
        }
        if this.timed_out {
            this.remaining -= 1;
            return Poll::Ready(Some(Err(TimeoutError)));
        }
        let starts = this.shared.waker.register(cx.waker());
        set_awaiting(this.children.clone());
        note_wait(WaitKind::Gather, starts);
        Poll::Pending
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<T: 'static> Drop for AsCompleted<T> {
    fn drop(&mut self) {
        self.shared.closed.set(true);
        self.children.cancel_unfinished();
    }
}

impl<T: 'static> fmt::Debug for AsCompleted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsCompleted")
            .field("remaining", &self.remaining)
            .field("timed_out", &self.timed_out)
            .finish()
    }
}

/// The future returned by [`AsCompleted::next`].
///
/// ```
/// aloop::run(async {
///     let mut s = aloop::as_completed([async { 'x' }], None);
///     let next: aloop::AsCompletedNext<'_, char> = s.next();
///     assert_eq!(next.await.unwrap().unwrap().unwrap(), 'x');
/// });
/// ```
#[must_use = "futures do nothing unless awaited"]
pub struct AsCompletedNext<'a, T: 'static> {
    stream: &'a mut AsCompleted<T>,
}

impl<T: 'static> Future for AsCompletedNext<'_, T> {
    type Output = Option<AsCompletedItem<T>>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut *self.get_mut().stream).poll_next(cx)
    }
}

impl<T: 'static> fmt::Debug for AsCompletedNext<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AsCompletedNext")
            .field(&self.stream)
            .finish()
    }
}
