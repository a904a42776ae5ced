//! [`Command`] and [`Stdio`]: what to run and where its standard streams go, as the
//! arguments of asyncio's `create_subprocess_exec` / `create_subprocess_shell`.
//!
//! Everything else a `std::process::Command` can say (uid, process group, `pre_exec`,
//! `arg0`) is reachable through [`Command::as_std_mut`]; spawning is std's own (which
//! uses `posix_spawn` where it can). `child.rs` takes over the spawned child.

use std::ffi::OsStr;
use std::fmt;
use std::fs::File;
use std::io;
use std::os::unix::io::{AsFd, OwnedFd};
use std::path::Path;
use std::process;
use std::sync::Once;

use aloop_reactor::Reactor;

use crate::child::Child;
use crate::handler;

/// Where one of a child's standard streams goes (asyncio's `PIPE`, `DEVNULL`, `None`
/// and `STDOUT`).
#[derive(Debug, Default)]
pub enum Stdio {
    /// Inherit this process's stream (asyncio's default, `None`).
    #[default]
    Inherit,
    /// A pipe to this process: the [`Child`] gets its end (asyncio's `PIPE`).
    Pipe,
    /// `/dev/null` (asyncio's `DEVNULL`).
    DevNull,
    /// Only for stderr: the same destination as stdout (asyncio's `STDOUT`), so the
    /// two are interleaved in one pipe when stdout is [`Stdio::Pipe`].
    Stdout,
    /// An open file or descriptor of the caller's.
    Fd(OwnedFd),
}

impl From<File> for Stdio {
    fn from(file: File) -> Stdio {
        Stdio::Fd(file.into())
    }
}

/// A program to run, with its arguments, environment, directory and stdio.
///
/// ```
/// use aloop_process::{Command, Stdio};
/// use aloop_reactor::Reactor;
///
/// let reactor = Reactor::new()?;
/// reactor.block_on(async {
///     let child = Command::new("sh").args(["-c", "exit 3"]).spawn()?;
///     let status = child.wait().await?;
///     assert_eq!(status.code(), Some(3));
///     assert_eq!(child.returncode(), Some(3));
///     std::io::Result::Ok(())
/// })?;
/// # std::io::Result::Ok(())
/// ```
pub struct Command {
    std: process::Command,
    stdin: Stdio,
    stdout: Stdio,
    stderr: Stdio,
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Command")
            .field("command", &self.std)
            .field("stdin", &self.stdin)
            .field("stdout", &self.stdout)
            .field("stderr", &self.stderr)
            .finish()
    }
}

impl Command {
    /// Runs `program` (looked up in `PATH` unless it contains a `/`) with no
    /// arguments, its streams inherited (asyncio's `create_subprocess_exec`).
    pub fn new(program: impl AsRef<OsStr>) -> Command {
        Command::from_std(process::Command::new(program))
    }

    /// Runs `cmd` through `/bin/sh -c` (asyncio's `create_subprocess_shell`). The
    /// string is given to the shell as is: quoting it is the caller's job.
    pub fn shell(cmd: impl AsRef<OsStr>) -> Command {
        let mut std = process::Command::new("/bin/sh");
        std.arg("-c").arg(cmd);
        Command::from_std(std)
    }

    /// Takes over a `std::process::Command` as configured; its stdio settings are
    /// replaced by this builder's (inherit unless set).
    pub fn from_std(std: process::Command) -> Command {
        Command {
            std,
            stdin: Stdio::Inherit,
            stdout: Stdio::Inherit,
            stderr: Stdio::Inherit,
        }
    }

    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Command {
        self.std.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Command
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.std.args(args);
        self
    }

    /// Sets an environment variable for the child.
    pub fn env(&mut self, key: impl AsRef<OsStr>, val: impl AsRef<OsStr>) -> &mut Command {
        self.std.env(key, val);
        self
    }

