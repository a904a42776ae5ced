//! Port of CPython's `Lib/test/test_asyncio/test_sock_lowlevel.py` (see
//! `docs/conformance.md` for the version, and for each method that has no Rust form and
//! why): one Rust test per `BaseSockTestsMixin` method, `sock_lowlevel_base_sock_<method>`,
//! on the loop's `sock_*` calls. `client.rs` holds the stream-socket client tests
//! (connect, send, receive, races with cancellation, large bodies); `accept_datagram.rs`
//! those of `sock_accept` and the datagram calls.
//!
//! CPython runs the mixin once per selector (epoll, poll, select, kqueue): twins, one
//! Rust test each. Its `run_test_server` (an HTTP server answering "Test message", and
//! echoing the body of a `POST /loop`) is an aloop stream server here, [`start_http`];
//! its `run_udp_echo_server` is a std thread, [`udp_echo`]. Unconnected sockets come
//! from socket2 (std has none); everything binds 127.0.0.1 port 0.

mod accept_datagram;
mod client;

pub(crate) use aloop_tests::cpython::bounded;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::time::Duration;

use aloop::{Server, StreamReader, StreamWriter};
use socket2::{Domain, Socket, Type};

/// The request the client tests send.
const GET: &[u8] = b"GET / HTTP/1.0\r\n\r\n";

/// A new, unconnected IPv4 TCP socket (CPython's `socket.socket()`), still blocking.
fn tcp_socket() -> Socket {
    Socket::new(Domain::IPV4, Type::STREAM, None).unwrap()
}

/// One connection of CPython's test HTTP server: "Test message" for any request, except
/// `POST /loop`, whose body is streamed back as it arrives.
async fn http_connection(r: StreamReader, w: StreamWriter) -> io::Result<()> {
    let head = r.readuntil(b"\r\n\r\n").await?;
    if head.starts_with(b"POST /loop ") {
        let text = String::from_utf8_lossy(&head).to_ascii_lowercase();
        let length: usize = text
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| io::Error::other("POST without a Content-Length"))?;
        w.write(format!("HTTP/1.0 200 OK\r\nContent-Length: {length}\r\n\r\n").as_bytes())?;
        let mut left = length;
        while left > 0 {
            let chunk = r.read(left.min(65536)).await?;
            if chunk.is_empty() {
                break;
            }
            left -= chunk.len();
            w.write(&chunk)?;
            w.drain().await?;
        }
    } else {
        w.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nTest message")?;
    }
    w.close();
    w.wait_closed().await
}

/// CPython's `run_test_server`, on the running loop; the caller closes it.
async fn start_http() -> (Server, SocketAddr) {
    let srv = aloop::start_server(http_connection, "127.0.0.1", 0)
        .await
        .unwrap();
    let addr = srv.sockets()[0];
    (srv, addr)
}

/// CPython's `run_test_unix_server`, at a fresh path; the caller closes it.
async fn start_unix_http(tag: &str) -> (Server, PathBuf) {
    let path = std::env::temp_dir().join(format!(
        "aloop-cpython-sock-{}-{tag}.sock",
        std::process::id()
    ));
    let srv = aloop::start_unix_server(http_connection, &path)
        .await
        .unwrap();
    (srv, path)
}

/// CPython's `run_udp_echo_server`: a thread echoing `count` datagrams back to their
/// senders, giving up after ten idle seconds. Returns its address.
fn udp_echo(count: usize) -> SocketAddr {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let addr = sock.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        for _ in 0..count {
            let Ok((n, from)) = sock.recv_from(&mut buf) else {
                return;
            };
            let _ = sock.send_to(&buf[..n], from);
        }
    });
    addr
}
