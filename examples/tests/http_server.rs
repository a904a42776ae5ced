//! The `http_server` example as a child process, met by real clients: curl (keep-alive,
//! a chunked POST echoed byte for byte), wrk (2 s, no socket error, no non-2xx), and
//! raw sockets for what curl will not do: pipelining, malformed requests, a client that
//! stalls mid-head, a graceful stop with a request in flight. On 1 loop and on a
//! `Runtime` of 2 (`--loops 2`). hyper's client against it is in `hyper.rs`.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{read_until_closed, Server};

const HELLO: &str = "Hello, World!";

fn hello_response(close: bool) -> String {
    let connection = if close { "Connection: close\r\n" } else { "" };
    format!("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n{connection}\r\n{HELLO}")
}

#[test]
fn curl_reuses_one_connection_for_two_requests() {
    for loops in [None, Some("2")] {
        let mut args = vec!["0"];
        args.extend(loops.iter().flat_map(|n| ["--loops", n]));
        let server = Server::start("http_server", &args);
        common::curl_keep_alive(
            &server.url("/"),
            HELLO,
            "curl_reuses_one_connection_for_two_requests",
        );
    }
}

#[test]
fn curl_chunked_post_is_echoed_byte_for_byte() {
    let server = Server::start("http_server", &["0"]);
    // 700 KB: many chunks, past the streams' 64 KiB buffers, under the 1 MiB limit.
    common::curl_chunked_echo(
        &server.url("/echo"),
        700_000,
        "curl_chunked_post_is_echoed_byte_for_byte",
    );
}

#[test]
fn wrk_sees_no_error_and_only_2xx() {
    let server = Server::start("http_server", &["0"]);
    common::wrk_without_errors(&server.url("/"), "wrk_sees_no_error_and_only_2xx");
}

#[test]
fn wrk_on_two_loops_sees_no_error_and_only_2xx() {
    let server = Server::start("http_server", &["0", "--loops", "2"]);
    common::wrk_without_errors(
        &server.url("/"),
        "wrk_on_two_loops_sees_no_error_and_only_2xx",
    );
}

#[test]
fn pipelined_requests_are_answered_in_order_even_sent_a_byte_at_a_time() {
    let server = Server::start("http_server", &["0"]);
    let requests = "GET / HTTP/1.1\r\nHost: a\r\n\r\n\
                    GET /nope HTTP/1.1\r\nHost: a\r\n\r\n\
                    POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nfirst\
                    POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nsec\r\n3;x=y\r\nond\r\n0\r\nT: v\r\n\r\n\
                    HEAD / HTTP/1.1\r\nHost: a\r\n\r\n\
                    GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
    let expected = format!(
        "{}\
         HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nNot Found\n\
         HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 5\r\n\r\nfirst\
         HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 6\r\n\r\nsecond\
         HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n\
         {}",
        hello_response(false),
        hello_response(true)
    );
    // All at once: every request is in the server's buffer after one read.
    let mut conn = TcpStream::connect(server.addr).unwrap();
    conn.write_all(requests.as_bytes()).unwrap();
    let got = read_until_closed(&mut conn, Duration::from_secs(20));
    assert_eq!(String::from_utf8_lossy(&got), expected);
    // A byte at a time: every head and body boundary falls between reads somewhere.
    let mut conn = TcpStream::connect(server.addr).unwrap();
    conn.set_nodelay(true).unwrap();
    for b in requests.as_bytes() {
        conn.write_all(std::slice::from_ref(b)).unwrap();
    }
    let got = read_until_closed(&mut conn, Duration::from_secs(20));
    assert_eq!(String::from_utf8_lossy(&got), expected);
}

