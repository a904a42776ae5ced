//! Creating an event loop when the process is out of file descriptors is a typed error,
//! not a panic: `EventLoop::try_new` and `Runner::new` return the OS error, and
//! `aloop::try_run` returns `RunError::Io`. `RLIMIT_NOFILE` is process-wide, so this
//! lives in its own file (its own process) with a single test, and the limit is restored.
//! Linux only: it reads `/proc/self/fd`.
#![cfg(target_os = "linux")]

use aloop::RunError;

fn highest_fd() -> libc::rlim_t {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<libc::rlim_t>().ok())
        .max()
        .unwrap_or(2)
}

#[test]
fn no_fd_left_for_the_poller_is_a_typed_error() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    let saved = lim;
    // One past the highest open fd (the read_dir above has closed its own fd again).
    lim.rlim_cur = highest_fd() + 1;
    // SAFETY: lowering the soft limit below the unchanged hard limit is permitted.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);

    // Fill any free numbers below the limit, so that the table is really full.
    let mut fillers = Vec::new();
    while let Ok(f) = std::fs::File::open("/dev/null") {
        fillers.push(f);
    }

    let plain = aloop::EventLoop::try_new().map(|_| ());
    let runner = aloop::Runner::new().map(|_| ());
    let run = aloop::try_run(async { 1 });

    drop(fillers);
    // SAFETY: restoring the saved limits is permitted.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &saved) }, 0);

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
