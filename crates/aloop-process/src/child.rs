//! [`Child`]: a running child process: its pipes, waiting for its exit, signalling it.
//!
//! How the exit is noticed (`ExitWatch`): on Linux 5.3 and later a pidfd, which turns
//! readable when the child exits, registered with the reactor like a socket; elsewhere
//! a SIGCHLD listener (`signal.rs`), after which every waiting child tries a
//! non-blocking `waitpid` of its own pid. A `Child` dropped before its exit was
//! collected is handed to `reaper.rs`, so no zombie outlives it.
//!
//! The pid stays valid for signalling until this process reaps it, and reaping only
//! happens here, under the same lock as `send_signal`: a signal can never reach an
//! unrelated process that reused the number.

use std::fmt;
use std::fs::File;
use std::future::poll_fn;
use std::io;
use std::os::unix::io::OwnedFd;
use std::os::unix::process::ExitStatusExt;
use std::process::{self, ExitStatus};
use std::sync::{Mutex, MutexGuard};
use std::task::{Context, Poll};

use aloop_reactor::{Async, Reactor};

use crate::pipes::{ChildStderr, ChildStdin, ChildStdout};
use crate::reaper;
use crate::signal::SignalListener;

/// How this child's exit is noticed.
enum ExitWatch {
    Pidfd(Async<File>),
    Sigchld(SignalListener),
}

struct State {
    child: process::Child,
    status: Option<ExitStatus>,
}

/// A child process started by [`Command::spawn`](crate::Command::spawn).
///
/// Dropping a `Child` neither kills nor waits for the process (as asyncio and std);
/// it is still reaped in the background when it exits.
pub struct Child {
    pid: u32,
    /// The parent's end of the child's stdin, if it was [`Stdio::Pipe`](crate::Stdio::Pipe).
    pub stdin: Option<ChildStdin>,
    /// The parent's end of the child's stdout, if piped (with stderr too, for
    /// [`Stdio::Stdout`](crate::Stdio::Stdout) on stderr).
    pub stdout: Option<ChildStdout>,
    /// The parent's end of the child's stderr, if piped.
    pub stderr: Option<ChildStderr>,
    state: Mutex<State>,
    watch: Option<ExitWatch>,
}

impl fmt::Debug for Child {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Child")
            .field("pid", &self.pid)
            .field("returncode", &self.returncode())
            .finish_non_exhaustive()
    }
}

/// asyncio's `returncode`: the exit code, or minus the signal that killed the child.
pub fn returncode_of(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => -sig,
        // Stopped or continued: not an exit; std only reports exits from wait.
        (None, None) => 0,
    }
}

impl Child {
    /// Takes over a freshly spawned std child: registers its pipes and its exit watch.
    pub(crate) fn adopt(
        mut child: process::Child,
        merged_stdout: Option<OwnedFd>,
        reactor: &Reactor,
    ) -> io::Result<Child> {
        let pid = child.id();
        let stdin = child.stdin.take().map(OwnedFd::from);
        let stdout = merged_stdout.or_else(|| child.stdout.take().map(OwnedFd::from));
        let stderr = child.stderr.take().map(OwnedFd::from);
        let mut this = Child {
            pid,
            stdin: None,
            stdout: None,
            stderr: None,
            state: Mutex::new(State {
                child,
                status: None,
            }),
            watch: None,
        };
        // From here on, an error drops `this`, whose Drop hands the child to the reaper.
        this.watch = Some(ExitWatch::new(pid, reactor)?);
        this.stdin = stdin.map(|fd| ChildStdin::new(fd, reactor)).transpose()?;
        this.stdout = stdout.map(|fd| ChildStdout::new(fd, reactor)).transpose()?;
        this.stderr = stderr.map(|fd| ChildStderr::new(fd, reactor)).transpose()?;
        Ok(this)
    }

