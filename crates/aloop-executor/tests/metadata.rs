//! Tasks spawned with metadata (`spawn_local_with`): the metadata lives in the task cell,
//! outlives the future, and is dropped exactly once, on the owning thread, whichever
//! thread lets go of the task last.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::thread::{self, ThreadId};

use aloop_executor::{spawn_local_with, Runnable, TaskRef};

type Queue = Arc<Mutex<Vec<Runnable>>>;

/// Metadata that records where and how often it was dropped.
struct Meta {
    value: Cell<u32>,
    dropped_on: Arc<Mutex<Vec<ThreadId>>>,
}

impl Drop for Meta {
    fn drop(&mut self) {
        self.dropped_on.lock().unwrap().push(thread::current().id());
    }
}

fn meta() -> (Meta, Arc<Mutex<Vec<ThreadId>>>) {
    let dropped_on = Arc::new(Mutex::new(Vec::new()));
    (
        Meta {
            value: Cell::new(0),
            dropped_on: dropped_on.clone(),
        },
        dropped_on,
    )
}

fn drain(queue: &Queue) {
    loop {
        let next = queue.lock().unwrap().pop();
        match next {
            Some(r) => {
                r.run();
            }
            None => return,
        }
    }
}

/// Pending until `flag` is set; parks its waker in `slot`. Writes the metadata on every
/// poll and once more from its destructor, proving the metadata outlives it.
struct Parked {
    meta: NonNull<Meta>,
    flag: Arc<AtomicUsize>,
    slot: Arc<Mutex<Option<Waker>>>,
}

