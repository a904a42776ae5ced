//! Linux fast path for the *wait* half of the reactor: one `epoll_wait` on the
//! poller's own epoll fd, and notify through an edge-triggered eventfd.
//!
//! Why: `polling::Poller::wait` costs five syscalls per call on Linux
//! (`timerfd_settime`, `epoll_ctl` to arm the timer, `epoll_wait`, a `read` to clear
//! its notifier and an `epoll_ctl` to re-arm it), measured at 10 of the 14 syscalls
//! of an echo round trip. This path costs one. Registration still goes through
//! `polling` (same epoll instance, same keys); only waiting and notifying differ.
//! A timeout with a sub-millisecond part uses `epoll_pwait2` (Linux 5.11+,
//! nanosecond timeout, still one syscall); where that is missing it is rounded *up*
//! to whole milliseconds for `epoll_wait`, so a loop never wakes before its deadline
//! and never spins on a sub-millisecond remainder.
//!
//! Edge-triggered sources are also *added* here (`add_edge`), because their interest
//! must include `EPOLLRDHUP`, which polling never asks for: without it the peer's end
//! of writing arrives as a plain `EPOLLIN`, and a short read could not be trusted to
//! have drained the socket (`tcp.rs`). Deleting them, and every other registration,
//! stays with polling (same epoll instance, same keys).

use std::io;
use std::os::unix::io::{AsRawFd, FromRawFd, OwnedFd, RawFd};
#[cfg(target_os = "linux")]
use std::sync::atomic::AtomicU8;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use polling::{Event, PollMode, Poller};

/// Key of our eventfd in the epoll set (polling reserves `usize::MAX`; the slab
/// never gets near this).
pub(crate) const NOTIFY_KEY: usize = usize::MAX - 1;

const IN: u32 = libc::EPOLLIN as u32;
const OUT: u32 = libc::EPOLLOUT as u32;
const ERR: u32 = libc::EPOLLERR as u32;
const HUP: u32 = libc::EPOLLHUP as u32;
const PRI: u32 = libc::EPOLLPRI as u32;
const RDHUP: u32 = libc::EPOLLRDHUP as u32;

/// One readiness event, decoded.
pub(crate) struct Ready {
    pub(crate) key: usize,
    pub(crate) readable: bool,
    pub(crate) writable: bool,
    /// Hang-up, error, the peer's end of writing or urgent data: what is pending
    /// will produce no further edges (see `Source::closed`).
    pub(crate) closed: bool,
}

/// The eventfd used to wake a blocked `epoll_wait`.
pub(crate) struct Notifier {
    fd: OwnedFd,
    /// A wake is in flight; further notifies need no syscall until the poller
    /// returns and clears this.
    pending: AtomicBool,
}

impl Notifier {
    /// Creates the eventfd and registers it edge-triggered: every write is a new
    /// edge, so it never needs to be read back (the counter cannot overflow in
    /// practice: 2^64 writes).
    pub(crate) fn new(poller: &Poller) -> io::Result<Notifier> {
        // SAFETY: eventfd takes no pointers; the result is checked below.
        let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a freshly created fd that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        // SAFETY: the eventfd lives in the `Notifier`, which the reactor drops
        // after the poller; closing an fd removes it from epoll, and on unix
        // backends polling keeps no reference to the source.
        unsafe { poller.add_with_mode(&fd, Event::readable(NOTIFY_KEY), PollMode::Edge)? };
        Ok(Notifier {
            fd,
            pending: AtomicBool::new(false),
        })
    }

