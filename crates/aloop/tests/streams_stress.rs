//! Stress: many concurrent connections on one loop, each doing many echo round trips
//! through an aloop echo server on the same loop, every byte checked.
//!
//! Full size (1,000 connections × 100 round trips) in every build: no scaling down
//! under `debug_assertions` is needed, a debug build runs it in about 3 s on a shared
//! 2-core machine, a release build in about 2 s (the kernel's loopback path is most of
//! the bill).

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use aloop::{ReadError, ServerOptions, StreamReader, StreamWriter};

const CONNECTIONS: usize = 1000;
const ROUND_TRIPS: usize = 100;

/// Raises the soft fd limit to the hard one: both ends of every connection live in
/// this process.
fn raise_fd_limit() -> libc::rlim_t {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `lim` is a valid, writable rlimit.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) }, 0);
    lim.rlim_cur = lim.rlim_max;
    // SAFETY: `lim` is a valid rlimit whose soft value does not exceed its hard one.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    lim.rlim_cur
}

async fn echo(reader: StreamReader, writer: StreamWriter) {
    loop {
        match reader.readline().await {
            Ok(line) if !line.is_empty() => {
                if writer.write(&line).is_err() || writer.drain().await.is_err() {
                    return;
                }
            }
            Ok(_) | Err(ReadError::Io(_)) => break,
            Err(e) => panic!("server read failed: {e}"),
        }
    }
    writer.close();
}

#[test]
fn stress_concurrent_connections_echo_round_trips_every_byte_checked() {
    let limit = raise_fd_limit();
    let needed = (2 * CONNECTIONS + 64) as libc::rlim_t;
    assert!(
        limit >= needed,
        "RLIMIT_NOFILE hard limit {limit} < {needed} needed"
    );
    let started = Instant::now();
    let checked = aloop::run(async {
        let options = ServerOptions {
            backlog: 4096,
            ..Default::default()
        };
        let server = aloop::start_server_with(echo, "127.0.0.1", 0, options)
            .await
            .unwrap();
        let port = server.sockets()[0].port();
        let bytes = Rc::new(Cell::new(0usize));
        let mut clients = Vec::new();
        for c in 0..CONNECTIONS {
            let bytes = bytes.clone();
            clients.push(aloop::create_task(async move {
                let (reader, writer) = aloop::open_connection("127.0.0.1", port).await.unwrap();
                for i in 0..ROUND_TRIPS {
                    // Varying lengths, so message boundaries fall anywhere in a read.
                    let msg = format!("conn {c} trip {i} {}\n", "z".repeat((c * 7 + i * 13) % 200));
                    writer.write(msg.as_bytes()).unwrap();
                    writer.drain().await.unwrap();
                    let back = reader.readline().await.unwrap();
                    assert_eq!(back, msg.as_bytes(), "connection {c} round trip {i}");
                    bytes.set(bytes.get() + back.len());
                }
                writer.close();
                writer.wait_closed().await.unwrap();
                assert!(reader.read_to_eof().await.unwrap().is_empty());
            }));
        }
        for t in clients {
            t.await.unwrap();
        }
        server.close();
        let waited = aloop::sleep(Duration::from_secs(30));
        let closed = server.wait_closed();
        futures_util::pin_mut!(waited, closed);
        match futures_util::future::select(closed, waited).await {
            futures_util::future::Either::Left(_) => {}
            futures_util::future::Either::Right(_) => panic!("server connections did not end"),
        }
        bytes.get()
    });
    assert!(checked > CONNECTIONS * ROUND_TRIPS * 20);
    println!(
        "{CONNECTIONS} connections x {ROUND_TRIPS} round trips, {checked} bytes echoed and checked in {:?}",
        started.elapsed()
    );
}
