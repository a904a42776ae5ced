//! Child processes (asyncio's `asyncio.subprocess`): [`create_subprocess_exec`] and
//! [`create_subprocess_shell`] build a [`Subprocess`]; awaiting it (or `spawn`) starts
//! the child on the running loop as a [`Process`] whose pipes are the same
//! [`StreamWriter`]/[`StreamReader`] as sockets'.
//!
//! The process machinery (spawning, reaping, pidfd or SIGCHLD, signals) is the
//! `aloop-process` crate's; this module only binds it to the loop and its streams.
//! `communicate.rs` is `Process::communicate`.

mod communicate;

use std::ffi::OsStr;
use std::fmt;
use std::future::{ready, Future, IntoFuture, Ready};
use std::io;
use std::path::Path;
use std::rc::Rc;

pub use aloop_process::Stdio;
use aloop_process::{returncode_of, Child, Command};

use crate::streams::child_pipes;
use crate::streams::{check_limit, running_loop, StreamReader, StreamWriter, DEFAULT_LIMIT};

/// A child process to start: what [`create_subprocess_exec`] and
/// [`create_subprocess_shell`] return. Set stdio and the other options, then `.await`
/// it (or call [`spawn`](Subprocess::spawn)) inside a running loop.
///
/// Every stream is inherited unless set, as in asyncio.
#[must_use = "a Subprocess does nothing until awaited or spawned"]
pub struct Subprocess {
    command: Command,
    limit: usize,
}

impl fmt::Debug for Subprocess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subprocess")
            .field("command", &self.command)
            .field("limit", &self.limit)
            .finish()
    }
}

/// Runs `program` with `args` (asyncio's `create_subprocess_exec`); `program` is
/// looked up in `PATH` unless it contains a `/`. No shell is involved, so arguments
/// need no quoting.
///
/// ```
/// use aloop::subprocess::Stdio;
///
/// aloop::run(async {
///     let mut sort = aloop::create_subprocess_exec("sort", ["-r"])
///         .stdin(Stdio::Pipe)
///         .stdout(Stdio::Pipe)
///         .await
///         .unwrap();
///     let (out, _) = sort.communicate(Some(b"a\nc\nb\n")).await.unwrap();
///     assert_eq!(out, b"c\nb\na\n");
///     assert_eq!(sort.returncode(), Some(0));
/// });
/// ```
pub fn create_subprocess_exec<I, S>(program: impl AsRef<OsStr>, args: I) -> Subprocess
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(program);
    command.args(args);
    Subprocess::new(command)
}

/// Runs `cmd` through `/bin/sh -c` (asyncio's `create_subprocess_shell`). The string
/// goes to the shell as is: quoting anything in it is the caller's job.
///
/// ```
/// aloop::run(async {
///     let child = aloop::create_subprocess_shell("exit 3").await.unwrap();
///     assert_eq!(child.wait().await.unwrap(), 3);
/// });
/// ```
pub fn create_subprocess_shell(cmd: impl AsRef<OsStr>) -> Subprocess {
    Subprocess::new(Command::shell(cmd))
}

impl Subprocess {
    fn new(command: Command) -> Subprocess {
        Subprocess {
            command,
            limit: DEFAULT_LIMIT,
        }
    }

    /// Where the child's stdin comes from (asyncio's `stdin=`).
    pub fn stdin(mut self, cfg: Stdio) -> Subprocess {
        self.command.stdin(cfg);
        self
    }

    /// Where the child's stdout goes (asyncio's `stdout=`).
    pub fn stdout(mut self, cfg: Stdio) -> Subprocess {
        self.command.stdout(cfg);
        self
    }

    /// Where the child's stderr goes (asyncio's `stderr=`); [`Stdio::Stdout`] sends it
    /// along with stdout.
    pub fn stderr(mut self, cfg: Stdio) -> Subprocess {
        self.command.stderr(cfg);
        self
    }

    /// The child's working directory (asyncio's `cwd=`).
    pub fn cwd(mut self, dir: impl AsRef<Path>) -> Subprocess {
        self.command.current_dir(dir);
        self
    }

    /// Sets one environment variable for the child.
    pub fn env(mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> Subprocess {
        self.command.env(key, val);
        self
    }

    /// Sets several environment variables for the child.
    pub fn envs<I, K, V>(mut self, vars: I) -> Subprocess
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.command.envs(vars);
        self
    }