    pub(crate) fn notify(&self) -> io::Result<()> {
        if self.pending.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64, as eventfd requires.
        let r = unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
        if r < 0 {
            let e = io::Error::last_os_error();
            // EAGAIN: the counter is saturated, so the fd is readable already.
            if e.kind() != io::ErrorKind::WouldBlock {
                self.pending.store(false, Ordering::SeqCst);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Called after each wait: later notifies must write again. The caller drains
    /// its cross-thread queue after this, so a notify skipped before this point
    /// has its work picked up in the same iteration.
    pub(crate) fn reset(&self) {
        self.pending.store(false, Ordering::SeqCst);
    }
}

/// Reusable buffer of raw epoll events.
pub(crate) struct EventBuf {
    events: Vec<libc::epoll_event>,
    len: usize,
}

impl EventBuf {
    pub(crate) fn with_capacity(cap: usize) -> EventBuf {
        EventBuf {
            events: vec![libc::epoll_event { events: 0, u64: 0 }; cap.max(1)],
            len: 0,
        }
    }

    /// Decoded events of the last wait (the notifier's and polling's internal ones
    /// skipped).
    pub(crate) fn iter(&self) -> impl Iterator<Item = Ready> + '_ {
        self.events[..self.len].iter().filter_map(|ev| {
            // Copy out of the (packed on x86-64) struct before use.
            let (flags, data) = (ev.events, ev.u64);
            let key = data as usize;
            if key >= NOTIFY_KEY {
                return None;
            }
            Some(Ready {
                key,
                readable: flags & (IN | HUP | ERR | PRI | RDHUP) != 0,
                writable: flags & (OUT | HUP | ERR) != 0,
                // The peer's end of writing and urgent data count too: after
                // either, a short read no longer proves the queue empty (`tcp.rs`).
                closed: flags & (HUP | ERR | RDHUP | PRI) != 0,
            })
        })
    }
}

/// Adds `fd` edge-triggered for both directions, as polling's `add_with_mode(fd,
/// Event::all(key), PollMode::Edge)` would, plus `EPOLLRDHUP`. OS errors come back
/// unchanged (`EEXIST`, `EBADF`, `EPERM` for a regular file).
pub(crate) fn add_edge(epfd: RawFd, fd: RawFd, key: usize) -> io::Result<()> {
    let mut ev = libc::epoll_event {
        events: IN | OUT | PRI | RDHUP | libc::EPOLLET as u32,
        u64: key as u64,
    };
    // SAFETY: `ev` is a valid epoll_event for the duration of the call; epoll_ctl
    // reads it and keeps no pointer to it.
    if unsafe { libc::epoll_ctl(epfd, libc::EPOLL_CTL_ADD, fd, &mut ev) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Milliseconds for `epoll_wait`, rounded up; -1 waits forever.
fn timeout_ms(timeout: Option<Duration>) -> libc::c_int {
    match timeout {
        None => -1,
        Some(d) => {
            let ms = d.as_nanos().div_ceil(1_000_000);
            ms.min(libc::c_int::MAX as u128) as libc::c_int
        }
    }
}

/// One `epoll_wait` (or `epoll_pwait2`). A signal interrupting it is reported as
/// zero events: the caller's loop simply goes round again.
pub(crate) fn wait(epfd: RawFd, buf: &mut EventBuf, timeout: Option<Duration>) -> io::Result<()> {
    buf.len = 0;
    let cap = buf.events.len().min(libc::c_int::MAX as usize) as libc::c_int;
    let n = match precise_wait(epfd, buf, cap, timeout) {
        Some(n) => n,
        // SAFETY: the buffer holds `cap` initialised epoll_event entries that the
        // kernel may overwrite; it stays borrowed mutably for the call.
        None => unsafe {
            libc::epoll_wait(epfd, buf.events.as_mut_ptr(), cap, timeout_ms(timeout))
        },
    };
    if n < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(())
        } else {
            Err(e)
        };
    }
    buf.len = n as usize;
    Ok(())
}

/// `epoll_pwait2` support: 0 unknown, 1 yes, 2 no (ENOSYS, or blocked by seccomp).
#[cfg(target_os = "linux")]
static PWAIT2: AtomicU8 = AtomicU8::new(0);

/// `struct __kernel_timespec`: 64-bit fields on every architecture, unlike
/// `libc::timespec` on some 32-bit targets.
#[cfg(target_os = "linux")]
#[repr(C)]
struct KernelTimespec {
    tv_sec: i64,
    tv_nsec: i64,
}

/// Waits with a nanosecond timeout when the timeout is not a whole number of
/// milliseconds and the kernel has `epoll_pwait2`; `None` means "use epoll_wait".
#[cfg(target_os = "linux")]
fn precise_wait(
    epfd: RawFd,
    buf: &mut EventBuf,
    cap: libc::c_int,
    timeout: Option<Duration>,
) -> Option<libc::c_int> {
    let t = timeout?;
    if t.subsec_nanos() % 1_000_000 == 0 || PWAIT2.load(Ordering::Relaxed) == 2 {
        return None;
    }
    let ts = KernelTimespec {
        tv_sec: t.as_secs().min(i64::MAX as u64) as i64,
        tv_nsec: i64::from(t.subsec_nanos()),
    };
    // SAFETY: arguments follow epoll_pwait2(2): the event buffer holds `cap`
    // writable entries, `ts` is a live __kernel_timespec, and a null sigmask (size
    // 0) means "do not change the signal mask".
    let n = unsafe {
        libc::syscall(
            libc::SYS_epoll_pwait2,
            epfd,
            buf.events.as_mut_ptr(),
            cap,
            &ts as *const KernelTimespec,
            std::ptr::null::<libc::sigset_t>(),
            0usize,
        )
    };
    if n < 0 {
        let err = io::Error::last_os_error().raw_os_error();
        if matches!(err, Some(libc::ENOSYS) | Some(libc::EPERM)) {
            PWAIT2.store(2, Ordering::Relaxed);
            return None;
        }
        return Some(-1);
    }
    PWAIT2.store(1, Ordering::Relaxed);
    Some(n as libc::c_int)
}

#[cfg(not(target_os = "linux"))]
fn precise_wait(
    _: RawFd,
    _: &mut EventBuf,
    _: libc::c_int,
    _: Option<Duration>,
) -> Option<libc::c_int> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_round_up_to_whole_milliseconds() {
        assert_eq!(timeout_ms(None), -1);
        assert_eq!(timeout_ms(Some(Duration::ZERO)), 0);
        assert_eq!(timeout_ms(Some(Duration::from_micros(1))), 1);
        assert_eq!(timeout_ms(Some(Duration::from_micros(1500))), 2);
        assert_eq!(timeout_ms(Some(Duration::from_millis(7))), 7);
        assert_eq!(timeout_ms(Some(Duration::MAX)), libc::c_int::MAX);
    }

    #[test]
    fn waits_never_end_before_the_timeout() {
        let reactor = crate::Reactor::new().unwrap();
        for us in [300, 1_000, 1_500, 4_200] {
            let t = Duration::from_micros(us);
            let start = std::time::Instant::now();
            assert_eq!(reactor.poll(Some(t)).unwrap(), 0);
            assert!(start.elapsed() >= t, "{us} us wait ended early");
        }
    }
}
