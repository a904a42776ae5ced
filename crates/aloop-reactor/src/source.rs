//! Per-source readiness state shared between the reactor (which delivers events) and
//! the registration that owns the fd (which waits for and clears readiness), plus the
//! slab that maps poller keys to sources.

use std::collections::HashMap;
use std::os::unix::io::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use parking_lot::{Mutex, MutexGuard};

use crate::sync::{lock_waiters, AtomicU64, WaitLock};

/// How a source is registered with the poller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Registered once for both directions; the kernel reports each new edge.
    Edge,
    /// Fallback where the poller lacks edge mode: armed per wait, disarmed per event.
    Oneshot,
    /// Level-triggered with explicit interest (the loop's `add_reader`/`add_writer`).
    Level,
}

/// Index of a direction in the per-source arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    /// Readable (also error/hang-up, which make reads return promptly).
    Read = 0,
    /// Writable (also error/hang-up).
    Write = 1,
}

/// Bit 0 of a direction's state word: readiness is set.
const READY: u64 = 1;
/// Bit 1: a waker may be registered for the direction. Set by `register_waker` (with
/// the waiters' lock held), cleared by `set_ready` once it has taken the wakers (same
/// lock), so an event on a direction nobody waits for takes no lock at all.
const WAITING: u64 = 2;
/// Each delivered event adds this to the state word, so any event changes the word
/// even when the ready bit was already set. That is what makes "clear readiness only
/// if nothing arrived since I looked" a single compare-and-swap.
const TICK: u64 = 4;

/// Tasks waiting on one direction. Almost always one (a reader, a writer), kept
/// inline; further distinct tasks (two tasks reading one `&TcpStream`) go to
/// `extra` rather than displacing the first, which would lose its wake-up.
#[derive(Debug, Default)]
struct Waiters {
    first: Option<Waker>,
    extra: Vec<Waker>,
}

impl Waiters {
    fn register(&mut self, waker: &Waker) {
        match &self.first {
            None => self.first = Some(waker.clone()),
            Some(w) if w.will_wake(waker) => {}
            Some(_) => {
                if !self.extra.iter().any(|w| w.will_wake(waker)) {
                    self.extra.push(waker.clone());
                }
            }
        }
    }

    fn take_into(&mut self, out: &mut Vec<Waker>) {
        if let Some(w) = self.first.take() {
            out.push(w);
        }
        out.append(&mut self.extra);
    }
}

/// A direction's first readiness word.
fn state_word(ready: bool) -> AtomicU64 {
    AtomicU64::new(if ready { READY } else { 0 })
}

/// A registered fd and its readiness.
///
/// `repr(C)`, with what the reactor reads for every event first: both directions'
/// state words, the flags and the fd share a cache line, and each direction's waiters
/// follow. With the compiler's order, an event touched three or four lines of a
/// source a server's other connections had long pushed out of cache.
#[derive(Debug)]
#[repr(C)]
pub(crate) struct Source {
    /// Each direction's readiness word (ready bit and tick, see `READY` and `TICK`),
    /// indexed by `Dir`.
    states: [AtomicU64; 2],
    /// Set once an event carried hang-up, error, the peer's end of writing or urgent
    /// data: from then on readiness is cleared only by `WouldBlock`, never by a short
    /// read or write, since the pending end-of-stream or error will produce no
    /// further edge (and a read stops short at an urgent mark).
    pub(crate) closed: AtomicBool,
    pub(crate) mode: Mode,
    /// Whether a short write proves the kernel buffer was filled (stream sockets and
    /// pipes), so write readiness may be cleared without asking.
    pub(crate) stream: bool,
    pub(crate) fd: RawFd,
    pub(crate) key: usize,
    /// The tasks waiting on each direction (indexed as `states`).
    waiters: [WaitLock<Waiters>; 2],
    /// Directions the poller should report, for the `Oneshot` and `Level` modes
    /// (edge mode always registers both once). Bit 0 read, bit 1 write.
    pub(crate) interest: Mutex<u8>,
}

/// Locks a mutex. `parking_lot`'s mutexes do not poison: the data behind them (wakers,
/// interest bits, the slab) stays consistent even if a waker panicked while one was held.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock()
}

impl Source {
    pub(crate) fn new(
        fd: RawFd,
        key: usize,
        mode: Mode,
        stream: bool,
        ready: (bool, bool),
    ) -> Source {
        Source {
            fd,
            key,
            mode,
            stream,
            closed: AtomicBool::new(false),
            states: [state_word(ready.0), state_word(ready.1)],
            waiters: [
                WaitLock::new(Waiters::default()),
                WaitLock::new(Waiters::default()),
            ],
            interest: Mutex::new(0),
        }
    }