    /// The child's process id (asyncio's `pid`).
    pub fn id(&self) -> u32 {
        self.pid
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state is a child handle and a cached status: consistent even if a
        // holder panicked.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The exit status if the child has exited, reaping it; never blocks.
    pub fn try_wait(&self) -> io::Result<Option<ExitStatus>> {
        let mut st = self.state();
        if st.status.is_none() {
            st.status = st.child.try_wait()?;
        }
        Ok(st.status)
    }

    /// asyncio's `returncode`: `None` while the child runs, then its exit code, or
    /// minus the number of the signal that killed it (`-9` after [`kill`](Self::kill)).
    pub fn returncode(&self) -> Option<i32> {
        self.try_wait().ok().flatten().map(returncode_of)
    }

    /// Waits for the child to exit and returns its status. Several tasks may wait at
    /// once; once it has exited, every call returns the same status at once.
    pub async fn wait(&self) -> io::Result<ExitStatus> {
        poll_fn(|cx| self.poll_wait(cx)).await
    }

    /// Polls for the child's exit; see [`wait`](Self::wait).
    pub fn poll_wait(&self, cx: &mut Context<'_>) -> Poll<io::Result<ExitStatus>> {
        match self.watch.as_ref() {
            Some(ExitWatch::Pidfd(pidfd)) => pidfd.poll_read_with(cx, |_| {
                self.try_wait()?
                    .ok_or_else(|| io::Error::from(io::ErrorKind::WouldBlock))
            }),
            Some(ExitWatch::Sigchld(sigchld)) => loop {
                if let Some(status) = self.try_wait()? {
                    return Poll::Ready(Ok(status));
                }
                match sigchld.poll_recv(cx) {
                    Poll::Ready(Ok(())) => continue,
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => return Poll::Pending,
                }
            },
            None => unreachable!("the watch is set in adopt and taken only in drop"),
        }
    }

    /// Sends `signum` to the child (asyncio's `send_signal`). Does nothing once the
    /// child has been reaped, as asyncio: the pid may belong to someone else by then.
    /// An invalid signal number is the OS's `EINVAL`.
    pub fn send_signal(&self, signum: i32) -> io::Result<()> {
        let mut st = self.state();
        if st.status.is_none() {
            st.status = st.child.try_wait()?;
        }
        if st.status.is_some() {
            return Ok(());
        }
        // The lock is held: nobody can reap the child (and free its pid) until kill
        // returns.
        // SAFETY: kill(2) takes plain integers; the pid is our unreaped child.
        if unsafe { libc::kill(self.pid as libc::pid_t, signum) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Sends SIGTERM (asyncio's `terminate`).
    pub fn terminate(&self) -> io::Result<()> {
        self.send_signal(libc::SIGTERM)
    }

    /// Sends SIGKILL (asyncio's `kill`).
    pub fn kill(&self) -> io::Result<()> {
        self.send_signal(libc::SIGKILL)
    }
}

impl ExitWatch {
    fn new(pid: u32, reactor: &Reactor) -> io::Result<ExitWatch> {
        if let Some(pidfd) = pidfd_open(pid) {
            return Ok(ExitWatch::Pidfd(Async::with_reactor(
                File::from(pidfd),
                reactor,
            )?));
        }
        Ok(ExitWatch::Sigchld(
            SignalListener::with_reactor(libc::SIGCHLD, reactor).map_err(io::Error::from)?,
        ))
    }
}

/// A pidfd for `pid` where the kernel has them (Linux 5.3+); `None` elsewhere or when
/// the kernel refuses (then SIGCHLD is watched instead).
pub(crate) fn pidfd_open(pid: u32) -> Option<OwnedFd> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        if sigchld_forced() {
            return None;
        }
        use std::os::unix::io::FromRawFd;
        // SAFETY: the pidfd_open syscall takes a pid and flags and returns a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
        if fd >= 0 {
            // SAFETY: the syscall returned a fresh descriptor nobody else owns.
            let fd = unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) };
            // pidfd_open(2) sets close-on-exec itself.
            return Some(fd);
        }
        None
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = pid;
        None
    }
}

/// `ALOOP_PROCESS_NO_PIDFD=1` makes this process use the SIGCHLD path even where
/// pidfds exist, so the path other kernels take is tested here too.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn sigchld_forced() -> bool {
    static FORCED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *FORCED.get_or_init(|| std::env::var_os("ALOOP_PROCESS_NO_PIDFD").is_some_and(|v| v == "1"))
}

impl Drop for Child {
    fn drop(&mut self) {
        let st = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        if st.status.is_some() {
            return;
        }
        if !matches!(st.child.try_wait(), Ok(None)) {
            return; // exited (now reaped), or already reaped by someone else
        }
        let pidfd = match self.watch.take() {
            Some(ExitWatch::Pidfd(watch)) => Some(watch.into_inner()),
            _ => None,
        };
        reaper::adopt(self.pid as libc::pid_t, pidfd);
    }
}
