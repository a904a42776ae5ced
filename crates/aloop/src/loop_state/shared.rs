//! The part of the loop state other threads may touch, through a `LoopHandle` or a
//! waker: the loop's id, the cross-thread queue and the driver's wake-up, whether it
//! runs; and the process's list of live loops, which the introspection server
//! (`introspect/`) asks for their tasks. The rest of the state (`mod.rs`) is `!Send`
//! and stays on the loop's thread.

use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use concurrent_queue::ConcurrentQueue;

use super::driver::Driver;
use super::ready::Remote;

static NEXT_LOOP_ID: AtomicUsize = AtomicUsize::new(1);

/// Every loop of the process, made and not yet dropped (a lock per loop made or
/// dropped; nothing per iteration).
static LOOPS: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());

/// Adds a new loop to the process's list.
pub(super) fn register_loop(shared: &Arc<Shared>) {
    let mut loops = LOOPS.lock().unwrap_or_else(PoisonError::into_inner);
    loops.push(Arc::downgrade(shared));
}

/// The loops of the process that are still alive, oldest first.
pub(crate) fn live_loops() -> Vec<Arc<Shared>> {
    let loops = LOOPS.lock().unwrap_or_else(PoisonError::into_inner);
    loops.iter().filter_map(Weak::upgrade).collect()
}

/// What a loop shares with other threads (held in an `Arc`).
pub(crate) struct Shared {
    id: usize,
    queue: ConcurrentQueue<Remote>,
    driver: Driver,
    /// Set while the loop is about to block or blocked in the driver: only then does a
    /// remote push need the (syscall-priced) notify.
    polling: AtomicBool,
    /// Set by `push`, cleared as the loop starts to drain (`has_remote`).
    queued: AtomicBool,
    /// The loop's `LoopState` while it lives, null after: how a task, which holds only
    /// this `Arc`, finds its loop (`LoopState::of_shared`, on the loop's thread only).
    state: AtomicPtr<()>,
    /// Whether a run is in progress (read by the introspection server, which does not
    /// ask a loop that cannot answer).
    running: AtomicBool,
    /// The name of the loop's thread (the one that made it: a loop is `!Send`), or its
    /// id: how the introspection server names a loop that does not answer.
    thread: String,
}

impl Shared {
    pub(super) fn new(driver: Driver) -> Shared {
        Shared {
            id: NEXT_LOOP_ID.fetch_add(1, Ordering::Relaxed),
            queue: ConcurrentQueue::unbounded(),
            driver,
            polling: AtomicBool::new(false),
            queued: AtomicBool::new(false),
            state: AtomicPtr::new(std::ptr::null_mut()),
            running: AtomicBool::new(false),
            thread: {
                let thread = std::thread::current();
                match thread.name() {
                    Some(name) => name.to_owned(),
                    None => format!("{:?}", thread.id()),
                }
            },
        }
    }

    pub(super) fn set_state(&self, state: *const ()) {
        self.state.store(state.cast_mut(), Ordering::Relaxed);
    }

    pub(super) fn state(&self) -> *const () {
        self.state.load(Ordering::Relaxed)
    }

    /// A number no other loop of this process has.
    pub(crate) fn id(&self) -> usize {
        self.id
    }

    pub(super) fn driver(&self) -> &Driver {
        &self.driver
    }

    /// Whether something was queued since the loop last emptied the queue: one plain
    /// load, cheap enough for every `call_soon` (the queue's own `is_empty` costs
    /// ~35 instructions, 8 % of a callback). An item pushed before this call (by a
    /// thread that happened-before it) is always seen.
    #[inline]
    pub(crate) fn has_remote(&self) -> bool {
        self.queued.load(Ordering::Acquire)
    }

    /// Queues an item for the loop and wakes it if it sleeps. Gives the item back if the
    /// loop is closed.
    pub(crate) fn push(&self, item: Remote) -> Result<(), Remote> {
        self.queue.push(item).map_err(|e| e.into_inner())?;
        // A read-modify-write, so every push's flag write continues the release
        // sequence of the ones before it: the loop's `start_draining`, reading the
        // latest, then sees all their items.
        self.queued.swap(true, Ordering::Release);
        // Pairs with the fence in `about_to_block`: either the loop sees the item, or we
        // see that it blocks.
        fence(Ordering::SeqCst);
        if self.polling.swap(false, Ordering::SeqCst) {
            self.driver.notify();
        }
        Ok(())
    }

    /// Announces that the loop will block; returns false if work arrived meanwhile (then
    /// the loop must not block).
    pub(super) fn about_to_block(&self) -> bool {
        self.polling.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        self.queue.is_empty()
    }

    pub(super) fn done_blocking(&self) {
        self.polling.store(false, Ordering::Relaxed);
    }

    /// The loop is about to pop everything queued: a push from now on sets the flag
    /// again, and one before it is among what the pops find.
    pub(super) fn start_draining(&self) {
        self.queued.swap(false, Ordering::Acquire);
    }

    pub(super) fn pop(&self) -> Option<Remote> {
        if self.queue.is_empty() {
            return None;
        }
        self.queue.pop().ok()
    }

    pub(super) fn close(&self) {
        self.queue.close();
    }

    /// Whether the loop was closed (it then refuses remote work).
    pub(crate) fn is_closed(&self) -> bool {
        self.queue.is_closed()
    }

    pub(super) fn set_running(&self, running: bool) {
        self.running.store(running, Ordering::Relaxed);
    }

    /// The name of the loop's thread.
    pub(crate) fn thread(&self) -> &str {
        &self.thread
    }

    /// Whether a run of the loop is in progress.
    pub(crate) fn is_running(&self) -> bool {
        self.running.load(Ordering::Relaxed)
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // This loop's entry (and any other dead one) goes. Nothing drops a `Shared`
        // while holding the lock (the list holds `Weak`s only), so this cannot deadlock.
        let mut loops = LOOPS.lock().unwrap_or_else(PoisonError::into_inner);
        loops.retain(|w| w.strong_count() > 0);
    }
}
