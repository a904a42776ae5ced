//! `EventLoopTestsMixin` of test_events.py on TCP and Unix connections with protocols:
//! `create_connection` / `create_unix_connection` to a small HTTP-like server,
//! `connect_accepted_socket`, and `create_server` / `create_unix_server` with plain
//! socket clients. CPython's servers and clients are blocking sockets (here std
//! sockets, bounded by timeouts). Neighbours: `tls.rs` (the same over TLS),
//! `datagram.rs`.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::rc::Rc;
use std::thread::JoinHandle;
use std::time::Duration;

use aloop::{get_running_loop, Protocol, ServerOptions, Transport};

use super::wait_until;

const TIMEOUT: Option<Duration> = Some(Duration::from_secs(10));

/// What CPython's `MyBaseProto` records, shared with the test.
pub(super) struct ProtoState {
    pub(super) state: &'static str,
    pub(super) nbytes: usize,
    pub(super) transport: Option<Transport>,
}

/// CPython's `MyBaseProto` (and `MyProto` with `send_get`: it writes an HTTP request
/// once connected). Asserts the order of the calls it gets.
pub(super) struct MyProto {
    pub(super) s: Rc<RefCell<ProtoState>>,
    send_get: bool,
}

impl MyProto {
    /// A protocol and the handle the test keeps on its state.
    pub(super) fn new(send_get: bool) -> (Self, Rc<RefCell<ProtoState>>) {
        let s = Rc::new(RefCell::new(ProtoState {
            state: "INITIAL",
            nbytes: 0,
            transport: None,
        }));
        (
            MyProto {
                s: s.clone(),
                send_get,
            },
            s,
        )
    }
}

impl Protocol for MyProto {
    fn connection_made(&mut self, transport: Transport) {
        let mut s = self.s.borrow_mut();
        assert_eq!(s.state, "INITIAL");
        s.state = "CONNECTED";
        if self.send_get {
            transport
                .write(b"GET / HTTP/1.0\r\nHost: example.com\r\n\r\n")
                .unwrap();
        }
        s.transport = Some(transport);
    }
    fn data_received(&mut self, data: &[u8]) {
        let mut s = self.s.borrow_mut();
        assert_eq!(s.state, "CONNECTED");
        s.nbytes += data.len();
    }
    fn eof_received(&mut self) -> bool {
        let mut s = self.s.borrow_mut();
        assert_eq!(s.state, "CONNECTED");
        s.state = "EOF";
        false
    }
    fn connection_lost(&mut self, _error: Option<io::Error>) {
        let mut s = self.s.borrow_mut();
        assert!(matches!(s.state, "CONNECTED" | "EOF"), "{}", s.state);
        s.state = "CLOSED";
        s.transport = None;
    }
}

/// CPython's `run_test_server`: answers one HTTP request and closes.
fn serve_one<S: Read + Write>(mut conn: S) {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.ends_with(b"\r\n\r\n") {
        let n = conn.read(&mut buf).unwrap();
        assert!(n > 0, "the client closed before its request ended");
        request.extend_from_slice(&buf[..n]);
    }
    conn.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        .unwrap();
}

fn http_server() -> (SocketAddr, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(TIMEOUT).unwrap();
        serve_one(conn);
    });
    (addr, server)
}

pub(super) fn socket_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "aloop-cpython-events-{}-{tag}.sock",
        std::process::id()
    ))
}

fn state_of(s: &Rc<RefCell<ProtoState>>) -> &'static str {
    s.borrow().state
}

/// `_basetest_create_connection`: the request goes out, the answer comes in, the server
/// closes, and the protocol hears it all in order.
async fn check_connection(t: Transport, s: Rc<RefCell<ProtoState>>, check_sockname: bool) {
    if check_sockname {
        assert!(t.sockname().is_some());
    }
    wait_until(|| state_of(&s) == "CLOSED").await;
    assert!(s.borrow().nbytes > 0);
    t.close();
}

#[aloop::test]
async fn events_event_loop_create_connection() {
    let (addr, server) = http_server();
    let lp = get_running_loop().unwrap();
    let (proto, s) = MyProto::new(true);
    let (t, _p) = lp
        .create_connection(move || proto, "127.0.0.1", addr.port())
        .await
        .unwrap();
    check_connection(t, s, true).await;
    aloop::to_thread(move || server.join().unwrap())
        .await
        .unwrap();
}

