//! Listening for a Unix signal: [`SignalListener`] (the async side of `handler.rs`),
//! and [`SignalError`] for numbers that cannot be listened to.
//!
//! A listener owns a duplicate of the wake-up pipe's read end, registered with a
//! reactor. The OS handler bumps the signal's delivery count and writes a byte. A byte
//! is only a "look now": which signal arrived is told by the counts.
//!
//! Every reactor watching the pipe gets the edge, but epoll reports an event only if
//! the pipe is still readable when the reactor collects it: once one listener (in
//! another loop or thread) drained the byte, the others may hear nothing. So whoever
//! drains wakes every waiting listener (`WAITERS`), and each compares the count with
//! the last it saw. No listener misses a delivery, whoever drained it.

use std::fmt;
use std::fs::File;
use std::future::poll_fn;
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

use aloop_reactor::{Async, Reactor};

use crate::handler;

/// Why a signal number cannot be listened to.
#[derive(Debug)]
pub enum SignalError {
    /// Not a signal of this OS (asyncio: `ValueError: sig N out of range(1, NSIG)`).
    OutOfRange(i32),
    /// SIGKILL or SIGSTOP (which no process can catch; asyncio's "sig N cannot be
    /// caught"), or SIGILL, SIGFPE or SIGSEGV, whose handlers must run in the faulting
    /// thread itself.
    Uncatchable(i32),
    /// The OS refused: creating the wake-up pipe, installing the handler, or
    /// registering with the reactor. Keeps the OS error.
    Io(io::Error),
}

impl fmt::Display for SignalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SignalError::OutOfRange(n) => write!(
                f,
                "signal {n} out of range(1, {})",
                handler::max_signal() + 1
            ),
            SignalError::Uncatchable(n) => write!(f, "signal {n} cannot be caught"),
            SignalError::Io(e) => write!(f, "could not listen for the signal: {e}"),
        }
    }
}

impl std::error::Error for SignalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SignalError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for SignalError {
    fn from(e: io::Error) -> SignalError {
        SignalError::Io(e)
    }
}

impl From<SignalError> for io::Error {
    fn from(e: SignalError) -> io::Error {
        match e {
            SignalError::Io(e) => e,
            other => io::Error::new(io::ErrorKind::InvalidInput, other.to_string()),
        }
    }
}

/// Checks that `signum` can be listened to on this OS.
pub fn check_signal(signum: i32) -> Result<(), SignalError> {
    if signum < 1 || signum > handler::max_signal() || signum as usize >= handler::SLOTS {
        return Err(SignalError::OutOfRange(signum));
    }
    if handler::forbidden(signum) {
        return Err(SignalError::Uncatchable(signum));
    }
    Ok(())
}

/// Whether `signum` has its OS default disposition: nobody installed a handler or
/// ignored it (aloop's own handler with no listener left counts as default when it
/// was default before). This is the check `aloop::run` makes before taking over
/// Ctrl-C, as asyncio's `Runner` checks for Python's default SIGINT handler.
pub fn has_default_disposition(signum: i32) -> Result<bool, SignalError> {
    check_signal(signum)?;
    Ok(handler::is_default(signum)?)
}

/// Receives deliveries of one Unix signal, asynchronously, in any thread.
///
/// While at least one listener for a signal exists anywhere in the process, the
/// signal's default action (terminating, for most) is replaced by a delivery to every
/// listener. When the last listener is dropped the signal acts again as it did before
/// the first one (default, ignored, or a handler installed earlier), though a handler
/// stays installed at the OS level.
///
/// Deliveries are counted, not queued: several deliveries before the listener looks
/// are one [`recv`](SignalListener::recv), as the OS merges pending signals too.
/// Several listeners, in one loop or in loops on several threads, each see every
/// delivery.
///
/// ```
/// use aloop_process::SignalListener;
/// use aloop_reactor::Reactor;
///
/// let reactor = Reactor::new()?;
/// reactor.block_on(async {
///     let listener = SignalListener::new(libc::SIGUSR1)?;
///     // SAFETY: raise(3) only sends the signal to this thread.
///     unsafe { libc::raise(libc::SIGUSR1) };
///     listener.recv().await?;
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct SignalListener {
    id: u64,
    signum: i32,
    seen: AtomicUsize,
    wake: Async<File>,
}

/// The wakers of listeners waiting for a delivery, by listener id; woken (and taken)
/// by whoever drains the pipe. Never touched by the OS handler.
static WAITERS: Mutex<Vec<(u64, Waker)>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn waiters() -> std::sync::MutexGuard<'static, Vec<(u64, Waker)>> {
    // A list of wakers stays consistent even if a holder panicked.
    WAITERS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Wakes every waiting listener: something was drained that may be theirs.
fn wake_all() {
    let woken = std::mem::take(&mut *waiters());
    for (_, waker) in woken {
        waker.wake();
    }
}

impl fmt::Debug for SignalListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignalListener")
            .field("signum", &self.signum)
            .finish_non_exhaustive()
    }
}

impl SignalListener {
    /// Starts listening for `signum`, registered with the thread's current reactor.
    pub fn new(signum: i32) -> Result<SignalListener, SignalError> {
        let reactor = Reactor::current().ok_or_else(|| {
            io::Error::other(
                "no aloop reactor on this thread: call Reactor::enter or run inside an aloop event loop",
            )
        })?;
        SignalListener::with_reactor(signum, &reactor)
    }

    /// Starts listening for `signum`, registered with `reactor`.
    pub fn with_reactor(signum: i32, reactor: &Reactor) -> Result<SignalListener, SignalError> {
        check_signal(signum)?;
        handler::install(signum)?;
        let wake = Async::with_reactor(File::from(handler::wake_reader()?), reactor)?;
        let seen = handler::slot(signum).listen();
        Ok(SignalListener {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            signum,
            seen: AtomicUsize::new(seen),
            wake,
        })
    }

    /// The signal listened for.
    pub fn signum(&self) -> i32 {
        self.signum
    }

    /// Waits until the signal has been delivered since the last `recv` (or since the
    /// listener was made).
    pub async fn recv(&self) -> io::Result<()> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for a delivery since the last one reported; see [`recv`](Self::recv).
    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            if self.take_delivery() {
                return Poll::Ready(Ok(()));
            }
            // Listed before looking again, so a drain by anyone from here on wakes us.
            self.wait_for_drain(cx.waker());
            if self.take_delivery() {
                return Poll::Ready(Ok(()));
            }
            match self.wake.poll_read_with(cx, drain) {
                Poll::Ready(Ok(())) => wake_all(), // then look at the count again
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    fn wait_for_drain(&self, waker: &Waker) {
        let mut list = waiters();
        match list.iter_mut().find(|(id, _)| *id == self.id) {
            Some((_, w)) if w.will_wake(waker) => {}
            Some((_, w)) => *w = waker.clone(),
            None => list.push((self.id, waker.clone())),
        }
    }

    /// Whether the count moved since last seen; marks it seen.
    fn take_delivery(&self) -> bool {
        let now = handler::slot(self.signum).deliveries();
        self.seen.swap(now, Ordering::AcqRel) != now
    }
}

/// Reads the pipe empty. `WouldBlock` if there was nothing at all, so the reactor
/// waits for the next edge.
fn drain(mut pipe: &File) -> io::Result<()> {
    let mut buf = [0u8; 64];
    let mut any = false;
    loop {
        match pipe.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) => any = true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && any => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

impl Drop for SignalListener {
    fn drop(&mut self) {
        handler::slot(self.signum).unlisten();
        waiters().retain(|(id, _)| *id != self.id);
    }
}
