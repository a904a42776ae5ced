//! `Registration`: one fd registered with a reactor, its readiness futures and the
//! retry-on-`WouldBlock` I/O step shared by `Async<T>` and the sockets. Dropping it
//! deregisters the fd.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::os::unix::io::RawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::reactor::Reactor;
use crate::source::{lock, Dir, Mode, Source};

/// A file descriptor registered with a [`Reactor`]; deregistered on drop.
///
/// [`Registration::new_level`] gives the level-triggered registration behind an
/// event loop's `add_reader(fd, cb)` / `add_writer(fd, cb)`: the fd is *borrowed*
/// (never closed here), interest in a direction is switched on by the first
/// `poll_readable`/`poll_writable` and stays on until [`stop_reading`] /
/// [`stop_writing`] or drop, and `poll_readable` returns `Ready` once for every
/// reactor poll in which the fd was reported readable — so a callback run on each
/// `Ready` runs every iteration while the fd stays readable, as in asyncio.
///
/// [`stop_reading`]: Registration::stop_reading
/// [`stop_writing`]: Registration::stop_writing
///
/// ```
/// use std::io::Write;
/// use std::os::unix::io::AsRawFd;
/// use std::os::unix::net::UnixStream;
/// use aloop_reactor::{Reactor, Registration};
///
/// let reactor = Reactor::new()?;
/// let (a, mut b) = UnixStream::pair()?;
/// let reg = Registration::new_level(&reactor, a.as_raw_fd())?;
/// b.write_all(b"x")?;
/// // Level-triggered: reported readable on every poll until the byte is read.
/// for _ in 0..2 {
///     reactor.block_on(reg.readable())?;
/// }
/// drop(reg); // deregisters; `a` stays open
/// assert_eq!(reactor.source_count(), 0);
/// # std::io::Result::Ok(())
/// ```
pub struct Registration {
    reactor: Reactor,
    source: Arc<Source>,
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("fd", &self.source.fd)
            .field("mode", &self.source.mode)
            .finish()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.reactor.deregister(&self.source);
    }
}

impl Registration {
    /// Registers a borrowed fd level-triggered, with no interest yet.
    ///
    /// The fd is not made non-blocking and is never closed by the registration; keep
    /// it open until the registration is dropped. If it is closed first, the kernel
    /// forgets it, the drop's deregistration is a no-op, and should the number be
    /// reused by a newer registration on this reactor, the stale one leaves it alone
    /// (its interest changes fail with `NotFound`).
    ///
    /// Use one registration per fd for both directions (a reader and a writer on
    /// the same fd): registering an fd that is already registered with this reactor
    /// fails with `EEXIST` (`ErrorKind::AlreadyExists`). Errors (for example `EBADF`
    /// for a bad fd) come back as `io::Error`, never a panic.
    pub fn new_level(reactor: &Reactor, fd: RawFd) -> io::Result<Registration> {
        let source = reactor.register(fd, Mode::Level, false, (false, false))?;
        Ok(Registration {
            reactor: reactor.clone(),
            source,
        })
    }

    /// Registers an owned, non-blocking fd edge-triggered for both directions (or
    /// the oneshot fallback where the poller lacks edge mode).
    pub(crate) fn new_edge(
        reactor: &Reactor,
        fd: RawFd,
        stream: bool,
        ready: (bool, bool),
    ) -> io::Result<Registration> {
        let source = reactor.register(fd, Mode::Edge, stream, ready)?;
        Ok(Registration {
            reactor: reactor.clone(),
            source,
        })
    }

    /// The registered fd.
    pub fn fd(&self) -> RawFd {
        self.source.fd
    }

    /// The reactor this fd is registered with.
    pub fn reactor(&self) -> &Reactor {
        &self.reactor
    }