#[aloop::test]
async fn events_event_loop_create_unix_connection() {
    let path = socket_path("connect");
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).unwrap();
    let server = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        conn.set_read_timeout(TIMEOUT).unwrap();
        serve_one(conn);
    });
    let lp = get_running_loop().unwrap();
    let (proto, s) = MyProto::new(true);
    let (t, _p) = lp
        .create_unix_connection(move || proto, &path)
        .await
        .unwrap();
    assert!(t.unix_sockname().is_some());
    check_connection(t, s, false).await;
    aloop::to_thread(move || server.join().unwrap())
        .await
        .unwrap();
    let _ = std::fs::remove_file(&path);
}

/// CPython's `MyProto` of `test_connect_accepted_socket`: answers "roger" to each
/// chunk, stops the loop once closed.
struct Answering(MyProto, aloop::LoopRef);

impl Protocol for Answering {
    fn connection_made(&mut self, transport: Transport) {
        self.0.connection_made(transport);
    }
    fn data_received(&mut self, data: &[u8]) {
        self.0.data_received(data);
        let s = self.0.s.borrow();
        s.transport.as_ref().unwrap().write(b"roger").unwrap();
    }
    fn eof_received(&mut self) -> bool {
        self.0.eof_received()
    }
    fn connection_lost(&mut self, error: Option<io::Error>) {
        self.0.connection_lost(error);
        let lp = self.1.clone();
        self.1.call_soon(move || lp.stop()).unwrap();
    }
}

/// A plain client (a blocking socket) for `accepted_socket`: sends `message`, returns
/// the answer.
pub(super) fn plain_client(addr: SocketAddr, message: &'static [u8]) -> Vec<u8> {
    let mut csock = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    csock.set_read_timeout(TIMEOUT).unwrap();
    csock.write_all(message).unwrap();
    let mut response = [0u8; 99];
    let n = csock.read(&mut response).unwrap();
    response[..n].to_vec()
}

/// What turns the accepted connection into a TLS one, before the loop runs.
pub(super) type Upgrade = Box<dyn FnOnce(&aloop::LoopRef, &Transport) + Send>;

/// `test_connect_accepted_socket(server_ssl, client_ssl)`: a socket accepted outside
/// the loop is given to a protocol (and, with `upgrade`, made TLS by `start_tls`);
/// `client` runs on a thread of its own against the listener's address.
pub(super) fn accepted_socket(
    client: impl FnOnce(SocketAddr, &'static [u8]) -> Vec<u8> + Send + 'static,
    upgrade: Option<Upgrade>,
) {
    super::bounded(30, move || {
        let lp = aloop::new_event_loop();
        let lsock = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = lsock.local_addr().unwrap();
        let message = b"test data";
        let client = std::thread::spawn(move || client(addr, message));
        let (conn, _) = lsock.accept().unwrap();
        let (proto, s) = MyProto::new(false);
        let lp2 = lp.clone_ref();
        let (t, _p) = lp
            .connect_accepted_socket(move || Answering(proto, lp2), conn)
            .unwrap();
        if let Some(upgrade) = upgrade {
            upgrade(&lp, &t);
        }
        lp.run_forever().unwrap();
        t.close();
        let response = client.join().unwrap();
        assert_eq!(state_of(&s), "CLOSED");
        assert_eq!(s.borrow().nbytes, message.len());
        assert_eq!(response, b"roger");
    });
}

#[test]
fn events_event_loop_connect_accepted_socket() {
    accepted_socket(plain_client, None);
}

#[aloop::test]
async fn events_event_loop_create_server() {
    let lp = get_running_loop().unwrap();
    let (proto, s) = MyProto::new(false);
    let proto = RefCell::new(Some(proto));
    let server = lp
        .create_server(
            move || proto.borrow_mut().take().unwrap(),
            "0.0.0.0",
            0,
            ServerOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(server.sockets().len(), 1);
    let addr = server.sockets()[0];
    assert_eq!(addr.ip().to_string(), "0.0.0.0");
    let mut client = TcpStream::connect_timeout(
        &([127, 0, 0, 1], addr.port()).into(),
        Duration::from_secs(5),
    )
    .unwrap();
    client.write_all(b"xxx").unwrap();
    wait_until(|| state_of(&s) == "CONNECTED" && s.borrow().nbytes > 0).await;
    assert_eq!(s.borrow().nbytes, 3);
    let t = s.borrow().transport.clone().unwrap();
    assert!(t.sockname().is_some());
    assert_eq!(t.peername().unwrap().ip().to_string(), "127.0.0.1");
    t.close();
    wait_until(|| state_of(&s) == "CLOSED").await;
    drop(client);
    server.close();
}

/// `SO_REUSEPORT` is set only with `reuse_port`. CPython reads the option off
/// `server.sockets[0]`; aloop's `sockets()` are addresses, so the option shows in
/// what the kernel allows: a second listener on the same port binds only when both
/// set it.
#[aloop::test]
async fn events_event_loop_create_server_reuse_port() {
    let lp = get_running_loop().unwrap();
    let quiet = || MyProto::new(false).0;
    let plain = lp
        .create_server(quiet, "0.0.0.0", 0, ServerOptions::default())
        .await
        .unwrap();
    let port = plain.sockets()[0].port();
    let reusing = ServerOptions {
        reuse_port: true,
        ..Default::default()
    };
    let e = lp
        .create_server(quiet, "0.0.0.0", port, reusing.clone())
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EADDRINUSE), "{e}");
    plain.close();

    let first = lp
        .create_server(quiet, "0.0.0.0", 0, reusing.clone())
        .await
        .unwrap();
    let port = first.sockets()[0].port();
    let second = lp
        .create_server(quiet, "0.0.0.0", port, reusing)
        .await
        .unwrap();
    first.close();
    second.close();
}

