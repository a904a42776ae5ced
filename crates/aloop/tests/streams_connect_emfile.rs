//! Out of file descriptors, `open_connection` fails with the OS's own error:
//! `raw_os_error() == Some(EMFILE)`, not an uncategorised copy. `RLIMIT_NOFILE` is
//! process-wide, so this is a file (a process) of its own.

mod fd_limit;
use fd_limit::{get_limit, highest_fd, set_soft_limit};

#[test]
fn connect_out_of_descriptors_keeps_emfile() {
    if !std::path::Path::new("/proc/self/fd").exists() {
        return println!("skipped: no /proc/self/fd");
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let saved = get_limit().rlim_cur;
    let err = aloop::run(async move {
        // The loop's own descriptors exist by now; fill every free number below the
        // limit, so no new descriptor can be opened.
        set_soft_limit(highest_fd() + 1);
        let mut fillers = Vec::new();
        while let Ok(f) = std::fs::File::open("/dev/null") {
            fillers.push(f);
        }
        let result = aloop::open_connection("127.0.0.1", port).await;
        drop(fillers);
        set_soft_limit(saved);
        result.map(drop).unwrap_err()
    });
    assert_eq!(err.raw_os_error(), Some(libc::EMFILE), "{err:?}");
}
