//! `BaseEventLoopWithSelectorTests` of test_base_events.py on `getnameinfo`,
//! `create_connection`, `create_server` and `create_datagram_endpoint`. CPython mocks
//! the `socket` module and `getaddrinfo` to make each failure; here the failures are
//! real ones on 127.0.0.1 (a closed port, a port in use), and the methods that only
//! make sense with a mock are listed in `docs/conformance.md`. Neighbours:
//! `run_loop.rs`, `handlers.rs`, `sendfile.rs`.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;

use aloop::{
    get_running_loop, start_server, DatagramOptions, DatagramProtocol, DatagramTransport, Protocol,
    ServerOptions, StreamReader, StreamWriter,
};

use super::wait_until;

/// A stream protocol that ignores everything.
#[derive(Default)]
struct Quiet;

impl Protocol for Quiet {}

/// CPython's `MyDatagramProto`: checks the order of the calls it gets.
struct DgProto {
    state: &'static str,
    nbytes: usize,
}

impl Default for DgProto {
    fn default() -> Self {
        DgProto {
            state: "INITIAL",
            nbytes: 0,
        }
    }
}

impl DatagramProtocol for DgProto {
    fn connection_made(&mut self, _transport: DatagramTransport) {
        assert_eq!(self.state, "INITIAL");
        self.state = "INITIALIZED";
    }
    fn datagram_received(&mut self, data: &[u8], _addr: aloop::DatagramAddr) {
        assert_eq!(self.state, "INITIALIZED");
        self.nbytes += data.len();
    }
    fn error_received(&mut self, _error: io::Error) {
        assert_eq!(self.state, "INITIALIZED");
    }
    fn connection_lost(&mut self, _error: Option<io::Error>) {
        assert_eq!(self.state, "INITIALIZED");
        self.state = "CLOSED";
    }
}

/// An integer socket option of `fd` (`getsockopt(level, name)`).
fn sockopt(fd: RawFd, level: i32, name: i32) -> i32 {
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `fd` is an open socket owned by the transport for this call; `value` and
    // `len` are valid for writes of the sizes given.
    let r = unsafe {
        libc::getsockopt(
            fd,
            level,
            name,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    assert_eq!(r, 0, "{}", io::Error::last_os_error());
    value
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn socket_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "aloop-cpython-base-events-{}-{tag}.sock",
        std::process::id()
    ))
}

/// `getnameinfo` runs the system's lookup off the loop thread and gives its answer
/// (CPython mocks `socket.getnameinfo`; here numeric flags make the answer known).
#[aloop::test]
async fn base_events_base_event_loop_with_selector_getnameinfo() {
    let lp = get_running_loop().unwrap();
    let addr = "127.0.0.1:80".parse().unwrap();
    let (host, service) = lp
        .getnameinfo(addr, libc::NI_NUMERICHOST | libc::NI_NUMERICSERV)
        .await
        .unwrap();
    assert_eq!((host.as_str(), service.as_str()), ("127.0.0.1", "80"));
}

/// A connection that fails is an `OSError` (here the OS's own `ECONNREFUSED`; CPython
/// mocks `sock_connect` to raise).
#[aloop::test]
async fn base_events_base_event_loop_with_selector_create_connection_connect_err() {
    let lp = get_running_loop().unwrap();
    let err = lp
        .create_connection(Quiet::default, "127.0.0.1", closed_port())
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED), "{err}");
}

/// A server on `::1` listens on at least one socket (skipped where IPv6 is off).
#[aloop::test]
async fn base_events_base_event_loop_with_selector_create_server_ipv6() {
    let handler = |_r: StreamReader, _w: StreamWriter| async {};
    let srv = match start_server(handler, "::1", 0).await {
        Ok(srv) => srv,
        Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => {
            eprintln!("skipped: failed to bind to ::1 ({e})");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    assert!(!srv.sockets().is_empty());
    assert!(srv.sockets().iter().all(|a| a.is_ipv6()));
    srv.close();
    srv.wait_closed().await;
}

/// An empty host means every interface, as `None` does (asyncio: `''` is turned into
/// `None` before `getaddrinfo`; CPython checks what its mocked `getaddrinfo` was given).
#[aloop::test]
async fn base_events_base_event_loop_with_selector_create_server_empty_host() {
    let lp = get_running_loop().unwrap();
    let srv = lp
        .create_server(Quiet::default, "", 0, ServerOptions::default())
        .await
        .unwrap();
    assert!(!srv.sockets().is_empty());
    assert!(srv.sockets().iter().all(|a| a.ip().is_unspecified()));
    srv.close();
}

/// A server that cannot bind fails with the OS's error (here `EADDRINUSE` from a port
/// in use; CPython mocks `bind`), and leaves no socket behind: the port is still
/// the other listener's.
#[aloop::test]
async fn base_events_base_event_loop_with_selector_create_server_cant_bind() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let lp = get_running_loop().unwrap();
    let err = lp
        .create_server(Quiet::default, "127.0.0.1", port, ServerOptions::default())
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EADDRINUSE), "{err}");
}

