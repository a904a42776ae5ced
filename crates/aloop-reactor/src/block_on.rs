//! `Reactor::block_on`: a minimal single-future driver for standalone use and tests.
//! The event loop in the `aloop` crate is the real driver; this one exists so the
//! reactor can be used (and tested) on its own.

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::Duration;

use crate::reactor::Reactor;

thread_local! {
    /// The `Signal` of the `block_on` running on this thread (null if none), so a
    /// wake can tell "on the driver's thread" with one TLS read.
    static DRIVER: Cell<*const Signal> = const { Cell::new(std::ptr::null()) };
}

/// The waker handed to the driven future.
struct Signal {
    reactor: Reactor,
    /// Set by any wake since the driver last polled the future.
    woken: AtomicBool,
    /// Set while the driver may block in `Reactor::poll`.
    sleeping: AtomicBool,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        // A wake on the driver's own thread happens either while the future is
        // being polled or while the reactor delivers events: in both cases the
        // driver checks `woken` before it blocks, so no notify (a syscall) is needed.
        let on_driver = DRIVER
            .try_with(|d| std::ptr::eq(d.get(), Arc::as_ptr(self)))
            .unwrap_or(false);
        if !on_driver && self.sleeping.load(Ordering::SeqCst) {
            // Ignoring the error: notify fails only if the poller's eventfd is gone,
            // and then there is no blocked poll to wake.
            let _ = self.reactor.notify();
        }
    }
}

impl Reactor {
    /// Runs `fut` to completion on this thread, polling this reactor whenever it is
    /// pending. The reactor is [entered](Reactor::enter) for the duration, so
    /// sockets created inside register with it.
    ///
    /// Wakes from other threads are never lost: the waker records the wake and, if
    /// the driver may be blocked, calls [`notify`](Reactor::notify), which also makes
    /// a poll that has not started yet return at once.
    ///
    /// An I/O error from the poller itself (not from the future's I/O) cannot be
    /// returned through `F::Output`; the driver retries after a short pause instead
    /// of spinning.
    ///
    /// ```
    /// use aloop_reactor::{Reactor, UdpSocket};
    ///
    /// let reactor = Reactor::new()?;
    /// let got = reactor.block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0")?;
    ///     let b = UdpSocket::bind("127.0.0.1:0")?;
    ///     a.send_to(b"hi", b.local_addr()?).await?;
    ///     let mut buf = [0u8; 8];
    ///     let (n, from) = b.recv_from(&mut buf).await?;
    ///     assert_eq!(from, a.local_addr()?);
    ///     std::io::Result::Ok(buf[..n].to_vec())
    /// })?;
    /// assert_eq!(got, b"hi");
    /// # std::io::Result::Ok(())
    /// ```
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        let _enter = self.enter();
        let signal = Arc::new(Signal {
            reactor: self.clone(),
            woken: AtomicBool::new(false),
            sleeping: AtomicBool::new(false),
        });
        let _driver = DriverGuard(DRIVER.with(|d| d.replace(Arc::as_ptr(&signal))));
        let waker = Waker::from(signal.clone());
        let mut cx = Context::from_waker(&waker);
        let mut fut = pin!(fut);
        loop {
            signal.woken.store(false, Ordering::SeqCst);
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return out;
            }
            // Announce the sleep before checking `woken`; the waker sets `woken`
            // before checking `sleeping`. With both SeqCst, at least one side sees
            // the other, so either we skip blocking or the waker notifies.
            signal.sleeping.store(true, Ordering::SeqCst);
            let timeout = if signal.woken.load(Ordering::SeqCst) {
                // Still collect any I/O that is ready, without blocking.
                Some(Duration::ZERO)
            } else {
                None
            };
            let res = self.poll(timeout);
            signal.sleeping.store(false, Ordering::SeqCst);
            if res.is_err() {
                thread::sleep(Duration::from_millis(1));
            }
        }
    }
}

/// Restores the previous `DRIVER` (nested `block_on`) when `block_on` returns or
/// unwinds.
struct DriverGuard(*const Signal);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        let _ = DRIVER.try_with(|d| d.set(self.0));
    }
}