#[aloop::test]
async fn events_event_loop_create_unix_server() {
    let path = socket_path("server");
    let lp = get_running_loop().unwrap();
    let (proto, s) = MyProto::new(false);
    let proto = RefCell::new(Some(proto));
    let server = lp
        .create_unix_server(
            move || proto.borrow_mut().take().unwrap(),
            &path,
            ServerOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(server.unix_path(), Some(path.as_path()));
    let mut client = UnixStream::connect(&path).unwrap();
    client.write_all(b"xxx").unwrap();
    wait_until(|| state_of(&s) == "CONNECTED" && s.borrow().nbytes > 0).await;
    assert_eq!(s.borrow().nbytes, 3);
    let t = s.borrow().transport.clone().unwrap();
    t.close();
    wait_until(|| state_of(&s) == "CLOSED").await;
    drop(client);
    server.close();
}

/// A second server on a port in use fails with `EADDRINUSE`.
#[aloop::test]
async fn events_event_loop_create_server_addr_in_use() {
    let lp = get_running_loop().unwrap();
    let quiet = || MyProto::new(false).0;
    let server = lp
        .create_server(quiet, "0.0.0.0", 0, ServerOptions::default())
        .await
        .unwrap();
    let port = server.sockets()[0].port();
    let e = lp
        .create_server(quiet, "0.0.0.0", port, ServerOptions::default())
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EADDRINUSE), "{e}");
    server.close();
}

/// A server for every interface (asyncio: `host=None`) takes IPv4 and IPv6 clients
/// (IPv6 where the machine has it: the server then listens on `[::]` too).
#[aloop::test]
async fn events_event_loop_create_server_dual_stack() {
    let lp = get_running_loop().unwrap();
    let states = Rc::new(RefCell::new(Vec::new()));
    let made = states.clone();
    let server = lp
        .create_server(
            move || {
                let (p, s) = MyProto::new(false);
                made.borrow_mut().push(s);
                p
            },
            "",
            0,
            ServerOptions::default(),
        )
        .await
        .unwrap();
    let sockets = server.sockets();
    assert!(sockets[0].is_ipv4() && sockets[0].ip().is_unspecified());
    let loopbacks = sockets.iter().map(|a| {
        let ip: std::net::IpAddr = if a.is_ipv4() { "127.0.0.1" } else { "::1" }
            .parse()
            .unwrap();
        SocketAddr::new(ip, a.port())
    });
    for (n, addr) in loopbacks.enumerate() {
        let mut client = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
        client.write_all(b"xxx").unwrap();
        wait_until(|| states.borrow().len() > n).await;
        let s = states.borrow()[n].clone();
        wait_until(|| state_of(&s) == "CONNECTED").await;
        s.borrow().transport.clone().unwrap().close();
    }
    server.close();
}

/// Once `close()` returns, the port refuses connections.
#[aloop::test]
async fn events_event_loop_server_close() {
    let lp = get_running_loop().unwrap();
    let server = lp
        .create_server(
            || MyProto::new(false).0,
            "0.0.0.0",
            0,
            ServerOptions::default(),
        )
        .await
        .unwrap();
    let addr: SocketAddr = ([127, 0, 0, 1], server.sockets()[0].port()).into();
    let mut client = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    client.write_all(b"xxx").unwrap();
    drop(client);
    server.close();
    let e = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
}