    /// Polls for read readiness; see the type docs for the level-triggered meaning.
    pub fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_ready(Dir::Read, cx)
    }

    /// Polls for write readiness; see the type docs for the level-triggered meaning.
    pub fn poll_writable(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_ready(Dir::Write, cx)
    }

    /// Waits until the fd is reported readable.
    pub async fn readable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_readable(cx)).await
    }

    /// Waits until the fd is reported writable.
    pub async fn writable(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_writable(cx)).await
    }

    /// Whether read readiness is set now (no registration, no lock).
    #[inline]
    pub(crate) fn read_ready(&self) -> bool {
        Source::is_ready(self.source.snapshot(Dir::Read))
    }

    /// Stops asking the poller about readability (asyncio's `remove_reader`) until
    /// the next `poll_readable`.
    pub fn stop_reading(&self) -> io::Result<()> {
        self.drop_interest(Dir::Read)
    }

    /// Stops asking the poller about writability (asyncio's `remove_writer`) until
    /// the next `poll_writable`.
    pub fn stop_writing(&self) -> io::Result<()> {
        self.drop_interest(Dir::Write)
    }

    /// Ends the registration now, for an fd about to be closed underneath it (a
    /// stream's [`reset`](crate::TcpStream::reset)): the poller forgets the fd, and
    /// both directions turn ready for good, so every task waiting on either is woken
    /// and its next try meets the fd's new state (an error) instead of waiting for an
    /// event that can no longer come. Dropping the registration afterwards does
    /// nothing more.
    pub(crate) fn end_now(&self) {
        self.reactor.deregister(&self.source);
        self.source
            .closed
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let mut wakers = Vec::new();
        self.source.set_ready(Dir::Read, &mut wakers);
        self.source.set_ready(Dir::Write, &mut wakers);
        for waker in wakers {
            waker.wake();
        }
    }

    fn drop_interest(&self, dir: Dir) -> io::Result<()> {
        if self.source.mode == Mode::Edge {
            return Ok(());
        }
        self.reactor.check_owner(&self.source)?;
        let mut interest = lock(&self.source.interest);
        let bit = 1u8 << (dir as u8);
        if *interest & bit != 0 {
            *interest &= !bit;
            self.reactor.modify(&self.source, *interest)?;
        }
        Ok(())
    }

    /// Switches on poller interest in `dir` if it is off (level and oneshot modes;
    /// edge mode registered both directions once).
    fn arm(&self, dir: Dir) -> io::Result<()> {
        if self.source.mode == Mode::Edge {
            return Ok(());
        }
        let mut interest = lock(&self.source.interest);
        let bit = 1u8 << (dir as u8);
        if *interest & bit == 0 {
            // Only when a syscall is due: the ownership check takes the slab lock,
            // which must not be taken while holding `interest` (lock order: slab,
            // then interest), so release, check, and re-take.
            drop(interest);
            self.reactor.check_owner(&self.source)?;
            interest = lock(&self.source.interest);
        }
        if *interest & bit == 0 {
            *interest |= bit;
            if let Err(e) = self.reactor.modify(&self.source, *interest) {
                *interest &= !bit;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Readiness poll. Level mode consumes the readiness (one `Ready` per reported
    /// event); edge/oneshot modes leave it set until an operation hits `WouldBlock`.
    pub(crate) fn poll_ready(&self, dir: Dir, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let level = self.source.mode == Mode::Level;
        let snap = self.source.snapshot(dir);
        if Source::is_ready(snap) {
            if level {
                self.source.clear(dir, snap);
            }
            return Poll::Ready(Ok(()));
        }
        if let Err(e) = self.arm(dir) {
            return Poll::Ready(Err(e));
        }
        match self.source.register_waker(dir, cx) {
            Poll::Ready(()) => {
                if level {
                    self.source.clear(dir, self.source.snapshot(dir));
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    /// Runs a non-blocking operation, waiting for readiness in `dir` and retrying
    /// while it returns `WouldBlock`; readiness is cleared only then, or — for stream
    /// fds under edge mode that have seen no hang-up/error — when `drained` says the
    /// result proves the kernel buffer empty (short read) or full (short write): new data
    /// or space produces a new edge. An operation that can complete costs its own
    /// syscall and nothing else: no poller call, no lock.
    pub(crate) fn poll_io<R>(
        &self,
        dir: Dir,
        cx: &mut Context<'_>,
        mut op: impl FnMut() -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        loop {
            let snap = self.source.snapshot(dir);
            if !Source::is_ready(snap) {
                match self.poll_ready(dir, cx) {
                    Poll::Ready(Ok(())) => continue,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                }
            }
            match op() {
                Ok(r) => {
                    if self.source.stream
                        && self.source.mode == Mode::Edge
                        && !self.source.closed.load(Ordering::Relaxed)
                        && drained(&r)
                    {
                        self.source.clear(dir, snap);
                    }
                    return Poll::Ready(Ok(r));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.source.clear(dir, snap),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::unix::io::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::{Wake, Waker};
    use std::time::Duration;

    use super::*;

    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The oneshot fallback (used where the poller has no edge mode) is exercised
    /// here on epoll, which supports it too: each wait re-arms, each event disarms,
    /// and a second wait after a delivered event still works.
    #[test]
    fn oneshot_fallback_rearms_per_wait() {
        let reactor = Reactor::new().unwrap();
        let (a, mut b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let source = reactor
            .register(a.as_raw_fd(), Mode::Oneshot, true, (true, true))
            .unwrap();
        let reg = Registration {
            reactor: reactor.clone(),
            source,
        };
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let mut buf = [0u8; 8];
        for round in 0..3u8 {
            let r = reg.poll_io(Dir::Read, &mut cx, || (&a).read(&mut buf), |_| false);
            assert!(r.is_pending(), "round {round}: nothing to read yet");
            b.write_all(&[round]).unwrap();
            assert_eq!(reactor.poll(Some(Duration::from_secs(30))).unwrap(), 1);
            assert_eq!(count.0.load(Ordering::SeqCst), round as usize + 1);
            match reg.poll_io(Dir::Read, &mut cx, || (&a).read(&mut buf), |_| false) {
                Poll::Ready(Ok(1)) => assert_eq!(buf[0], round),
                other => panic!("round {round}: {other:?}"),
            }
        }
        // Disarmed after the last event and nobody waiting: nothing reported.
        b.write_all(b"x").unwrap();
        assert_eq!(reactor.poll(Some(Duration::ZERO)).unwrap(), 0);
        drop(reg);
        assert_eq!(reactor.source_count(), 0);
    }
}