    /// Removes one variable from the child's environment.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Subprocess {
        self.command.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (asyncio's `env={}`); `env` adds to it.
    pub fn env_clear(mut self) -> Subprocess {
        self.command.env_clear();
        self
    }

    /// The buffer limit of the stdout/stderr readers (asyncio's `limit=`, 64 KiB).
    pub fn limit(mut self, limit: usize) -> Subprocess {
        self.limit = limit;
        self
    }

    /// The `std::process::Command` underneath, for options not repeated here (uid,
    /// gid, `process_group`, `pre_exec`, `arg0`, through
    /// `std::os::unix::process::CommandExt`). Its stdio settings are overridden.
    pub fn as_std_mut(&mut self) -> &mut std::process::Command {
        self.command.as_std_mut()
    }

    /// Starts the child now, on the running loop.
    ///
    /// Errors: no running loop; the OS's reason for not starting it (a missing program
    /// is `NotFound` with `raw_os_error() == Some(ENOENT)`); `InvalidInput` for
    /// [`Stdio::Stdout`] on stdin or stdout, and for a [`limit`](Self::limit) of 0.
    pub fn spawn(mut self) -> io::Result<Process> {
        let lp = running_loop()?;
        check_limit(self.limit)?;
        let mut child = self.command.spawn_with_reactor(lp.state.reactor())?;
        let stdin = child
            .stdin
            .take()
            .map(|p| child_pipes::stdin_writer(p, &lp));
        let stdout = child
            .stdout
            .take()
            .map(|p| child_pipes::stdout_reader(p, self.limit));
        let stderr = child
            .stderr
            .take()
            .map(|p| child_pipes::stderr_reader(p, self.limit));
        Ok(Process {
            child: Rc::new(child),
            stdin,
            stdout,
            stderr,
        })
    }
}

impl IntoFuture for Subprocess {
    type Output = io::Result<Process>;
    type IntoFuture = Ready<io::Result<Process>>;

    /// Spawning does not block (std forks or `posix_spawn`s at once), so the future is
    /// ready at once; awaiting it reads as asyncio's `await create_subprocess_exec(..)`.
    fn into_future(self) -> Self::IntoFuture {
        ready(self.spawn())
    }
}

/// A running child process (asyncio's `asyncio.subprocess.Process`).
///
/// Dropping it neither kills nor waits for the child (as asyncio); the child is still
/// reaped when it exits, so it never stays a zombie.
pub struct Process {
    child: Rc<Child>,
    /// The child's stdin, when it was [`Stdio::Pipe`]: `write`, `drain`, then `close`
    /// (the child reads end-of-file). Writing after the child closed its end is
    /// `BrokenPipe`, never a SIGPIPE.
    pub stdin: Option<StreamWriter>,
    /// The child's stdout, when piped: `readline`, `lines()`, `read_to_eof`, ...
    pub stdout: Option<StreamReader>,
    /// The child's stderr, when piped.
    pub stderr: Option<StreamReader>,
}

impl fmt::Debug for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Process")
            .field("pid", &self.pid())
            .field("returncode", &self.returncode())
            .finish_non_exhaustive()
    }
}

impl Process {
    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `None` while the child runs; then its exit code, or minus the signal that
    /// killed it (`-9` after [`kill`](Self::kill)), as asyncio's `returncode`.
    pub fn returncode(&self) -> Option<i32> {
        self.child.returncode()
    }

    /// Waits for the child to exit and returns its [`returncode`](Self::returncode)
    /// (asyncio's `wait`). Unlike asyncio's, it does not wait for the pipes to close,
    /// so it cannot deadlock on a full pipe; it also does not read them: a child that
    /// fills its stdout pipe and nobody reads it never exits. Use
    /// [`communicate`](Self::communicate) for that. The future is `'static`, so it can
    /// be given to [`create_task`](crate::create_task).
    pub fn wait(&self) -> impl Future<Output = io::Result<i32>> + 'static {
        let child = self.child.clone();
        async move { child.wait().await.map(returncode_of) }
    }

    /// Sends `signum` to the child (asyncio's `send_signal`); nothing once the child
    /// has been reaped. An invalid number is the OS's `EINVAL`.
    pub fn send_signal(&self, signum: i32) -> io::Result<()> {
        self.child.send_signal(signum)
    }

    /// Sends SIGTERM (asyncio's `terminate`).
    pub fn terminate(&self) -> io::Result<()> {
        self.child.terminate()
    }

    /// Sends SIGKILL (asyncio's `kill`).
    pub fn kill(&self) -> io::Result<()> {
        self.child.kill()
    }
}
