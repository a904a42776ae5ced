//! `Reactor::global`: an opt-in, lazily started reactor driven by a background thread,
//! so sockets work under executors that know nothing of aloop (tokio, futures'
//! `block_on`, ...) when no reactor is current on the thread.

use std::io;
use std::sync::OnceLock;
use std::thread;
use std::time::Duration;

use parking_lot::Mutex;

use crate::reactor::Reactor;
use crate::source::lock;

static GLOBAL: OnceLock<Reactor> = OnceLock::new();
/// Serialises the first start so only one driver thread is ever spawned.
static START: Mutex<()> = Mutex::new(());

impl Reactor {
    /// The process-wide fallback reactor, started (with its driver thread,
    /// "aloop-reactor") on first call.
    ///
    /// Calling this opts the process in: from then on, `Async::new` and the socket
    /// constructors use the global reactor on threads where no reactor is current
    /// (instead of failing). [`Reactor::current`] is unaffected. I/O on the global
    /// reactor pays a cross-thread wake per readiness event, so an aloop event loop
    /// (or [`Reactor::enter`]) is the fast path; this is for interop. Do not call
    /// [`poll`](Reactor::poll) or [`block_on`](Reactor::block_on) on it: its thread
    /// already polls it.
    ///
    /// ```
    /// use aloop_reactor::{Reactor, UdpSocket};
    /// Reactor::global()?;
    /// // No reactor entered on this thread, yet this works: the global one drives it.
    /// let socket = UdpSocket::bind("127.0.0.1:0")?;
    /// # drop(socket);
    /// # std::io::Result::Ok(())
    /// ```
    pub fn global() -> io::Result<Reactor> {
        if let Some(r) = GLOBAL.get() {
            return Ok(r.clone());
        }
        let _start = lock(&START);
        if let Some(r) = GLOBAL.get() {
            return Ok(r.clone());
        }
        let reactor = Reactor::new()?;
        let driver = reactor.clone();
        thread::Builder::new()
            .name("aloop-reactor".into())
            .spawn(move || loop {
                if driver.poll(None).is_err() {
                    // Poller errors are not expected to clear quickly; avoid spinning.
                    thread::sleep(Duration::from_millis(10));
                }
            })?;
        let _ = GLOBAL.set(reactor.clone());
        Ok(reactor)
    }

    /// The global reactor if [`Reactor::global`] has been called.
    pub(crate) fn global_if_started() -> Option<Reactor> {
        GLOBAL.get().cloned()
    }
}