    /// Sets several environment variables for the child.
    pub fn envs<I, K, V>(&mut self, vars: I) -> &mut Command
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.std.envs(vars);
        self
    }

    /// Removes an environment variable from the child's environment.
    pub fn env_remove(&mut self, key: impl AsRef<OsStr>) -> &mut Command {
        self.std.env_remove(key);
        self
    }

    /// Starts the child with an empty environment (then [`env`](Self::env) adds to it).
    pub fn env_clear(&mut self) -> &mut Command {
        self.std.env_clear();
        self
    }

    /// The child's working directory (asyncio's `cwd=`).
    pub fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Command {
        self.std.current_dir(dir);
        self
    }

    /// Where the child's stdin comes from. [`Stdio::Stdout`] is refused at spawn.
    pub fn stdin(&mut self, cfg: Stdio) -> &mut Command {
        self.stdin = cfg;
        self
    }

    /// Where the child's stdout goes. [`Stdio::Stdout`] is refused at spawn.
    pub fn stdout(&mut self, cfg: Stdio) -> &mut Command {
        self.stdout = cfg;
        self
    }

    /// Where the child's stderr goes; [`Stdio::Stdout`] sends it with stdout.
    pub fn stderr(&mut self, cfg: Stdio) -> &mut Command {
        self.stderr = cfg;
        self
    }

    /// The `std::process::Command` underneath, for the options this builder does not
    /// repeat (`std::os::unix::process::CommandExt`: uid, gid, `process_group`,
    /// `pre_exec`, `arg0`). Stdio set there is overridden at spawn.
    pub fn as_std_mut(&mut self) -> &mut process::Command {
        &mut self.std
    }

    /// Starts the child, its pipes registered with the thread's current reactor.
    ///
    /// Errors: the OS's reason (`NotFound` for a missing program, keeping
    /// `raw_os_error()`), `InvalidInput` for [`Stdio::Stdout`] on stdin or stdout, or
    /// no current reactor.
    pub fn spawn(&mut self) -> io::Result<Child> {
        let reactor = Reactor::current().ok_or_else(|| {
            io::Error::other(
                "no aloop reactor on this thread: call Reactor::enter or run inside an aloop event loop",
            )
        })?;
        self.spawn_with_reactor(&reactor)
    }

    /// Starts the child, its pipes and exit watch registered with `reactor`.
    pub fn spawn_with_reactor(&mut self, reactor: &Reactor) -> io::Result<Child> {
        if matches!(self.stdin, Stdio::Stdout) || matches!(self.stdout, Stdio::Stdout) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Stdio::Stdout is only for stderr",
            ));
        }
        if matches!(self.stdin, Stdio::Pipe) {
            ignore_sigpipe();
        }
        let stdin = take_std(&mut self.stdin)?;
        let mut merged_read = None;
        let (stdout, stderr) = if matches!(self.stderr, Stdio::Stdout) {
            // One destination for both: a pipe we make ourselves when piped (std cannot
            // share one of its pipes between two streams).
            let out: OwnedFd = match std::mem::take(&mut self.stdout) {
                Stdio::Pipe => {
                    let (read, write) = handler::pipe()?;
                    merged_read = Some(read);
                    blocking(write)?
                }
                Stdio::DevNull => File::options().write(true).open("/dev/null")?.into(),
                Stdio::Inherit => io::stdout().as_fd().try_clone_to_owned()?,
                Stdio::Fd(fd) => fd,
                Stdio::Stdout => unreachable!("refused above"),
            };
            let err = out.try_clone()?;
            (process::Stdio::from(out), process::Stdio::from(err))
        } else {
            (take_std(&mut self.stdout)?, take_std(&mut self.stderr)?)
        };
        self.stderr = Stdio::Inherit;
        self.std.stdin(stdin).stdout(stdout).stderr(stderr);
        let child = self.std.spawn()?;
        Child::adopt(child, merged_read, reactor)
    }
}

/// Turns one setting into std's, leaving `Inherit` behind (a spawned `Fd` is used up).
fn take_std(cfg: &mut Stdio) -> io::Result<process::Stdio> {
    Ok(match std::mem::take(cfg) {
        Stdio::Inherit => process::Stdio::inherit(),
        Stdio::Pipe => process::Stdio::piped(),
        Stdio::DevNull => process::Stdio::null(),
        Stdio::Fd(fd) => process::Stdio::from(fd),
        Stdio::Stdout => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Stdio::Stdout is only for stderr",
            ))
        }
    })
}

/// The child's end of a pipe must block, as every program expects of its stdio.
fn blocking(fd: OwnedFd) -> io::Result<OwnedFd> {
    let file = File::from(fd);
    set_blocking(&file)?;
    Ok(file.into())
}

fn set_blocking(file: &File) -> io::Result<()> {
    use std::os::unix::io::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a descriptor `file` owns, with integer arguments only.
    unsafe {
        let fl = libc::fcntl(fd, libc::F_GETFL);
        if fl < 0 || libc::fcntl(fd, libc::F_SETFL, fl & !libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Makes sure a write to a pipe whose reader is gone fails with `EPIPE` instead of
/// killing the process: Rust's runtime already ignores SIGPIPE before `main`, and so
/// does Python's; a program embedding aloop some other way gets the same, once. Only
/// a default disposition is changed: a handler someone installed is left alone.
/// (Children get the default back: std resets SIGPIPE when it spawns.)
fn ignore_sigpipe() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: sigaction(2) with zeroed C structs: the first call only reads, the
        // second sets SIG_IGN, which needs no handler code.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGPIPE, std::ptr::null(), &mut old) == 0
                && old.sa_sigaction == libc::SIG_DFL
            {
                let mut ign: libc::sigaction = std::mem::zeroed();
                ign.sa_sigaction = libc::SIG_IGN;
                libc::sigaction(libc::SIGPIPE, &ign, std::ptr::null_mut());
            }
        }
    });
}
