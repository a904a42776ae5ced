//! `wait`: wait for tasks until one, the first failure, or all of them are done, or a
//! timeout passes, then hand them back split into `(done, pending)` (asyncio's `wait`).
//! Nothing is ever cancelled: not at the timeout, not when the wait itself is dropped.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::{deadline_after, WakerSlot};
use crate::error::TaskError;
use crate::sleep::{deadline, Sleep};
use crate::task::{note_wait, Task, WaitKind};

/// When [`wait`] returns (asyncio's `FIRST_COMPLETED`, `FIRST_EXCEPTION`,
/// `ALL_COMPLETED`).
///
/// ```
/// use std::time::Duration;
/// use aloop::ReturnWhen;
/// aloop::run(async {
///     let ok = aloop::create_task(async { 1 });
///     let boom = aloop::create_task(async {
///         aloop::sleep(Duration::from_millis(5)).await;
///         panic!("boom")
///     });
///     let slow = aloop::create_task(async {
///         aloop::sleep(Duration::from_secs(10)).await;
///         3
///     });
///     let (done, pending) = aloop::wait([ok, boom, slow], ReturnWhen::FirstException, None).await;
///     assert_eq!((done.len(), pending.len()), (2, 1));
/// });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReturnWhen {
    /// As soon as any task is done.
    FirstCompleted,
    /// As soon as any task panics (a cancelled task does not count, as in asyncio), or
    /// when all are done.
    FirstException,
    /// When all tasks are done.
    AllCompleted,
}

struct Shared {
    return_when: ReturnWhen,
    /// Tasks not done yet.
    left: Cell<usize>,
    triggered: Cell<bool>,
    waker: WakerSlot,
}

impl Shared {
    fn on_done<T: 'static>(&self, task: &Task<T>) {
        let left = self.left.get().saturating_sub(1);
        self.left.set(left);
        if left == 0
            || self.return_when == ReturnWhen::FirstCompleted
            || (self.return_when == ReturnWhen::FirstException && failed(task))
        {
            self.triggered.set(true);
            self.waker.wake();
        }
    }
}

/// asyncio's test: not cancelled, and holding an exception (which marks it retrieved).
fn failed<T: 'static>(task: &Task<T>) -> bool {
    !task.cancelled() && matches!(task.exception(), Ok(Some(TaskError::Panicked(_))))
}

/// The future returned by [`wait`]. Dropping it cancels nothing: it only stops
/// listening (the tasks it held are detached, still running).
///
/// ```
/// use std::time::Duration;
/// aloop::run(async {
///     let t = aloop::create_task(aloop::sleep(Duration::from_secs(10)));
///     let w: aloop::Wait<()> = aloop::wait([t], aloop::ReturnWhen::AllCompleted, Duration::from_millis(1));
///     let (done, pending) = w.await; // the timeout cancels nothing
///     assert!(done.is_empty() && !pending[0].cancelled());
/// });
/// ```
#[must_use = "wait does nothing unless awaited"]
pub struct Wait<T: 'static> {
    tasks: Vec<Task<T>>,
    return_when: ReturnWhen,
    timeout: Option<Duration>,
    sleep: Option<Sleep>,
    /// Set once the done callbacks are registered (first poll).
    shared: Option<Rc<Shared>>,
    callbacks: Vec<(usize, u64)>,
    finished: bool,
}

