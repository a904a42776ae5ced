//! Dropping a loop with open sockets closes them: the loop's close cancels the tasks
//! that own readers, writers, servers and flushers, and every socket is dropped with
//! its task. Counted in `/proc/self/fd`, so this file runs as its own process (cargo
//! runs each test file separately) with a single test: parallel tests would open fds
//! of their own meanwhile.

use std::time::Duration;

use aloop::{StreamReader, StreamWriter};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn dropping_a_loop_with_open_sockets_closes_them() {
    if !std::path::Path::new("/proc/self/fd").exists() {
        println!("skipped: no /proc/self/fd");
        return;
    }
    let before = open_fds();
    let lp = aloop::new_event_loop();
    lp.run_until_complete(async {
        let server = aloop::start_server(
            |reader: StreamReader, writer: StreamWriter| async move {
                // Hold the connection open, with unsent data queued in the writer.
                writer.write(&vec![1u8; 8 << 20]).unwrap();
                let _ = reader.read_to_eof().await;
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let port = server.sockets()[0].port();
        let mut held = Vec::new();
        for _ in 0..10 {
            held.push(aloop::open_connection("127.0.0.1", port).await.unwrap());
        }
        // Held by a task that never finishes; the server's accept task lives on too.
        aloop::create_task(async move {
            let _held = held;
            std::future::pending::<()>().await
        });
        aloop::sleep(Duration::from_millis(100)).await;
    })
    .unwrap();
    let during = open_fds();
    assert!(
        during >= before + 21,
        "expected 10 + 10 + listener sockets open: {before} -> {during}"
    );
    drop(lp);
    let after = open_fds();
    assert_eq!(
        after, before,
        "fds leaked after dropping the loop ({before} -> {during} -> {after})"
    );
}
