//! Port of CPython's `Lib/test/test_asyncio/test_subprocess.py` (see `docs/conformance.md`
//! for the version, and for each method that has no Rust form and why): one Rust test
//! per method, `subprocess_<class>_<method>`, on aloop's `create_subprocess_exec` /
//! `create_subprocess_shell` and `Process`. `pipes.rs` holds the tests of the standard
//! streams and `communicate`; `signals.rs` those of kill / terminate / send_signal and
//! cancellation; `creation.rs` those of how a child is started (shell, environment,
//! paths, errors, other threads).
//!
//! CPython runs `SubprocessMixin` once per child watcher (threaded, safe, fast, pidfd):
//! one way of noticing a child's exit each. aloop has one (a pidfd, else SIGCHLD), so
//! each method is one Rust test (**twins** in `docs/conformance.md`).
//!
//! CPython's children are `sys.executable -c ...`; here they are `sh`, `cat`, `sleep`
//! and friends, which every Unix has. Every wait is bounded by [`bounded`], and every
//! child that would block ends on its own within a minute if a failed test leaves it.

mod creation;
mod pipes;
mod signals;

pub(crate) use aloop_tests::cpython::bounded;

use aloop::subprocess::Subprocess;
use aloop_tests::cpython::tick;

/// No arguments, for `create_subprocess_exec(prog, NO_ARGS)`.
const NO_ARGS: [&str; 0] = [];

/// CPython's `PROGRAM_BLOCKED` (a child that sleeps), bounded to a minute.
fn program_blocked() -> Subprocess {
    aloop::create_subprocess_exec("sleep", ["60"])
}

/// CPython's `PROGRAM_CAT`: copies its stdin to its stdout.
fn program_cat() -> Subprocess {
    aloop::create_subprocess_exec("cat", NO_ARGS)
}

/// A shell child that prints how many bytes it read from its stdin (CPython's
/// `print(len(sys.stdin.read()))`).
fn program_count_stdin() -> Subprocess {
    aloop::create_subprocess_exec("sh", ["-c", "wc -c | tr -d ' '"])
}
