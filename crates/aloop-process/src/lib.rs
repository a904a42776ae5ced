//! # aloop-process
//!
//! Child processes and Unix signals on the aloop reactor: the machinery under
//! `aloop`'s `create_subprocess_exec` and `loop.add_signal_handler`, usable without
//! the aloop event loop (under [`Reactor::block_on`](aloop_reactor::Reactor::block_on),
//! or any executor once a reactor is entered or the global one is started), as smol's
//! `async-process` and `async-signal` are.
//!
//! - [`Command`] / [`Stdio`]: what to run and where its streams go (pipe, `/dev/null`,
//!   inherited, or stderr into stdout).
//! - [`Child`]: `wait`, `try_wait`, `returncode` (asyncio's convention: minus the
//!   signal number for a child killed by a signal), `send_signal`, `terminate`, `kill`,
//!   and its pipes [`ChildStdin`], [`ChildStdout`], [`ChildStderr`].
//! - [`SignalListener`]: deliveries of one signal, in any thread, any number of
//!   listeners.
//!
//! ## Why processes and signals are one crate
//!
//! Where the kernel has no pidfd (Linux before 5.3, the BSDs, macOS), a child's exit
//! is noticed through SIGCHLD, so the process half stands on the signal half. Both
//! stand on `aloop-reactor` for readiness (pipes, pidfds and the signal wake-up pipe
//! are registered like sockets) and on nothing else of aloop's.
//!
//! ## Reaping
//!
//! A child is reaped by whoever waits for it; one whose [`Child`] is dropped first is
//! reaped in the background (one thread, "aloop-reaper", started by the first such
//! child), so no zombie survives. Dropping a `Child` never kills the process.
//!
//! ## Signals and threads
//!
//! Signal dispositions are process-wide. Every [`SignalListener`] in the process, in
//! whatever thread or event loop, sees every delivery of its signal; with several
//! loops on several threads, each loop's handler runs on its own loop thread. While
//! no listener is left, the signal acts as it did before the first one. The handler
//! code that runs inside the OS signal handler is `signal-hook-registry`'s plus a few
//! atomics and one `write(2)` (see the `handler` module's source).
//!
//! ```
//! use aloop_process::{Command, Stdio};
//! use aloop_reactor::Reactor;
//! use futures_util::io::{AsyncReadExt, AsyncWriteExt};
//!
//! let reactor = Reactor::new()?;
//! reactor.block_on(async {
//!     let mut child = Command::new("tr")
//!         .args(["a-z", "A-Z"])
//!         .stdin(Stdio::Pipe)
//!         .stdout(Stdio::Pipe)
//!         .spawn()?;
//!     let mut stdin = child.stdin.take().unwrap();
//!     stdin.write_all(b"hello\n").await?;
//!     drop(stdin); // end of input
//!     let mut out = String::new();
//!     child.stdout.take().unwrap().read_to_string(&mut out).await?;
//!     assert_eq!(out, "HELLO\n");
//!     assert!(child.wait().await?.success());
//!     std::io::Result::Ok(())
//! })?;
//! # std::io::Result::Ok(())
//! ```
#![deny(missing_docs)]
#![cfg(unix)]

mod child;
mod command;
mod handler;
mod pipes;
mod reaper;
mod signal;

pub use child::{returncode_of, Child};
pub use command::{Command, Stdio};
pub use handler::exit_by_signal;
pub use pipes::{ChildStderr, ChildStdin, ChildStdout};
/// Signal numbers of this OS (Python's `signal.SIGINT` and so on), for
/// [`SignalListener`] and [`Child::send_signal`].
pub mod signum {
    pub use libc::{
        SIGALRM, SIGCHLD, SIGCONT, SIGHUP, SIGINT, SIGKILL, SIGPIPE, SIGQUIT, SIGSTOP, SIGTERM,
        SIGTSTP, SIGURG, SIGUSR1, SIGUSR2, SIGWINCH,
    };
}

pub use signal::{check_signal, has_default_disposition, SignalError, SignalListener};
