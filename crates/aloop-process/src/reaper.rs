//! The reaper: collects the exit of children whose [`Child`](crate::Child) was dropped
//! while they ran, so none stays a zombie.
//!
//! It has a reactor of its own, polled by one background thread ("aloop-reaper")
//! started by the first orphan, and it runs no executor: each orphan's pidfd is polled
//! with a waker that, when the reactor wakes it, tries `waitpid` again. Without
//! pidfds, one SIGCHLD listener on that reactor does the same for every orphan at once.
//! If even that reactor cannot be had, a thread blocks in `waitpid` for the orphan.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::task::{Context, Poll, Wake, Waker};
use std::thread;

use aloop_reactor::{Async, Reactor};

use crate::signal::SignalListener;

struct Orphan {
    pid: libc::pid_t,
    /// Its pidfd, when it has one; otherwise the SIGCHLD sweep looks after it.
    pidfd: Option<Async<File>>,
}

struct Reaper {
    reactor: Reactor,
    orphans: Mutex<HashMap<u64, Orphan>>,
    next_id: AtomicU64,
    /// Made with the first orphan that has no pidfd.
    sigchld: OnceLock<Option<SignalListener>>,
}

static REAPER: OnceLock<Option<Reaper>> = OnceLock::new();

fn reaper() -> Option<&'static Reaper> {
    REAPER
        .get_or_init(|| {
            let reactor = Reactor::new().ok()?;
            let driver = reactor.clone();
            thread::Builder::new()
                .name("aloop-reaper".into())
                .spawn(move || loop {
                    if driver.poll(None).is_err() {
                        // Poller errors do not clear quickly; do not spin on one.
                        thread::sleep(std::time::Duration::from_millis(10));
                    }
                })
                .ok()?;
            Some(Reaper {
                reactor,
                orphans: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(0),
                sigchld: OnceLock::new(),
            })
        })
        .as_ref()
}

/// Reaps `pid` if it has exited. `true` once it is gone (reaped now, or not our child
/// any more: `ECHILD`).
fn reap(pid: libc::pid_t) -> bool {
    loop {
        let mut status = 0;
        // SAFETY: waitpid(2) with a valid pointer to an int for the status.
        let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        match r {
            0 => return false,
            r if r > 0 => return true,
            _ if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => {}
            _ => return true,
        }
    }
}

/// Takes over an unreaped child.
pub(crate) fn adopt(pid: libc::pid_t, pidfd: Option<File>) {
    if reap(pid) {
        return;
    }
    let Some(reaper) = reaper() else {
        return reap_in_a_thread(pid);
    };
    let pidfd = pidfd.and_then(|fd| Async::with_reactor(fd, &reaper.reactor).ok());
    let has_pidfd = pidfd.is_some();
    let id = reaper.next_id.fetch_add(1, Ordering::Relaxed);
    reaper.lock().insert(id, Orphan { pid, pidfd });
    if has_pidfd {
        reaper.poll_orphan(id);
    } else if reaper.sigchld_listener().is_some() {
        reaper.sweep();
    } else {
        reaper.lock().remove(&id);
        reap_in_a_thread(pid);
    }
}

/// The last resort: a thread that blocks until the child exits.
fn reap_in_a_thread(pid: libc::pid_t) {
    let _ = thread::Builder::new()
        .name("aloop-reaper-1".into())
        .spawn(move || loop {
            let mut status = 0;
            // SAFETY: waitpid(2) with a valid pointer to an int for the status.
            let r = unsafe { libc::waitpid(pid, &mut status, 0) };
            if r >= 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return;
            }
        });
}

impl Reaper {
    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Orphan>> {
        self.orphans.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn sigchld_listener(&'static self) -> Option<&'static SignalListener> {
        self.sigchld
            .get_or_init(|| SignalListener::with_reactor(libc::SIGCHLD, &self.reactor).ok())
            .as_ref()
    }

    /// Tries to reap orphan `id` through its pidfd; if it still runs, waits for the
    /// pidfd's next readiness with a waker that calls this again.
    fn poll_orphan(&'static self, id: u64) {
        let waker = Waker::from(Arc::new(OrphanWaker(id)));
        let mut cx = Context::from_waker(&waker);
        let mut orphans = self.lock();
        let Some(orphan) = orphans.get(&id) else {
            return;
        };
        let pid = orphan.pid;
        let done = match &orphan.pidfd {
            Some(pidfd) => !matches!(
                pidfd.poll_read_with(&mut cx, |_| if reap(pid) {
                    Ok(())
                } else {
                    Err(io::Error::from(io::ErrorKind::WouldBlock))
                }),
                Poll::Pending
            ),
            None => reap(pid),
        };
        if done {
            let gone = orphans.remove(&id);
            drop(orphans);
            drop(gone); // deregisters the pidfd outside the lock
        }
    }

    /// Reaps every pidfd-less orphan that has exited, then waits for the next SIGCHLD.
    fn sweep(&'static self) {
        let waker = Waker::from(Arc::new(SweepWaker));
        let mut cx = Context::from_waker(&waker);
        let Some(sigchld) = self.sigchld_listener() else {
            return;
        };
        loop {
            self.lock()
                .retain(|_, orphan| orphan.pidfd.is_some() || !reap(orphan.pid));
            match sigchld.poll_recv(&mut cx) {
                Poll::Ready(Ok(())) => continue,
                // The listener's pipe failed: nothing will wake us again; fall back
                // to blocking threads for whoever is left.
                Poll::Ready(Err(_)) => {
                    let stranded: Vec<_> = {
                        let mut orphans = self.lock();
                        let ids: Vec<_> = orphans
                            .iter()
                            .filter(|(_, o)| o.pidfd.is_none())
                            .map(|(id, _)| *id)
                            .collect();
                        ids.iter().filter_map(|id| orphans.remove(id)).collect()
                    };
                    stranded.into_iter().for_each(|o| reap_in_a_thread(o.pid));
                    return;
                }
                Poll::Pending => return,
            }
        }
    }
}

struct OrphanWaker(u64);

impl Wake for OrphanWaker {
    fn wake(self: Arc<Self>) {
        if let Some(reaper) = reaper() {
            reaper.poll_orphan(self.0);
        }
    }
}

struct SweepWaker;

impl Wake for SweepWaker {
    fn wake(self: Arc<Self>) {
        if let Some(reaper) = reaper() {
            reaper.sweep();
        }
    }
}