    /// Current state word of a direction; pass it back to [`Source::clear`].
    #[inline]
    pub(crate) fn snapshot(&self, dir: Dir) -> u64 {
        self.states[dir as usize].load(Ordering::Acquire)
    }

    /// Whether a snapshot says ready.
    #[inline]
    pub(crate) fn is_ready(snapshot: u64) -> bool {
        snapshot & READY != 0
    }

    /// Clears readiness if no event arrived since `snapshot` was taken. An event in
    /// between changed the tick, the swap fails, and readiness stays set: that is the
    /// guarantee that a wake-up racing a `WouldBlock` is never lost.
    #[inline]
    pub(crate) fn clear(&self, dir: Dir, snapshot: u64) {
        let _ = self.states[dir as usize].compare_exchange(
            snapshot,
            snapshot & !READY,
            Ordering::AcqRel,
            Ordering::Relaxed,
        );
    }

    /// Marks a direction ready (bumping its tick) and moves its wakers, if any, into
    /// `wakers` so the reactor can wake them after releasing its locks. The lock is
    /// taken only if the word said `WAITING`: an event nobody waits for (a writable
    /// socket's edge, most of the time) costs one atomic update.
    #[inline]
    pub(crate) fn set_ready(&self, dir: Dir, wakers: &mut Vec<Waker>) {
        let state = &self.states[dir as usize];
        let before = state
            .fetch_update(Ordering::AcqRel, Ordering::Relaxed, |s| {
                Some((s | READY).wrapping_add(TICK))
            })
            .unwrap_or_else(|s| s);
        if before & WAITING != 0 {
            let mut waiters = lock_waiters(&self.waiters[dir as usize]);
            waiters.take_into(wakers);
            state.fetch_and(!WAITING, Ordering::AcqRel);
        }
    }