impl Future for Parked {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: the metadata outlives the future (spawn_local_with's contract).
        let meta = unsafe { self.meta.as_ref() };
        meta.value.set(meta.value.get() + 1);
        *self.slot.lock().unwrap() = Some(cx.waker().clone());
        if self.flag.load(Ordering::SeqCst) != 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Parked {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { self.meta.as_ref() }.value.set(100);
    }
}

struct Fixture {
    queue: Queue,
    flag: Arc<AtomicUsize>,
    slot: Arc<Mutex<Option<Waker>>>,
    dropped_on: Arc<Mutex<Vec<ThreadId>>>,
}

fn spawn_parked() -> (Fixture, Runnable, TaskRef) {
    let queue: Queue = Arc::new(Mutex::new(Vec::new()));
    let q = queue.clone();
    let (m, dropped_on) = meta();
    let flag = Arc::new(AtomicUsize::new(0));
    let slot = Arc::new(Mutex::new(None));
    let (f, s) = (flag.clone(), slot.clone());
    let (runnable, task) = spawn_local_with(
        m,
        move |meta| Parked {
            meta,
            flag: f,
            slot: s,
        },
        move |r| q.lock().unwrap().push(r),
    );
    let fx = Fixture {
        queue,
        flag,
        slot,
        dropped_on,
    };
    (fx, runnable, task)
}

fn value(task: &TaskRef) -> u32 {
    // SAFETY: spawned with metadata of type `Meta`.
    unsafe { task.metadata::<Meta>() }.value.get()
}

#[test]
fn the_future_and_the_handle_share_the_metadata() {
    let (fx, runnable, task) = spawn_parked();
    runnable.run();
    assert_eq!(value(&task), 1);
    fx.flag.store(1, Ordering::SeqCst);
    fx.slot.lock().unwrap().take().unwrap().wake();
    drain(&fx.queue);
    assert!(task.is_finished());
    // The future's destructor ran, and the metadata is still there to read.
    assert_eq!(value(&task), 100);
    assert!(fx.dropped_on.lock().unwrap().is_empty());
    drop(task);
    // The last poll's waker still holds the cell.
    assert!(fx.dropped_on.lock().unwrap().is_empty());
    drop(fx.slot.lock().unwrap().take());
    assert_eq!(*fx.dropped_on.lock().unwrap(), vec![thread::current().id()]);
}

#[test]
fn from_metadata_reaches_the_same_task() {
    let (fx, runnable, task) = spawn_parked();
    // SAFETY: spawned with metadata of type `Meta`; `task` keeps it alive.
    let meta = NonNull::from(unsafe { task.metadata::<Meta>() });
    // SAFETY: as above.
    let again = unsafe { TaskRef::from_metadata(meta) };
    assert_eq!(again, task);
    drop(task);
    drop(runnable); // cancels: the future is dropped, the metadata is not
    assert_eq!(value(&again), 100);
    assert!(again.is_cancelled());
    assert!(fx.dropped_on.lock().unwrap().is_empty());
    drop(again);
    assert_eq!(fx.dropped_on.lock().unwrap().len(), 1);
}

#[test]
fn a_last_waker_dropped_on_another_thread_sends_the_cell_home() {
    let (fx, runnable, task) = spawn_parked();
    runnable.run();
    fx.flag.store(1, Ordering::SeqCst);
    let waker = fx.slot.lock().unwrap().take().unwrap();
    waker.wake_by_ref();
    drain(&fx.queue); // completes; the parked waker is replaced by the last poll's
    drop(fx.slot.lock().unwrap().take());
    drop(task);
    assert!(fx.dropped_on.lock().unwrap().is_empty());
    thread::spawn(move || drop(waker)).join().unwrap();
    // The metadata may be !Send: it was not dropped over there ...
    assert!(fx.dropped_on.lock().unwrap().is_empty());
    // ... but queued home, and dropped when the owner runs its queue.
    assert_eq!(fx.queue.lock().unwrap().len(), 1);
    drain(&fx.queue);
    assert_eq!(*fx.dropped_on.lock().unwrap(), vec![thread::current().id()]);
}

#[test]
fn an_unreachable_pending_task_is_dropped_at_home_not_polled() {
    let (fx, runnable, task) = spawn_parked();
    runnable.run();
    drop(task);
    let waker = fx.slot.lock().unwrap().take().unwrap();
    thread::spawn(move || drop(waker)).join().unwrap();
    drain(&fx.queue);
    // Polled once (the first step), never again: the trip home drops the future.
    assert_eq!(fx.dropped_on.lock().unwrap().len(), 1);
    assert_eq!(fx.flag.load(Ordering::SeqCst), 0);
}

#[test]
fn an_unreachable_pending_task_dropped_on_its_owner_goes_at_once() {
    let (fx, runnable, task) = spawn_parked();
    runnable.run();
    drop(task);
    assert!(fx.dropped_on.lock().unwrap().is_empty());
    drop(fx.slot.lock().unwrap().take()); // the last reference
    assert_eq!(fx.dropped_on.lock().unwrap().len(), 1);
    assert!(fx.queue.lock().unwrap().is_empty());
}

/// A pending future whose destructor takes a new reference to its own task (as a
/// runtime's "current task" lookup from cleanup code would).
struct Resurrects {
    meta: NonNull<Meta>,
    keep: Rc<RefCell<Option<TaskRef>>>,
}

impl Future for Resurrects {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

impl Drop for Resurrects {
    fn drop(&mut self) {
        // SAFETY: the metadata has type `Meta` and outlives the future; the cell is alive
        // while its future is being dropped.
        let again = unsafe { TaskRef::from_metadata(self.meta) };
        *self.keep.borrow_mut() = Some(again);
    }
}

#[test]
fn a_destructor_that_takes_a_reference_keeps_the_cell_alive() {
    let queue: Queue = Arc::new(Mutex::new(Vec::new()));
    let q = queue.clone();
    let keep = Rc::new(RefCell::new(None));
    let k = keep.clone();
    let (m, dropped_on) = meta();
    let (runnable, task) = spawn_local_with(
        m,
        move |meta| Resurrects { meta, keep: k },
        move |r| q.lock().unwrap().push(r),
    );
    runnable.run(); // pending, and nothing holds a waker
    drop(task); // the last reference: the pending future is dropped here
    assert!(dropped_on.lock().unwrap().is_empty());
    let kept = keep.borrow_mut().take().unwrap();
    // The task counts as cancelled; cancelling again or reading it is still sound.
    assert!(kept.is_finished());
    assert!(kept.is_cancelled());
    assert!(!kept.cancel());
    assert!(queue.lock().unwrap().is_empty());
    drop(kept);
    assert_eq!(dropped_on.lock().unwrap().len(), 1);
}

#[test]
fn a_panic_while_building_the_future_drops_the_metadata() {
    let (m, dropped_on) = meta();
    let caught = std::panic::catch_unwind(move || {
        spawn_local_with(
            m,
            |_| -> std::future::Ready<()> { panic!("no future today") },
            |_r: Runnable| {},
        )
    });
    assert!(caught.is_err());
    assert_eq!(dropped_on.lock().unwrap().len(), 1);
}

#[test]
fn into_raw_and_from_raw_keep_the_reference() {
    let (fx, runnable, task) = spawn_parked();
    let again = task.clone();
    let raw = again.into_raw();
    drop(task);
    drop(runnable);
    // Only the raw pointer holds the task now: the metadata is still there.
    assert!(fx.dropped_on.lock().unwrap().is_empty());
    // SAFETY: `raw` came from `into_raw` on this thread and is taken back once.
    let back = unsafe { TaskRef::from_raw(raw) };
    assert!(back.is_cancelled());
    drop(back);
    assert_eq!(fx.dropped_on.lock().unwrap().len(), 1);
}

/// What `current_metadata` says, read as a number tag.
fn current_tag() -> Option<u32> {
    // SAFETY: every task of these tests that reads it has a `u32` as metadata.
    unsafe { aloop_executor::current_metadata::<u32>() }.map(|m| unsafe { *m.as_ref() })
}

/// Records `current_tag()` when dropped.
struct SeesTagOnDrop(Rc<Cell<Option<u32>>>);

impl Drop for SeesTagOnDrop {
    fn drop(&mut self) {
        self.0.set(current_tag());
    }
}

#[test]
fn current_metadata_is_the_polled_or_dropped_task_and_nests() {
    let queue: Arc<Mutex<Vec<Runnable>>> = Arc::default();
    let seen: Rc<RefCell<Vec<Option<u32>>>> = Rc::default();
    // The inner task (metadata 2) is run from inside the outer one's poll (metadata 1).
    let (inner, _inner_task) = {
        let seen = seen.clone();
        spawn_local_with(
            2u32,
            move |_| async move { seen.borrow_mut().push(current_tag()) },
            |_| {},
        )
    };
    let inner = RefCell::new(Some(inner));
    let dropped_seen = Rc::new(Cell::new(None));
    let (outer, outer_task) = {
        let seen = seen.clone();
        let guard = SeesTagOnDrop(dropped_seen.clone());
        let q = queue.clone();
        spawn_local_with(
            1u32,
            move |_| {
                std::future::poll_fn(move |cx| {
                    let _keep = &guard;
                    seen.borrow_mut().push(current_tag());
                    if let Some(inner) = inner.borrow_mut().take() {
                        inner.run();
                    }
                    seen.borrow_mut().push(current_tag());
                    cx.waker().wake_by_ref();
                    Poll::<()>::Pending
                })
            },
            move |r| q.lock().unwrap().push(r),
        )
    };
    assert_eq!(current_tag(), None);
    outer.run();
    assert_eq!(*seen.borrow(), [Some(1), Some(2), Some(1)]);
    assert_eq!(current_tag(), None);
    // Cancelled: the future is dropped at its next step, inside its task.
    assert!(outer_task.cancel());
    let next = queue.lock().unwrap().pop().unwrap();
    next.run();
    assert_eq!(dropped_seen.get(), Some(1));
    assert_eq!(current_tag(), None);
}