#[test]
fn http_1_0_closes_unless_it_asks_for_keep_alive() {
    let server = Server::start("http_server", &["0"]);
    let mut conn = TcpStream::connect(server.addr).unwrap();
    conn.write_all(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET / HTTP/1.0\r\n\r\n")
        .unwrap();
    let got = String::from_utf8(read_until_closed(&mut conn, Duration::from_secs(20))).unwrap();
    let kept = hello_response(false).replace("13\r\n\r\n", "13\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(got, format!("{kept}{}", hello_response(true)));
}

/// Sends `request` on a fresh connection; everything the server answers before closing.
fn exchange(server: &Server, request: &[u8]) -> String {
    let mut conn = TcpStream::connect(server.addr).unwrap();
    conn.write_all(request).unwrap();
    String::from_utf8_lossy(&read_until_closed(&mut conn, Duration::from_secs(20))).into_owned()
}

#[test]
fn malformed_or_refused_requests_get_their_status_then_the_connection_closes() {
    let server = Server::start("http_server", &["0", "--max-body", "1000"]);
    let cases: [(&[u8], &str); 7] = [
        (b"GARBAGE\r\n\r\n", "400 Bad Request"),
        (b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", "400 Bad Request"),
        (b"GET / HTTP/1.1\r\n\r\n", "400 Bad Request"), // no Host
        (
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "400 Bad Request",
        ),
        (b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 1001\r\n\r\n", "413 Content Too Large"),
        (
            b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n",
            "413 Content Too Large",
        ),
        (b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", "501 Not Implemented"),
    ];
    for (request, status) in cases {
        let got = exchange(&server, request);
        // The request after the bad one is never answered: the connection closed.
        assert!(
            got.starts_with(&format!("HTTP/1.1 {status}\r\n")),
            "{request:?}: {got:?}"
        );
        assert!(got.contains("\r\nConnection: close\r\n"), "{got:?}");
    }
    // A good request first, then a bad one: the first is answered, then 400.
    let got = exchange(&server, b"GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
    let (first, rest) = got.split_at(hello_response(false).len());
    assert_eq!(first, hello_response(false));
    assert!(rest.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{rest:?}");
    assert_eq!(rest.matches("HTTP/1.1").count(), 1, "{rest:?}");
}

#[test]
fn a_head_past_64_kib_is_431() {
    let server = Server::start("http_server", &["0"]);
    let mut request = b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: ".to_vec();
    request.extend_from_slice(&[b'a'; 70_000]);
    request.extend_from_slice(b"\r\n\r\n");
    let got = exchange(&server, &request);
    assert!(
        got.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"),
        "{got:?}"
    );
}

#[test]
fn a_client_stalling_mid_head_gets_408_and_is_closed() {
    let server = Server::start("http_server", &["0", "--read-timeout", "0.3"]);
    let started = Instant::now();
    let mut conn = TcpStream::connect(server.addr).unwrap();
    conn.write_all(b"GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ")
        .unwrap();
    let got = String::from_utf8_lossy(&read_until_closed(&mut conn, Duration::from_secs(20)))
        .into_owned();
    let waited = started.elapsed();
    assert!(
        got.starts_with("HTTP/1.1 408 Request Timeout\r\n"),
        "{got:?}"
    );
    assert!(
        waited >= Duration::from_millis(250),
        "closed after {waited:?}, before the timeout"
    );

    // An idle keep-alive connection is closed quietly after the same time.
    let mut conn = TcpStream::connect(server.addr).unwrap();
    conn.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let got = String::from_utf8_lossy(&read_until_closed(&mut conn, Duration::from_secs(20)))
        .into_owned();
    assert_eq!(got, hello_response(false));
}

#[test]
fn sigterm_finishes_the_request_in_flight_closes_idle_ones_and_exits_0() {
    for loops in [None, Some("2")] {
        let mut args = vec!["0"];
        args.extend(loops.iter().flat_map(|n| ["--loops", n]));
        sigterm_with_a_request_in_flight(&args);
    }
}

fn sigterm_with_a_request_in_flight(args: &[&str]) {
    let mut server = Server::start("http_server", args);
    // An idle keep-alive connection: one request answered, then nothing.
    let mut idle = TcpStream::connect(server.addr).unwrap();
    idle.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .unwrap();
    let mut first = vec![0u8; hello_response(false).len()];
    std::io::Read::read_exact(&mut idle, &mut first).unwrap();
    // A request in flight: half its body sent.
    let mut busy = TcpStream::connect(server.addr).unwrap();
    busy.write_all(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello")
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));

    server.signal(libc::SIGTERM);
    // The idle connection is closed without waiting for the deadline (10 s).
    let started = Instant::now();
    assert!(read_until_closed(&mut idle, Duration::from_secs(20)).is_empty());
    assert!(started.elapsed() < Duration::from_secs(5), "{args:?}");
    // The listener is closed: new connections are refused.
    let refused = TcpStream::connect(server.addr)
        .map(|_| ())
        .expect_err(&format!("{args:?}: a new connection was accepted"));
    assert_eq!(
        refused.kind(),
        std::io::ErrorKind::ConnectionRefused,
        "{args:?}"
    );
    // The request in flight gets its whole answer, with the connection's end announced.
    busy.write_all(b"world").unwrap();
    let got = String::from_utf8_lossy(&read_until_closed(&mut busy, Duration::from_secs(20)))
        .into_owned();
    assert_eq!(
        got,
        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 10\r\n\
         Connection: close\r\n\r\nhelloworld",
        "{args:?}"
    );
    let (status, rest) = server.wait_exit(Duration::from_secs(30));
    assert!(
        status.success(),
        "{args:?}: exit status {status:?}; output:\n{rest}"
    );
    assert!(rest.contains("got signal 15"), "{rest}");
    assert!(rest.contains("every connection finished"), "{rest}");
}
