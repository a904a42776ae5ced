//! Helpers for the tests that run a process out of file descriptors (`RLIMIT_NOFILE` is
//! process-wide, so each such test has its own file, and so its own process). Linux:
//! open descriptors are read from `/proc/self/fd`.

/// The current `RLIMIT_NOFILE`.
pub fn get_limit() -> libc::rlimit {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim
}

/// Sets the soft limit, leaving the hard one alone.
pub fn set_soft_limit(soft: libc::rlim_t) {
    let mut lim = get_limit();
    lim.rlim_cur = soft;
    // SAFETY: `lim` is a valid rlimit; lowering or restoring the soft limit up to the
    // unchanged hard limit is always permitted.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
}

/// The highest descriptor open now (the directory listing's own is closed again).
pub fn highest_fd() -> libc::rlim_t {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<libc::rlim_t>().ok())
        .max()
        .unwrap_or(2)
}
