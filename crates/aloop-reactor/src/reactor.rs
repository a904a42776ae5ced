//! The reactor: one `polling::Poller`, the slab of registered sources, the `poll` step
//! the event loop calls each iteration, cross-thread `notify`, and the thread-local
//! "current reactor" that `Async::new` and the socket constructors pick up.

use std::cell::RefCell;
use std::fmt;
use std::io;
use std::marker::PhantomData;
use std::os::unix::io::{BorrowedFd, RawFd};
use std::sync::Arc;
use std::task::Waker;
use std::time::Duration;

use parking_lot::Mutex;

#[cfg(not(any(target_os = "linux", target_os = "android")))]
use polling::Events;
use polling::{Event, PollMode, Poller};

#[cfg(any(target_os = "linux", target_os = "android"))]
use crate::epoll_wait::{self, EventBuf, Notifier};

use crate::source::{lock, Dir, Mode, Slab, Source};

/// Events fetched per `epoll_wait`; more are picked up by the next poll.
const EVENTS_CAPACITY: usize = 1024;

/// An I/O reactor: waits for readiness on registered fds and wakes the tasks waiting
/// on them.
///
/// `Reactor` is a cheap handle (an `Arc` inside): clone it freely and send it to other
/// threads, which can [`notify`](Reactor::notify) it. It is normally owned and polled
/// by an aloop event loop; for standalone use, [`Reactor::block_on`] drives a future.
///
/// Only one thread should [`poll`](Reactor::poll) a given reactor at a time; a second
/// concurrent caller waits until the first returns.
///
/// ```
/// use aloop_reactor::{Reactor, TcpListener, TcpStream};
///
/// let reactor = Reactor::new()?;
/// reactor.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0")?;
///     let addr = listener.local_addr()?;
///     let client = TcpStream::connect(addr).await?;
///     let (server, peer) = listener.accept().await?;
///     assert_eq!(peer, client.local_addr()?);
///     client.write_all(b"ping").await?;
///     let mut buf = [0u8; 4];
///     server.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
#[derive(Clone)]
pub struct Reactor {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    poller: Poller,
    /// Linux: our own eventfd for `notify` (see `epoll_wait.rs` for why).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    notifier: Notifier,
    /// Whether the poller supports edge-triggered mode (epoll, kqueue).
    edge: bool,
    sources: Mutex<Slab>,
    /// The events buffer and the wake list, reused by every `poll` so the hot path
    /// allocates nothing; the mutex also serialises pollers.
    poll_state: Mutex<PollState>,
}

struct PollState {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    events: EventBuf,
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    events: Events,
    wakers: Vec<Waker>,
}

/// Where a decoded event goes; shared by both wait paths.
struct Delivery {
    key: usize,
    readable: bool,
    writable: bool,
    closed: bool,
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("sources", &self.source_count())
            .field("edge_triggered", &self.inner.edge)
            .finish()
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Reactor>> = const { RefCell::new(None) };
}

/// Makes a reactor the current one for this thread until dropped; see
/// [`Reactor::enter`]. Dropping restores the previously current reactor, if any.
///
/// Not `Send`: it must be dropped on the thread that created it.
///
/// ```compile_fail
/// fn assert_send<T: Send>() {}
/// assert_send::<aloop_reactor::EnterGuard>();
/// ```
#[must_use = "the reactor stops being current as soon as the guard is dropped"]
pub struct EnterGuard {
    prev: Option<Reactor>,
    _not_send: PhantomData<*const ()>,
}

impl fmt::Debug for EnterGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnterGuard").finish_non_exhaustive()
    }
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let prev = self.prev.take();
        // Ignoring the error: during thread teardown the slot may already be gone,
        // and then there is nothing to restore.
        let _ = CURRENT.try_with(|c| *c.borrow_mut() = prev);
    }
}

