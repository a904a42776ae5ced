//! What runs inside the OS signal handler, and the process-wide table it reads.
//!
//! One action per signal is registered with `signal-hook-registry` the first time anyone
//! listens for that signal, and stays for the life of the process. The action is
//! async-signal-safe: it reads and bumps atomics and writes one byte to a non-blocking
//! pipe, nothing else. Listeners (`signal.rs`) watch the pipe's read end and compare
//! the per-signal delivery count with the last one they saw.
//!
//! When nobody listens any more, the action does what the signal's disposition before
//! aloop would have done (the registry cannot restore it: it only removes actions, and
//! with none left a SIGINT would be ignored). A handler function installed before is
//! already called by the registry itself (it chains); an ignored signal stays ignored;
//! a default one gets its default action: terminate (by re-raising it with the default
//! disposition, so the exit status names the signal), stop, or nothing.

use std::io;
use std::os::unix::io::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

/// One more than the highest signal number on any supported OS (Linux: 64 with the
/// real-time signals; the BSDs and macOS stop at 32 or below).
pub(crate) const SLOTS: usize = 65;

/// Signals no listener may take: SIGKILL and SIGSTOP cannot be caught at all, and the
/// registry refuses the synchronous faults (SIGILL, SIGFPE, SIGSEGV), whose handlers
/// need to repair the faulting thread, which a deferred callback cannot do.
pub(crate) fn forbidden(signum: i32) -> bool {
    signal_hook_registry::FORBIDDEN.contains(&signum)
}

/// The highest signal number this OS has.
pub(crate) fn max_signal() -> i32 {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        libc::SIGRTMAX()
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        31
    }
}

/// What the signal did before aloop installed its action.
const PREV_DEFAULT: u8 = 0;
const PREV_IGNORE: u8 = 1;
/// A handler function: the registry calls it before our action, so there is nothing
/// left for us to do when nobody listens.
const PREV_HANDLER: u8 = 2;

pub(crate) struct Slot {
    /// Bumped by the OS handler for every delivery while someone listens.
    deliveries: AtomicUsize,
    /// Live listeners, in every thread and loop of the process.
    listeners: AtomicUsize,
    prev: AtomicU8,
}

#[allow(clippy::declare_interior_mutable_const)] // only used to build the static array
const EMPTY_SLOT: Slot = Slot {
    deliveries: AtomicUsize::new(0),
    listeners: AtomicUsize::new(0),
    prev: AtomicU8::new(PREV_DEFAULT),
};

static TABLE: [Slot; SLOTS] = [EMPTY_SLOT; SLOTS];

/// The write end of the wake-up pipe, for the OS handler (-1 until made).
static WAKE_FD: AtomicI32 = AtomicI32::new(-1);

/// The read end, which listeners duplicate; made with the write end, kept forever.
static WAKE_READ: OnceLock<OwnedFd> = OnceLock::new();

/// Serialises installing actions (rare; never on a hot path).
static INSTALLED: Mutex<[bool; SLOTS]> = Mutex::new([false; SLOTS]);

pub(crate) fn slot(signum: i32) -> &'static Slot {
    &TABLE[signum as usize]
}

impl Slot {
    pub(crate) fn deliveries(&self) -> usize {
        self.deliveries.load(Ordering::Acquire)
    }

    /// Counts a listener in; from now on deliveries are counted instead of being given
    /// the previous disposition. Returns the delivery count to start from.
    pub(crate) fn listen(&self) -> usize {
        self.listeners.fetch_add(1, Ordering::SeqCst);
        self.deliveries()
    }

    pub(crate) fn unlisten(&self) {
        self.listeners.fetch_sub(1, Ordering::SeqCst);
    }

    pub(crate) fn listeners(&self) -> usize {
        self.listeners.load(Ordering::SeqCst)
    }
}

/// A new descriptor for the wake-up pipe's read end (non-blocking, close-on-exec),
/// creating the pipe on first use.
pub(crate) fn wake_reader() -> io::Result<OwnedFd> {
    let read = match WAKE_READ.get() {
        Some(fd) => fd,
        None => {
            let (read, write) = pipe()?;
            if WAKE_READ.set(read).is_ok() {
                // The write end lives as long as the process: the OS handler may use it
                // at any moment. into_raw_fd gives up ownership on purpose.
                WAKE_FD.store(
                    std::os::unix::io::IntoRawFd::into_raw_fd(write),
                    Ordering::Release,
                );
            }
            WAKE_READ
                .get()
                .expect("set just above, by us or a racing thread")
        }
    };
    read.try_clone()
}

/// A non-blocking, close-on-exec pipe.
pub(crate) fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0 as RawFd; 2];
    // SAFETY: `fds` has room for the two descriptors pipe(2) writes.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe(2) succeeded, so both numbers are fresh descriptors nobody else owns.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    for fd in [&read, &write] {
        set_flags(fd.as_raw_fd())?;
    }
    Ok((read, write))
}

