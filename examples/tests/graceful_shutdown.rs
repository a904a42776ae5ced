//! Runs the built `graceful_shutdown` example as a child process: a request in
//! flight when the real SIGTERM arrives still gets its whole reply, new connections
//! are refused from then on, and the server exits with status 0.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn sigterm_lets_the_request_in_flight_finish_refuses_new_ones_and_exits_0() {
    let mut server = Command::new(common::example_binary("graceful_shutdown"))
        .arg("0")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(server.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();

    // A request in flight: the server works on it for 700 ms.
    let mut conn = TcpStream::connect(&addr).unwrap();
    conn.write_all(b"in-flight\n").unwrap();
    std::thread::sleep(Duration::from_millis(150));
    // SAFETY: kill(2) to our own child, not yet waited for.
    assert_eq!(unsafe { libc::kill(server.id() as i32, libc::SIGTERM) }, 0);

    let mut reply = Vec::new();
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    conn.read_to_end(&mut reply).unwrap();
    let header = b"OK 100000 for in-flight\n";
    assert!(
        reply.starts_with(header),
        "{:?}",
        String::from_utf8_lossy(&reply[..40.min(reply.len())])
    );
    assert!(reply.ends_with(b"\nEND\n"));
    assert_eq!(
        reply.len(),
        header.len() + 100_000 + 5,
        "the whole reply arrived"
    );

    // The listener is closed by now (it closed before the reply was sent).
    let refused = TcpStream::connect(&addr).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);

    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not exit");
        std::thread::sleep(Duration::from_millis(10));
    };
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(status.success(), "exit status {status:?}; output:\n{rest}");
    assert!(rest.contains("got signal 15"), "{rest}");
    assert!(rest.contains("every request finished"), "{rest}");
}