/// Waits for `tasks` until `return_when` holds or `timeout` passes, and returns them
/// split into `(done, pending)`, each in input order (asyncio's `wait`).
///
/// Nothing is cancelled: at the timeout the unfinished tasks come back in `pending` and
/// keep running (asyncio D6, D9). `timeout` takes a `Duration` or `None` (no limit).
/// Differences from asyncio: the tasks are handed back by value (the sets of asyncio);
/// an empty input returns two empty lists at once instead of raising `ValueError`; and if
/// the condition already holds when first polled, `wait` returns without yielding.
///
/// # Panics
/// When polled with a timeout outside a running loop, as [`sleep`](crate::sleep).
///
/// ```
/// use std::time::Duration;
/// use aloop::ReturnWhen;
/// aloop::run(async {
///     let fast = aloop::create_task(async {
///         aloop::sleep(Duration::from_millis(5)).await;
///         "fast"
///     });
///     let slow = aloop::create_task(async {
///         aloop::sleep(Duration::from_millis(50)).await;
///         "slow"
///     });
///     let (done, pending) = aloop::wait([fast, slow], ReturnWhen::FirstCompleted, None).await;
///     assert_eq!((done.len(), pending.len()), (1, 1));
///     let slow = pending.into_iter().next().unwrap();
///     assert_eq!(slow.await.unwrap(), "slow"); // it was not cancelled
/// });
/// ```
pub fn wait<T, I>(
    tasks: I,
    return_when: ReturnWhen,
    timeout: impl Into<Option<Duration>>,
) -> Wait<T>
where
    T: 'static,
    I: IntoIterator<Item = Task<T>>,
{
    Wait {
        tasks: tasks.into_iter().collect(),
        return_when,
        timeout: timeout.into(),
        sleep: None,
        shared: None,
        callbacks: Vec::new(),
        finished: false,
    }
}

impl<T: 'static> Wait<T> {
    /// Whether the condition holds for tasks already done when the wait starts.
    fn holds_now(&self) -> bool {
        let done = self.tasks.iter().filter(|t| t.done()).count();
        done == self.tasks.len()
            || match self.return_when {
                ReturnWhen::FirstCompleted => done > 0,
                ReturnWhen::FirstException => self.tasks.iter().any(|t| t.done() && failed(t)),
                ReturnWhen::AllCompleted => false,
            }
    }

    fn start(&mut self) {
        let shared = Rc::new(Shared {
            return_when: self.return_when,
            left: Cell::new(0),
            triggered: Cell::new(false),
            waker: WakerSlot::default(),
        });
        for (index, task) in self.tasks.iter().enumerate() {
            if !task.done() {
                shared.left.set(shared.left.get() + 1);
                let s = shared.clone();
                let id = task.add_done_callback(move |t| s.on_done(t));
                self.callbacks.push((index, id));
            }
        }
        self.shared = Some(shared);
        // A deadline past what `Instant` holds is no deadline.
        self.sleep = self.timeout.and_then(deadline_after).map(deadline);
    }

    fn unregister(&mut self) {
        for (index, id) in self.callbacks.drain(..) {
            if let Some(task) = self.tasks.get(index) {
                task.remove_done_callback(id);
            }
        }
    }

    fn finish(&mut self) -> (Vec<Task<T>>, Vec<Task<T>>) {
        self.finished = true;
        self.unregister();
        std::mem::take(&mut self.tasks)
            .into_iter()
            .partition(|t| t.done())
    }
}

impl<T: 'static> Future for Wait<T> {
    type Output = (Vec<Task<T>>, Vec<Task<T>>);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.finished, "aloop: a wait was polled after it returned");
        if this.shared.is_none() {
            if this.holds_now() {
                return Poll::Ready(this.finish());
            }
            this.start();
        }
        let triggered = this.shared.as_ref().is_some_and(|s| s.triggered.get());
        let timed_out = match &mut this.sleep {
            Some(sleep) => Pin::new(sleep).poll(cx).is_ready(),
            None => false,
        };
        if triggered || timed_out {
            return Poll::Ready(this.finish());
        }
        if let Some(shared) = &this.shared {
            // No edges to the tasks in the dump: `wait` does not own them (a cancel of
            // the waiting task does not reach them), so it registers no await target.
            let starts = shared.waker.register(cx.waker());
            note_wait(WaitKind::Wait, starts);
        }
        Poll::Pending
    }
}

impl<T: 'static> Drop for Wait<T> {
    fn drop(&mut self) {
        self.unregister();
    }
}

impl<T: 'static> fmt::Debug for Wait<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("tasks", &self.tasks.len())
            .field("return_when", &self.return_when)
            .field("timeout", &self.timeout)
            .finish()
    }
}