fn set_flags(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on a descriptor we own, with integer arguments only.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl < 0 || libc::fcntl(fd, libc::F_SETFL, fl | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd_fl = libc::fcntl(fd, libc::F_GETFD);
        if fd_fl < 0 || libc::fcntl(fd, libc::F_SETFD, fd_fl | libc::FD_CLOEXEC) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Installs aloop's action for `signum` unless already done. The caller has checked
/// that the number is in range and not forbidden.
pub(crate) fn install(signum: i32) -> io::Result<()> {
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if installed[signum as usize] {
        return Ok(());
    }
    wake_reader()?; // the pipe must exist before the first delivery
    let prev = match previous_disposition(signum)? {
        libc::SIG_DFL => PREV_DEFAULT,
        libc::SIG_IGN => PREV_IGNORE,
        _ => PREV_HANDLER,
    };
    slot(signum).prev.store(prev, Ordering::SeqCst);
    // SAFETY: `on_signal` is async-signal-safe (atomics, write(2), sigaction(2),
    // raise(3)), does not panic, and touches only statics.
    unsafe { signal_hook_registry::register(signum, move || on_signal(signum)) }?;
    installed[signum as usize] = true;
    Ok(())
}

/// The disposition in force now, without changing it.
fn previous_disposition(signum: i32) -> io::Result<libc::sighandler_t> {
    // SAFETY: sigaction with a null new action only reads the current one into `old`,
    // a zeroed C struct of the right type.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        if libc::sigaction(signum, std::ptr::null(), &mut old) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(old.sa_sigaction)
    }
}

/// Whether `signum` still has its OS default disposition, with nothing installed by
/// anyone (aloop's own action with nobody listening counts as default when the
/// signal was default before it). `aloop::run` takes over Ctrl-C only then.
pub(crate) fn is_default(signum: i32) -> io::Result<bool> {
    let installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if installed[signum as usize] {
        let s = slot(signum);
        return Ok(s.prev.load(Ordering::SeqCst) == PREV_DEFAULT && s.listeners() == 0);
    }
    Ok(previous_disposition(signum)? == libc::SIG_DFL)
}

/// The action, run inside the OS handler.
fn on_signal(signum: i32) {
    let s = slot(signum);
    if s.listeners.load(Ordering::SeqCst) > 0 {
        s.deliveries.fetch_add(1, Ordering::AcqRel);
        let fd = WAKE_FD.load(Ordering::Acquire);
        if fd >= 0 {
            let byte = signum as u8;
            // SAFETY: write(2) is async-signal-safe; `byte` is valid for one byte. A
            // full pipe (EAGAIN) is fine: it is readable already, and the count above
            // is what listeners read.
            unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
        }
        return;
    }
    if s.prev.load(Ordering::SeqCst) == PREV_DEFAULT {
        default_action(signum);
    }
}

/// Does what `SIG_DFL` would have done with this delivery.
fn default_action(signum: i32) {
    match signum {
        libc::SIGCHLD | libc::SIGURG | libc::SIGWINCH | libc::SIGCONT => {}
        libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU => {
            // SAFETY: raise(3) is async-signal-safe.
            unsafe { libc::raise(libc::SIGSTOP) };
        }
        _ => {
            // Terminate as the default would, so the parent sees "killed by signum".
            // The handler's slot is given up for good, which is fine: the process ends
            // as soon as this handler returns and the re-raised signal is unblocked.
            reset_to_default(signum);
            // SAFETY: raise(3) is async-signal-safe.
            unsafe { libc::raise(signum) };
        }
    }
}

/// Gives `signum` the `SIG_DFL` disposition. Async-signal-safe.
fn reset_to_default(signum: i32) {
    // SAFETY: sigaction(2) is async-signal-safe; the struct is a zeroed C struct asking
    // for SIG_DFL, which needs no handler code.
    unsafe {
        let mut dfl: libc::sigaction = std::mem::zeroed();
        dfl.sa_sigaction = libc::SIG_DFL;
        libc::sigaction(signum, &dfl, std::ptr::null_mut());
    }
}

/// Ends the process as `signum`'s default action does, so the parent sees it killed
/// by that signal (a shell reports 128 + `signum`). This is what Python does after an
/// unhandled `KeyboardInterrupt`, and what `aloop::run` does after Ctrl-C. A signal
/// whose default action does not end the process ends it with exit status
/// 128 + `signum` instead.
pub fn exit_by_signal(signum: i32) -> ! {
    if signum > 0 && (signum as usize) < SLOTS && !forbidden(signum) {
        reset_to_default(signum);
        // SAFETY: a zeroed sigset_t is filled by sigemptyset before use; pthread_sigmask
        // and raise take pointers to that local set or none.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, signum);
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
            libc::raise(signum);
        }
    }
    std::process::exit(128 + signum.clamp(0, 127))
}
