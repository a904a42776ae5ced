//! Dropping a `Runtime` that served connections leaves no descriptor behind: its loops'
//! pollers, wake-up fds, listeners and connections are all closed. Counts
//! `/proc/self/fd`, so it is a file (a process) of its own with one test.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

use aloop::{Runtime, StreamReader, StreamWriter};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

#[test]
fn dropping_a_runtime_that_served_closes_every_descriptor() {
    if !std::path::Path::new("/proc/self/fd").exists() {
        return println!("skipped: no /proc/self/fd");
    }
    let baseline = open_fds();
    let rt = Runtime::new(2).unwrap();
    let server = rt
        .start_server(
            || {
                |r: StreamReader, w: StreamWriter| async move {
                    while let Ok(line) = r.readline().await {
                        if line.is_empty() || w.write(&line).is_err() {
                            break;
                        }
                    }
                }
            },
            "127.0.0.1",
            0,
        )
        .unwrap();
    let mut clients = Vec::new();
    for i in 0..20 {
        let mut c = TcpStream::connect(server.local_addr()).unwrap();
        c.write_all(format!("hello {i}\n").as_bytes()).unwrap();
        let mut line = String::new();
        BufReader::new(&c).read_line(&mut line).unwrap();
        assert_eq!(line, format!("hello {i}\n"));
        clients.push(c);
    }
    assert!(open_fds() > baseline + 20);
    // Connections still open: the runtime's drop cancels their tasks and closes them.
    drop(server);
    drop(rt);
    drop(clients);
    assert_eq!(open_fds(), baseline, "every descriptor closed");
}
