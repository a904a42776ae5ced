//! Creating an event loop when the process is out of file descriptors is a typed error,
//! not a panic: `EventLoop::try_new` and `Runner::new` return the OS error, and
//! `aloop::try_run` returns `RunError::Io`. `RLIMIT_NOFILE` is process-wide, so this
//! lives in its own file (its own process) with a single test, and the limit is restored.
//! Linux only: it reads `/proc/self/fd`.
#![cfg(target_os = "linux")]

use aloop::RunError;

mod fd_limit;
use fd_limit::{get_limit, highest_fd, set_soft_limit};

#[test]
fn no_fd_left_for_the_poller_is_a_typed_error() {
    let saved = get_limit();
    // One past the highest open fd.
    set_soft_limit(highest_fd() + 1);
    // Fill any free numbers below the limit, so that the table is really full.
    let mut fillers = Vec::new();
    while let Ok(f) = std::fs::File::open("/dev/null") {
        fillers.push(f);
    }

    let plain = aloop::EventLoop::try_new().map(|_| ());
    let runner = aloop::Runner::new().map(|_| ());
    let run = aloop::try_run(async { 1 });

    drop(fillers);
    set_soft_limit(saved.rlim_cur);

    // The reactor adds what it was doing to the OS error's text ("creating the
    // poller: Too many open files (os error 24)").
    let emfile = format!("(os error {})", libc::EMFILE);
    let plain = plain.unwrap_err().to_string();
    assert!(
        plain.starts_with("creating the poller: ") && plain.contains(&emfile),
        "{plain}"
    );
    let runner = runner.unwrap_err().to_string();
    assert!(runner.contains(&emfile), "{runner}");
    match run {
        Err(e @ RunError::Io(_)) => {
            let shown = e.to_string();
            assert!(
                shown.starts_with("could not create the event loop: "),
                "{shown}"
            );
            assert!(shown.contains(&emfile), "{shown}");
        }
        other => panic!("expected RunError::Io, got {other:?}"),
    }
    // With descriptors back, the same calls work.
    assert_eq!(aloop::try_run(async { 1 }).unwrap(), 1);
}