/// With `allow_broadcast`, a `remote_addr` is not connected to (CPython: `sock_connect`
/// is not called; here the socket has no peer); closing the transport calls
/// `connection_lost`.
#[aloop::test]
async fn base_events_base_event_loop_with_selector_create_datagram_endpoint_allow_broadcast() {
    let lp = get_running_loop().unwrap();
    let options = DatagramOptions {
        allow_broadcast: true,
        ..Default::default()
    };
    let (t, p) = lp
        .create_datagram_endpoint(DgProto::default, None, Some(("127.0.0.1", 0)), options)
        .await
        .unwrap();
    let fd = t.socket().unwrap().as_raw_fd();
    // SAFETY: `sockaddr_storage` is plain data, for which all zeroes is a valid value.
    let mut addr: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `fd` is the transport's open socket; `addr` and `len` are valid for writes
    // of the sizes given.
    let r = unsafe {
        libc::getpeername(
            fd,
            (&mut addr as *mut libc::sockaddr_storage).cast(),
            &mut len,
        )
    };
    assert_eq!(r, -1);
    assert_eq!(
        io::Error::last_os_error().raw_os_error(),
        Some(libc::ENOTCONN)
    );
    t.close();
    wait_until(|| p.borrow().state == "CLOSED").await;
}

/// A `local_addr` and a `remote_addr` of different families are refused (asyncio:
/// `ValueError`; aloop: `InvalidInput`).
#[aloop::test]
async fn base_events_base_event_loop_with_selector_create_datagram_endpoint_no_matching_family() {
    let lp = get_running_loop().unwrap();
    let err = lp
        .create_datagram_endpoint(
            <()>::default,
            Some(("::1", 0)),
            Some(("127.0.0.1", 0)),
            DatagramOptions::default(),
        )
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
}

/// Neither a `local_addr` nor a `remote_addr` is refused (asyncio: `ValueError`
/// "unexpected address family" without `family=`; aloop has no `family=`).
#[aloop::test]
async fn base_events_base_event_loop_with_selector_create_datagram_endpoint_noaddr_nofamily() {
    let lp = get_running_loop().unwrap();
    let err = lp
        .create_datagram_endpoint(<()>::default, None, None, DatagramOptions::default())
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
}

/// An endpoint that cannot bind fails with the OS's error (a UDP port in use; CPython
/// mocks `bind`).
#[aloop::test]
async fn base_events_base_event_loop_with_selector_create_datagram_endpoint_cant_bind() {
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let lp = get_running_loop().unwrap();
    let err = lp
        .create_datagram_endpoint(
            DgProto::default,
            Some(("127.0.0.1", port)),
            None,
            DatagramOptions::default(),
        )
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EADDRINUSE), "{err}");
}

/// A Unix datagram endpoint with no address at all (asyncio: `family=AF_UNIX` alone):
/// the transport is a Unix socket, and closing it calls `connection_lost`.
#[aloop::test]
async fn base_events_base_event_loop_with_selector_create_datagram_endpoint_sock_unix() {
    let lp = get_running_loop().unwrap();
    let (t, p) = lp
        .create_unix_datagram_endpoint(DgProto::default, None, None)
        .await
        .unwrap();
    assert_eq!(p.borrow().state, "INITIALIZED");
    let fd = t.socket().unwrap().as_raw_fd();
    assert_eq!(
        sockopt(fd, libc::SOL_SOCKET, libc::SO_DOMAIN),
        libc::AF_UNIX
    );
    t.close();
    wait_until(|| p.borrow().state == "CLOSED").await;
}

