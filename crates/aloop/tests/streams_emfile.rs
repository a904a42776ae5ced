//! The accept loop survives running out of file descriptors (`EMFILE`): it reports
//! once per episode (also across an accept that succeeds in between) through the
//! loop's exception handler, backs off, and serves the waiting connection once an fd
//! is free. `RLIMIT_NOFILE` is process-wide, so this lives in
//! its own file (cargo runs it as its own process) with a single test, and the limit
//! is restored at the end. Linux only: it reads `/proc/self/fd` and per-thread CPU time
//! (`RUSAGE_THREAD`).
#![cfg(target_os = "linux")]

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::rc::Rc;
use std::time::Duration;

use aloop::{StreamReader, StreamWriter};

mod fd_limit;
use fd_limit::{get_limit, highest_fd, set_soft_limit};

/// CPU time used by the calling thread.
fn loop_thread_cpu() -> Duration {
    // SAFETY: an all-zero rusage is a valid value for getrusage to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    assert_eq!(rc, 0);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

fn hello(s: &TcpStream) -> io::Result<String> {
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut line = String::new();
    BufReader::new(s).read_line(&mut line)?;
    Ok(line)
}

/// Runs on a worker thread while the loop serves: exhausts the fd table, connects,
/// waits for the report, frees one fd, and checks the connection is then served.
fn client(
    addr: SocketAddr,
    reports: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> Vec<String> {
    use std::sync::atomic::Ordering::SeqCst;
    let mut log = Vec::new();
    let first = TcpStream::connect(addr).unwrap();
    log.push(format!("before: {}", hello(&first).unwrap().trim()));
    let saved = get_limit();
    set_soft_limit(highest_fd() + 4);
    // Fill every free fd number below the limit (holes included).
    let mut placeholders = Vec::new();
    while let Ok(f) = File::open("/dev/null") {
        placeholders.push(f);
    }
    placeholders.pop(); // one free fd: for the client's socket; the server gets none
    let stuck = TcpStream::connect(addr).unwrap();
    let t0 = std::time::Instant::now();
    while reports.load(SeqCst) == 0 && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(10));
    }
    log.push(format!(
        "reports while out of fds: {}",
        reports.load(SeqCst)
    ));
    std::thread::sleep(Duration::from_millis(350)); // several retries; still one report
    log.push(format!("reports after retries: {}", reports.load(SeqCst)));
    // Two fds: one for the server's accept, and one spare, because Linux's accept
    // reserves an fd before looking at the queue, so with none left the next accept
    // would fail with EMFILE again (a new episode, reported again) instead of EAGAIN.
    placeholders.pop();
    placeholders.pop();
    log.push(format!(
        "stuck connection: {}",
        hello(&stuck).unwrap().trim()
    ));
    // Still short of fds: the next connection hits EMFILE again. One accept succeeded
    // in between, but this is the same episode: no second report.
    while let Ok(f) = File::open("/dev/null") {
        placeholders.push(f);
    }
    placeholders.pop();
    let stuck_again = TcpStream::connect(addr).unwrap();
    std::thread::sleep(Duration::from_millis(350));
    log.push(format!(
        "reports after a success and EMFILE again: {}",
        reports.load(SeqCst)
    ));
    placeholders.pop();
    placeholders.pop();
    log.push(format!(
        "stuck again: {}",
        hello(&stuck_again).unwrap().trim()
    ));
    drop(placeholders);
    set_soft_limit(saved.rlim_cur);
    let later = TcpStream::connect(addr).unwrap();
    log.push(format!("after: {}", hello(&later).unwrap().trim()));
    log
}

#[test]
fn accept_loop_survives_emfile_and_serves_again_once_fds_free_up() {
    if !std::path::Path::new("/proc/self/fd").exists() {
        println!("skipped: no /proc/self/fd");
        return;
    }
    let lp = aloop::new_event_loop();
    let messages = Rc::new(RefCell::new(Vec::new()));
    let reports = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (m2, r2) = (messages.clone(), reports.clone());
    lp.set_exception_handler(Some(move |ctx: &aloop::ExceptionContext| {
        m2.borrow_mut().push(ctx.message.clone());
        r2.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }));
    let log = lp
        .run_until_complete(async move {
            let server = aloop::start_server(
                |reader: StreamReader, writer: StreamWriter| async move {
                    writer.write(b"hello\n").unwrap();
                    let _ = reader.read_to_eof().await; // hold the fd until the client goes
                },
                "127.0.0.1",
                0,
            )
            .await
            .unwrap();
            let addr = server.sockets()[0];
            let (cpu0, wall0) = (loop_thread_cpu(), std::time::Instant::now());
            let log = aloop::to_thread(move || client(addr, reports))
                .await
                .unwrap();
            let (cpu, wall) = (loop_thread_cpu() - cpu0, wall0.elapsed());
            // A spinning accept loop would burn the loop thread's CPU for the whole
            // time the fds were exhausted; backing off uses next to none. The bound is
            // generous (half the wall time) so a loaded machine cannot fail it.
            assert!(
                cpu < wall / 2,
                "the loop thread used {cpu:?} CPU in {wall:?}"
            );
            println!("loop thread CPU {cpu:?} in {wall:?}");
            server.close();
            log
        })
        .unwrap();
    assert_eq!(
        log,
        [
            "before: hello",
            "reports while out of fds: 1",
            "reports after retries: 1",
            "stuck connection: hello",
            "reports after a success and EMFILE again: 1",
            "stuck again: hello",
            "after: hello",
        ]
    );
    let messages = messages.borrow();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].contains("out of system resource"),
        "{}",
        messages[0]
    );
}
