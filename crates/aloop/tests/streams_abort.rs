//! `Server::close_clients` / `abort_clients` against peers that never read: counts
//! `/proc/self/fd`, so it is a file (a process) of its own with one test.
//! `streams_abort_errors.rs` has `StreamWriter::abort` and the error cases.

use std::io::{self, Read};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use aloop::{StreamReader, StreamWriter};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// A handler that queues 8 MiB for a peer that never reads, closes, and returns: its
/// socket and queue stay alive in the writer's flusher until something frees them.
async fn flood_and_close(_r: StreamReader, w: StreamWriter) {
    w.write(&vec![b'z'; 8 << 20]).unwrap();
    w.close();
}

#[test]
fn abort_clients_frees_closed_connections_whose_peers_never_read() {
    if !std::path::Path::new("/proc/self/fd").exists() {
        return println!("skipped: no /proc/self/fd");
    }
    aloop::run(async {
        let server = aloop::start_server(flood_and_close, "127.0.0.1", 0)
            .await
            .unwrap();
        let addr = server.sockets()[0];
        // Warm-up: whatever the first connection creates for good (the loop's pool).
        let baseline_tasks = aloop::all_tasks().unwrap().len();
        let baseline_fds = open_fds();
        let clients: Vec<TcpStream> = (0..20).map(|_| TcpStream::connect(addr).unwrap()).collect();
        // Wait until every connection is accepted and its flusher is stuck.
        let deadline = Instant::now() + Duration::from_secs(60);
        while open_fds() < baseline_fds + 40 {
            assert!(Instant::now() < deadline, "connections were not accepted");
            aloop::sleep(Duration::from_millis(10)).await;
        }
        aloop::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            open_fds(),
            baseline_fds + 40,
            "20 client + 20 server sockets"
        );
        assert!(
            aloop::all_tasks().unwrap().len() >= baseline_tasks + 20,
            "20 flushers"
        );

        // close_clients cannot free them: their bytes are still queued.
        server.close_clients();
        aloop::sleep(Duration::from_millis(50)).await;
        assert_eq!(open_fds(), baseline_fds + 40);

        server.abort_clients();
        let deadline = Instant::now() + Duration::from_secs(60);
        while open_fds() > baseline_fds + 20 {
            assert!(Instant::now() < deadline, "aborted sockets were not freed");
            aloop::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            aloop::all_tasks().unwrap().len(),
            baseline_tasks,
            "flushers gone"
        );
        // Each peer sees a reset, after at most what was already in flight.
        for mut c in clients {
            c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            let mut buf = vec![0; 1 << 16];
            let mut got = 0usize;
            let err = loop {
                match c.read(&mut buf) {
                    Ok(0) => panic!("an orderly end, not a reset, after {got} bytes"),
                    Ok(n) => got += n,
                    Err(e) => break e,
                }
            };
            assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
            assert!(got < 8 << 20, "the queue was dropped, not sent");
        }
        server.close();
        server.wait_closed().await;
        assert_eq!(open_fds(), baseline_fds - 1, "all gone, the listener too");
    });
}