/// A stale socket file at the local path is replaced.
#[aloop::test]
async fn base_events_base_event_loop_with_selector_create_datagram_endpoint_existing_sock_unix() {
    let path = socket_path("existing");
    let _ = std::fs::remove_file(&path);
    drop(UnixDatagram::bind(&path).unwrap());
    assert!(path.exists());
    let lp = get_running_loop().unwrap();
    let (t, p) = lp
        .create_unix_datagram_endpoint(DgProto::default, Some(&path), None)
        .await
        .unwrap();
    t.close();
    wait_until(|| p.borrow().state == "CLOSED").await;
    let _ = std::fs::remove_file(&path);
}

/// Socket options are set only when asked for: no `SO_REUSEPORT` or `SO_BROADCAST` by
/// default; with both options, both are set, and `SO_REUSEADDR` still is not.
#[aloop::test]
async fn base_events_base_event_loop_with_selector_create_datagram_endpoint_sockopts() {
    let lp = get_running_loop().unwrap();
    let (t, p) = lp
        .create_datagram_endpoint(
            DgProto::default,
            Some(("127.0.0.1", 0)),
            None,
            DatagramOptions::default(),
        )
        .await
        .unwrap();
    let fd = t.socket().unwrap().as_raw_fd();
    assert_eq!(sockopt(fd, libc::SOL_SOCKET, libc::SO_REUSEPORT), 0);
    assert_eq!(sockopt(fd, libc::SOL_SOCKET, libc::SO_BROADCAST), 0);
    t.close();
    wait_until(|| p.borrow().state == "CLOSED").await;

    let options = DatagramOptions {
        reuse_port: true,
        allow_broadcast: true,
    };
    let (t, p) = lp
        .create_datagram_endpoint(DgProto::default, Some(("127.0.0.1", 0)), None, options)
        .await
        .unwrap();
    let fd = t.socket().unwrap().as_raw_fd();
    assert_eq!(sockopt(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR), 0);
    assert_ne!(sockopt(fd, libc::SOL_SOCKET, libc::SO_REUSEPORT), 0);
    assert_ne!(sockopt(fd, libc::SOL_SOCKET, libc::SO_BROADCAST), 0);
    t.close();
    wait_until(|| p.borrow().state == "CLOSED").await;
}

/// The TLS server name defaults to the host connected to, and an explicit one replaces
/// it (CPython checks what its mocked `_make_ssl_transport` was given; here the server
/// reads the name the client sent, SNI). CPython's third case, an empty
/// `server_hostname`, has no Rust form: an empty name is not a server name to rustls.
#[aloop::test]
async fn base_events_base_event_loop_with_selector_create_connection_ssl_server_hostname_default() {
    use aloop::tls::{ClientConfig, ServerConfig};
    use aloop::ConnectOptions;

    let ca = aloop_tests::tls_certs::TestCa::new("aloop test CA");
    let leaf = ca.leaf(&["localhost", "perl.com"]);
    let names = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let seen = names.clone();
    let handler = move |_r: StreamReader, w: StreamWriter| {
        let name = w.tls_info().and_then(|info| info.server_name);
        seen.borrow_mut().push(name);
        async move {
            w.close();
        }
    };
    let options = ServerOptions {
        ssl: Some(
            ServerConfig::from_pem(leaf.cert_pem.as_bytes(), leaf.key_pem.as_bytes()).unwrap(),
        ),
        ..Default::default()
    };
    let srv = aloop::start_server_with(handler, "127.0.0.1", 0, options)
        .await
        .unwrap();
    let port = srv.sockets()[0].port();
    let lp = get_running_loop().unwrap();
    let trusting = || ClientConfig::with_root_pem(ca.cert_pem().as_bytes()).unwrap();
    for (config, expected) in [
        (trusting(), "localhost"),
        (trusting().server_hostname("perl.com"), "perl.com"),
    ] {
        let options = ConnectOptions {
            ssl: Some(config),
            ..Default::default()
        };
        let (t, _p) = lp
            .create_connection_with(Quiet::default, "localhost", port, options)
            .await
            .unwrap();
        let count = names.borrow().len();
        wait_until(|| names.borrow().len() > count).await;
        assert_eq!(names.borrow()[count].as_deref(), Some(expected));
        t.close();
    }
    srv.close();
}
