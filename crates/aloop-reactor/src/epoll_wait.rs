//! Linux fast path for the *wait* half of the reactor: one `epoll_wait` on the
//! poller's own epoll fd, and notify through an edge-triggered eventfd.
//!
//! Why: `polling::Poller::wait` costs five syscalls per call on Linux
//! (`timerfd_settime`, `epoll_ctl` to arm the timer, `epoll_wait`, a `read` to clear
//! its notifier and an `epoll_ctl` to re-arm it), measured at 10 of the 14 syscalls
//! of an echo round trip. This path costs one. Registration still goes through
//! `polling` (same epoll instance, same keys); only waiting and notifying differ.
//! Timeouts are rounded *up* to whole milliseconds (epoll's unit), so a loop never
//! wakes before its deadline and never spins on a sub-millisecond remainder.

use std::io;
use std::os::unix::io::{AsRawFd, FromRawFd, OwnedFd, RawFd};
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
    /// Hang-up or error: the fd will produce no further edges for what is pending.
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
                closed: flags & (HUP | ERR) != 0,
            })
        })
    }
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

/// One `epoll_wait`. A signal interrupting it is reported as zero events: the
/// caller's loop simply goes round again.
pub(crate) fn wait(epfd: RawFd, buf: &mut EventBuf, timeout: Option<Duration>) -> io::Result<()> {
    buf.len = 0;
    let cap = buf.events.len().min(libc::c_int::MAX as usize) as libc::c_int;
    // SAFETY: the buffer holds `cap` initialised epoll_event entries that the
    // kernel may overwrite; it stays borrowed mutably for the call.
    let n = unsafe { libc::epoll_wait(epfd, buf.events.as_mut_ptr(), cap, timeout_ms(timeout)) };
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
}