    /// Adds the task's waker for `dir` (once per task), then sets `WAITING` and learns
    /// from the same atomic step whether the direction turned ready meanwhile
    /// (`Ready`). Both steps and `set_ready`'s update are read-modify-writes of one
    /// word, so they are ordered: if the event's update comes first, this sees
    /// `READY`; if this comes first, the event sees `WAITING` and takes the waker
    /// under the lock, which this holds until the waker is in the list. `WAITING` is
    /// cleared only under that lock, once the wakers are taken, so a registration
    /// after that sets it again. Models: `source_loom.rs`.
    pub(crate) fn register_waker(&self, dir: Dir, cx: &mut Context<'_>) -> Poll<()> {
        let mut waiters = lock_waiters(&self.waiters[dir as usize]);
        waiters.register(cx.waker());
        if Self::is_ready(self.states[dir as usize].fetch_or(WAITING, Ordering::AcqRel)) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// A slab of sources indexed by poller key. Registration takes the lock; readiness
/// delivery takes it once per `poll` call, not once per event.
#[derive(Debug, Default)]
pub(crate) struct Slab {
    entries: Vec<Entry>,
    /// Which key currently owns each fd number in the poller. A borrowed fd may be
    /// closed before its registration drops and the number reused by a newer
    /// registration; the stale one must then not delete or modify the new one's
    /// poller entry (epoll identifies entries by fd number).
    owners: HashMap<RawFd, usize>,
    /// Head of the vacant list (`entries.len()` when empty).
    next_free: usize,
    len: usize,
}

#[derive(Debug)]
enum Entry {
    Occupied(Arc<Source>),
    Vacant(usize),
}

impl Slab {
    /// The key the next `insert` will use.
    pub(crate) fn vacant_key(&self) -> usize {
        self.next_free
    }

    /// Inserts at `vacant_key()`.
    pub(crate) fn insert(&mut self, source: Arc<Source>) -> usize {
        let key = self.next_free;
        debug_assert_eq!(key, source.key);
        self.owners.insert(source.fd, key);
        if key == self.entries.len() {
            self.entries.push(Entry::Occupied(source));
            self.next_free = self.entries.len();
        } else {
            let old = std::mem::replace(&mut self.entries[key], Entry::Occupied(source));
            self.next_free = match old {
                Entry::Vacant(next) => next,
                Entry::Occupied(_) => unreachable!("free list pointed at an occupied entry"),
            };
        }
        self.len += 1;
        key
    }

    /// Removes the source at `key`, if it is the one given (keys are reused, so a
    /// stale remove must not evict a newer source). Returns whether the source
    /// still owned its fd number in the poller (and so should delete it there).
    pub(crate) fn remove(&mut self, source: &Arc<Source>) -> bool {
        let key = source.key;
        match self.entries.get(key) {
            Some(Entry::Occupied(s)) if Arc::ptr_eq(s, source) => {
                self.entries[key] = Entry::Vacant(self.next_free);
                self.next_free = key;
                self.len -= 1;
                if self.owners.get(&source.fd) == Some(&key) {
                    self.owners.remove(&source.fd);
                    true
                } else {
                    false
                }
            }
            _ => false,
        }
    }

    /// Whether `source` still owns its fd number in the poller.
    pub(crate) fn owns_fd(&self, source: &Source) -> bool {
        self.owners.get(&source.fd) == Some(&source.key)
    }

    #[inline]
    pub(crate) fn get(&self, key: usize) -> Option<&Arc<Source>> {
        match self.entries.get(key) {
            Some(Entry::Occupied(s)) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source with a distinct fd number per call.
    fn src(key: usize) -> Arc<Source> {
        static NEXT_FD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(100);
        let fd = NEXT_FD.fetch_add(1, Ordering::Relaxed);
        Arc::new(Source::new(fd, key, Mode::Edge, true, (true, true)))
    }

    #[test]
    fn slab_reuses_keys_and_ignores_stale_removes() {
        let mut slab = Slab::default();
        let a = src(slab.vacant_key());
        assert_eq!(slab.insert(a.clone()), 0);
        let b = src(slab.vacant_key());
        assert_eq!(slab.insert(b.clone()), 1);
        assert!(slab.remove(&a));
        assert!(!slab.remove(&a), "double remove must be a no-op");
        let c = src(slab.vacant_key());
        assert_eq!(slab.insert(c.clone()), 0, "freed key is reused");
        assert!(!slab.remove(&a), "stale source must not evict the new one");
        assert_eq!(slab.len(), 2);
        assert!(Arc::ptr_eq(slab.get(0).unwrap(), &c));
    }

    #[test]
    fn stale_source_does_not_own_a_reused_fd_number() {
        let mut slab = Slab::default();
        let old = Arc::new(Source::new(
            7,
            slab.vacant_key(),
            Mode::Level,
            false,
            (false, false),
        ));
        slab.insert(old.clone());
        // fd 7 closed behind the old registration's back, then reused.
        let new = Arc::new(Source::new(
            7,
            slab.vacant_key(),
            Mode::Edge,
            true,
            (true, true),
        ));
        slab.insert(new.clone());
        assert!(!slab.owns_fd(&old));
        assert!(
            !slab.remove(&old),
            "stale source must not delete fd 7's entry"
        );
        assert!(slab.owns_fd(&new));
        assert!(slab.remove(&new));
    }

    #[test]
    fn every_distinct_waiting_task_is_woken_once() {
        use std::sync::atomic::AtomicUsize;
        use std::task::Wake;

        struct Count(AtomicUsize);
        impl Wake for Count {
            fn wake(self: Arc<Self>) {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
        let s = src(0);
        let snap = s.snapshot(Dir::Read);
        s.clear(Dir::Read, snap);
        let counts: Vec<_> = (0..3)
            .map(|_| Arc::new(Count(AtomicUsize::new(0))))
            .collect();
        for _ in 0..2 {
            // Re-polling the same task must not register it twice.
            for c in &counts {
                let w = Waker::from(c.clone());
                assert!(s
                    .register_waker(Dir::Read, &mut Context::from_waker(&w))
                    .is_pending());
            }
        }
        let mut wakers = Vec::new();
        s.set_ready(Dir::Read, &mut wakers);
        assert_eq!(wakers.len(), 3);
        wakers.drain(..).for_each(Waker::wake);
        for c in &counts {
            assert_eq!(c.0.load(Ordering::SeqCst), 1);
        }
        s.set_ready(Dir::Read, &mut wakers);
        assert!(wakers.is_empty(), "wakers are taken, not kept");
    }

    #[test]
    fn clear_fails_when_an_event_arrived_after_the_snapshot() {
        let s = src(0);
        let snap = s.snapshot(Dir::Read);
        assert!(Source::is_ready(snap));
        let mut wakers = Vec::new();
        s.set_ready(Dir::Read, &mut wakers); // the event races the WouldBlock
        s.clear(Dir::Read, snap);
        assert!(
            Source::is_ready(s.snapshot(Dir::Read)),
            "readiness was lost"
        );
        let snap = s.snapshot(Dir::Read);
        s.clear(Dir::Read, snap);
        assert!(!Source::is_ready(s.snapshot(Dir::Read)));
    }
}