impl Reactor {
    /// Creates a reactor with its own poller (an epoll or kqueue instance).
    ///
    /// ```
    /// let reactor = aloop_reactor::Reactor::new()?;
    /// assert_eq!(reactor.source_count(), 0);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn new() -> io::Result<Reactor> {
        let poller = Poller::new()
            .map_err(|e| io::Error::new(e.kind(), format!("creating the poller: {e}")))?;
        let edge = poller.supports_edge();
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let notifier = Notifier::new(&poller)?;
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let events = EventBuf::with_capacity(EVENTS_CAPACITY);
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let events = Events::with_capacity(
            std::num::NonZeroUsize::new(EVENTS_CAPACITY).expect("capacity is non-zero"),
        );
        Ok(Reactor {
            inner: Arc::new(Inner {
                poller,
                #[cfg(any(target_os = "linux", target_os = "android"))]
                notifier,
                edge,
                sources: Mutex::new(Slab::default()),
                poll_state: Mutex::new(PollState {
                    events,
                    wakers: Vec::new(),
                }),
            }),
        })
    }

    /// Waits for I/O events or a [`notify`](Reactor::notify), for at most `timeout`
    /// (`None` waits forever, `Some(Duration::ZERO)` does not block), marks the
    /// sources ready and wakes the tasks waiting on them.
    ///
    /// Returns the number of readiness events delivered (0 after a timeout, a
    /// notify, or a signal interrupting the wait). On Linux this is a single
    /// `epoll_wait` syscall (`epoll_pwait2` for a timeout with a sub-millisecond
    /// part; rounded up to whole milliseconds where that call is missing). A wait
    /// never ends before its timeout except for a notify, an event or a signal.
    ///
    /// ```
    /// use std::time::Duration;
    /// let reactor = aloop_reactor::Reactor::new()?;
    /// assert_eq!(reactor.poll(Some(Duration::ZERO))?, 0);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn poll(&self, timeout: Option<Duration>) -> io::Result<usize> {
        let mut state = lock(&self.inner.poll_state);
        let PollState { events, wakers } = &mut *state;
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let delivered = {
            use std::os::unix::io::AsRawFd;
            let res = epoll_wait::wait(self.inner.poller.as_raw_fd(), events, timeout);
            self.inner.notifier.reset();
            res?;
            self.deliver(
                events.iter().map(|e| Delivery {
                    key: e.key,
                    readable: e.readable,
                    writable: e.writable,
                    closed: e.closed,
                }),
                wakers,
            )
        };
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let delivered = {
            events.clear();
            self.inner.poller.wait(events, timeout)?;
            self.deliver(
                events.iter().map(|e| Delivery {
                    key: e.key,
                    readable: e.readable,
                    writable: e.writable,
                    closed: e.is_interrupt() || e.is_err() == Some(true),
                }),
                wakers,
            )
        };
        // Woken outside every reactor lock: a waker may run arbitrary code,
        // including dropping a source (slab lock) or even polling this reactor.
        let mut ready = std::mem::take(wakers);
        drop(state);
        for w in ready.drain(..) {
            w.wake();
        }
        // Hand the (now empty) buffer back so the next poll does not allocate.
        let mut state = lock(&self.inner.poll_state);
        if state.wakers.capacity() < ready.capacity() {
            state.wakers = ready;
        }
        Ok(delivered)
    }

    /// Marks sources ready and collects their wakers; returns how many events
    /// matched a live source. One slab lock per poll, not per event.
    fn deliver(&self, events: impl Iterator<Item = Delivery>, wakers: &mut Vec<Waker>) -> usize {
        let slab = lock(&self.inner.sources);
        let mut delivered = 0;
        for ev in events {
            let Some(source) = slab.get(ev.key) else {
                // Deregistered after the kernel queued the event.
                continue;
            };
            delivered += 1;
            if ev.closed {
                source
                    .closed
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
            if ev.readable {
                source.set_ready(Dir::Read, wakers);
            }
            if ev.writable {
                source.set_ready(Dir::Write, wakers);
            }
            if source.mode == Mode::Oneshot {
                self.rearm_after_oneshot(&slab, source, ev.readable, ev.writable);
            }
        }
        delivered
    }

    /// Wakes a [`poll`](Reactor::poll) blocked on another thread, or makes the next
    /// one return at once. This is how other threads wake the event loop.
    ///
    /// ```
    /// let reactor = aloop_reactor::Reactor::new()?;
    /// let r = reactor.clone();
    /// std::thread::spawn(move || r.notify().unwrap());
    /// reactor.poll(None)?; // returns once notified
    /// # std::io::Result::Ok(())
    /// ```
    pub fn notify(&self) -> io::Result<()> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        return self.inner.notifier.notify();
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        self.inner.poller.notify()
    }

    /// Makes this reactor the current one for this thread until the guard drops.
    /// Nested calls stack: dropping a guard restores the reactor that was current
    /// before it.
    ///
    /// [`Async::new`](crate::Async::new) and the socket constructors register with
    /// the current reactor.
    ///
    /// ```
    /// use aloop_reactor::Reactor;
    /// let reactor = Reactor::new()?;
    /// assert!(Reactor::current().is_none());
    /// {
    ///     let _guard = reactor.enter();
    ///     assert!(Reactor::current().is_some());
    /// }
    /// assert!(Reactor::current().is_none());
    /// # std::io::Result::Ok(())
    /// ```
    pub fn enter(&self) -> EnterGuard {
        let prev = CURRENT.with(|c| c.borrow_mut().replace(self.clone()));
        EnterGuard {
            prev,
            _not_send: PhantomData,
        }
    }

    /// The reactor made current on this thread by [`Reactor::enter`], if any.
    pub fn current() -> Option<Reactor> {
        CURRENT.try_with(|c| c.borrow().clone()).ok().flatten()
    }

    /// The current reactor, else the global one if it was started, else an error
    /// saying how to get one.
    pub(crate) fn current_or_err() -> io::Result<Reactor> {
        Reactor::current()
            .or_else(Reactor::global_if_started)
            .ok_or_else(|| {
                io::Error::other(
                    "no aloop reactor on this thread: call Reactor::enter or run inside an aloop event loop",
                )
            })
    }

    /// Number of sources currently registered (for tests and diagnostics).
    pub fn source_count(&self) -> usize {
        lock(&self.inner.sources).len()
    }

    /// Whether this reactor registers sockets edge-triggered (true on epoll and
    /// kqueue) rather than with the oneshot fallback.
    pub fn is_edge_triggered(&self) -> bool {
        self.inner.edge
    }

    /// Whether two handles refer to the same reactor.
    pub fn ptr_eq(&self, other: &Reactor) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// Registers `fd`. Edge mode registers both directions once and for all;
    /// the other modes start with no interest and arm on demand.
    pub(crate) fn register(
        &self,
        fd: RawFd,
        mode: Mode,
        stream: bool,
        ready: (bool, bool),
    ) -> io::Result<Arc<Source>> {
        if fd < 0 {
            return Err(io::Error::from_raw_os_error(libc::EBADF));
        }
        let mode = match mode {
            Mode::Edge if !self.inner.edge => Mode::Oneshot,
            m => m,
        };
        let mut slab = lock(&self.inner.sources);
        let key = slab.vacant_key();
        let source = Arc::new(Source::new(fd, key, mode, stream, ready));
        let (interest, poll_mode) = match mode {
            Mode::Edge => (Event::all(key), PollMode::Edge),
            Mode::Oneshot => (Event::none(key), PollMode::Oneshot),
            Mode::Level => (Event::none(key), PollMode::Level),
        };
        #[cfg(any(target_os = "linux", target_os = "android"))]
        let added = match mode {
            // With EPOLLRDHUP, which polling's `add` leaves out (see epoll_wait.rs).
            Mode::Edge => {
                use std::os::unix::io::AsRawFd;
                epoll_wait::add_edge(self.inner.poller.as_raw_fd(), fd, key)
            }
            _ => self.add_to_poller(fd, interest, poll_mode),
        };
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let added = self.add_to_poller(fd, interest, poll_mode);
        added?;
        slab.insert(source.clone());
        Ok(source)
    }

    /// polling's `add_with_mode`. OS errors are passed through unchanged so callers
    /// can match on `raw_os_error()` (EBADF, EPERM for regular files, ...).
    fn add_to_poller(&self, fd: RawFd, interest: Event, mode: PollMode) -> io::Result<()> {
        // SAFETY: polling requires the fd to be deleted from the poller before it is
        // closed. Every source is deleted in `deregister`, which the owning
        // `Registration` runs on drop before the fd it wraps is closed. (For borrowed
        // fds the caller promises to keep the fd open; on unix backends a violation
        // only leaves a stale kernel entry, never memory unsafety.)
        unsafe { self.inner.poller.add_with_mode(fd, interest, mode) }
    }

    /// Removes a source from the poller and the slab. Errors from the poller are
    /// ignored: the fd may already have been closed by its (borrowing) owner.
    pub(crate) fn deregister(&self, source: &Arc<Source>) {
        let mut slab = lock(&self.inner.sources);
        if slab.remove(source) && source.fd >= 0 {
            // SAFETY: the fd is non-negative and this source still owns its number
            // in the poller; for owned sources it is still open (the owner drops
            // the registration before the I/O object). The borrow lasts only for
            // this call.
            let fd = unsafe { BorrowedFd::borrow_raw(source.fd) };
            let _ = self.inner.poller.delete(fd);
        }
    }

    /// Fails if `source` no longer owns its fd number in the poller (its borrowed
    /// fd was closed and the number reused by a newer registration). Checked before
    /// taking a source's interest lock: the lock order is slab, then interest.
    pub(crate) fn check_owner(&self, source: &Source) -> io::Result<()> {
        if lock(&self.inner.sources).owns_fd(source) {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!(
                    "fd {} was closed and reused since it was registered; drop the old registration",
                    source.fd
                ),
            ))
        }
    }

    /// Sets the poller interest of a `Oneshot`/`Level` source to `bits` (bit 0 read,
    /// bit 1 write). Callers check ownership first (`check_owner`, or the slab they
    /// hold locked).
    pub(crate) fn modify(&self, source: &Source, bits: u8) -> io::Result<()> {
        let poll_mode = match source.mode {
            Mode::Level => PollMode::Level,
            Mode::Oneshot => PollMode::Oneshot,
            Mode::Edge => PollMode::Edge,
        };
        let ev = Event::new(source.key, bits & 1 != 0, bits & 2 != 0);
        // SAFETY: the fd was non-negative at registration and is open while its
        // registration lives; we only borrow it for this call.
        let fd = unsafe { BorrowedFd::borrow_raw(source.fd) };
        self.inner.poller.modify_with_mode(fd, ev, poll_mode)
    }

    /// A oneshot event disarms the whole fd; re-arm the directions still wanted.
    fn rearm_after_oneshot(&self, slab: &Slab, source: &Source, read: bool, write: bool) {
        let mut interest = lock(&source.interest);
        let delivered = u8::from(read) | (u8::from(write) << 1);
        *interest &= !delivered;
        if *interest != 0 && slab.owns_fd(source) {
            // On failure the waiter stays registered; the fd is likely closed and the
            // next I/O attempt will report the error.
            let _ = self.modify(source, *interest);
        }
    }
}
