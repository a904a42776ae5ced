//! `BaseLoopSockSendfileTests` of test_base_events.py: `sock_sendfile` over a connected
//! TCP socket to a server of the loop's own, whole file and a slice. CPython runs these
//! on a loop without a native `sendfile` to exercise the fallback; aloop picks
//! `sendfile(2)` or the fallback itself, so the same observable results are checked
//! whichever is used. Neighbours: `run_loop.rs`, `handlers.rs`, `network.rs`.

use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Seek, Write};
use std::rc::Rc;
use std::time::Duration;

use std::net::TcpStream;

use aloop::{get_running_loop, Protocol, ServerOptions, Transport};

use super::wait_until;

/// 160 KiB, as CPython's `DATA`.
fn data() -> Vec<u8> {
    b"12345abcde".repeat(16 * 1024)
}

/// The file CPython writes in `setUpClass`, one per test here.
fn data_file(tag: &str) -> File {
    let path = std::env::temp_dir().join(format!(
        "aloop-cpython-sendfile-{}-{tag}",
        std::process::id()
    ));
    let mut f = File::create(&path).unwrap();
    f.write_all(&data()).unwrap();
    drop(f);
    let f = File::open(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    f
}

/// What the server side of the connection received (CPython's `MyProto` of these tests).
#[derive(Default)]
struct Received {
    data: Vec<u8>,
    closed: bool,
}

/// Keeps its transport, as CPython's `MyProto` does (`self.transport = transport`).
struct Collect(Rc<RefCell<Received>>, Option<Transport>);

impl Protocol for Collect {
    fn connection_made(&mut self, transport: Transport) {
        self.1 = Some(transport);
    }
    fn data_received(&mut self, data: &[u8]) {
        self.0.borrow_mut().data.extend_from_slice(data);
    }
    fn connection_lost(&mut self, _error: Option<io::Error>) {
        self.0.borrow_mut().closed = true;
        self.1 = None;
    }
}

/// CPython's `prepare()`: a server on 127.0.0.1 of the loop's own, and a client socket
/// connected to it (a blocking connect, which loopback completes at once).
async fn prepare() -> (TcpStream, Rc<RefCell<Received>>, aloop::Server) {
    let lp = get_running_loop().unwrap();
    let received = Rc::new(RefCell::new(Received::default()));
    let shared = received.clone();
    let server = lp
        .create_server(
            move || Collect(shared.clone(), None),
            "127.0.0.1",
            0,
            ServerOptions::default(),
        )
        .await
        .unwrap();
    let addr = server.sockets()[0];
    let sock = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    (sock, received, server)
}

/// The whole file goes through; the count sent is returned. *Difference*: asyncio
/// leaves the file's position after the bytes sent (`tell() == len(DATA)`); aloop does
/// not move it (the call takes `&File` and an offset).
#[aloop::test]
async fn base_events_base_loop_sock_sendfile_sock_sendfile_fallback() {
    let (sock, received, server) = prepare().await;
    let mut file = data_file("whole");
    let lp = get_running_loop().unwrap();
    let sent = lp.sock_sendfile(&sock, &file, 0, None).await.unwrap();
    drop(sock);
    wait_until(|| received.borrow().closed).await;
    assert_eq!(sent, data().len() as u64);
    assert_eq!(file.stream_position().unwrap(), 0);
    assert!(received.borrow().data == data());
    server.close();
}

/// From an offset, a count of bytes: exactly that slice goes through. *Difference*:
/// the file's position is not moved (asyncio: `tell() == 3000`).
#[aloop::test]
async fn base_events_base_loop_sock_sendfile_sock_sendfile_fallback_offset_and_count() {
    let (sock, received, server) = prepare().await;
    let mut file = data_file("slice");
    let lp = get_running_loop().unwrap();
    let sent = lp
        .sock_sendfile(&sock, &file, 1000, Some(2000))
        .await
        .unwrap();
    drop(sock);
    wait_until(|| received.borrow().closed).await;
    assert_eq!(sent, 2000);
    assert_eq!(file.stream_position().unwrap(), 0);
    assert!(received.borrow().data == data()[1000..3000]);
    server.close();
}

/// A blocking socket. *Difference*: asyncio refuses it in debug mode (`ValueError`
/// "must be non-blocking"); aloop switches the socket to non-blocking mode and sends.
#[aloop::test]
async fn base_events_base_loop_sock_sendfile_blocking_socket() {
    let lp = get_running_loop().unwrap();
    lp.set_debug(true);
    let (sock, received, server) = prepare().await;
    sock.set_nonblocking(false).unwrap();
    let file = data_file("blocking");
    let sent = lp.sock_sendfile(&sock, &file, 0, Some(10)).await.unwrap();
    drop(sock);
    wait_until(|| received.borrow().closed).await;
    assert_eq!(sent, 10);
    assert!(received.borrow().data == data()[..10]);
    server.close();
}

/// A datagram socket is refused (asyncio: `ValueError` "only SOCK_STREAM type sockets
/// are supported"; aloop: `InvalidInput`), before anything is sent: here a connected
/// UDP socket and a count small enough for one datagram, so only the check can refuse
/// it.
#[aloop::test]
async fn base_events_base_loop_sock_sendfile_nonstream_socket() {
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.connect(peer.local_addr().unwrap()).unwrap();
    let file = data_file("dgram");
    let lp = get_running_loop().unwrap();
    let err = lp
        .sock_sendfile(&sock, &file, 0, Some(10))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
    peer.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 64];
    assert_eq!(
        peer.recv(&mut buf).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
}
