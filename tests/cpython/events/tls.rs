//! `EventLoopTestsMixin` of test_events.py over TLS (feature `tls`, on rustls): client
//! connections to a TLS server, TLS servers with protocols, certificate verification
//! that fails (unknown CA, wrong host name) and succeeds. CPython's certificates are
//! files of its test suite; here `aloop_tests::tls_certs` makes a CA and leaves at run
//! time. CPython's client contexts without verification (`dummy_ssl_context`) are a
//! client that trusts the test CA. A Unix connection has no `ssl` option in aloop: the
//! client connects in plain text and upgrades with `loop.start_tls`, which asyncio has
//! too. Neighbours: `connections.rs` (the same without TLS).

use std::cell::RefCell;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use aloop::tls::{ClientConfig, ServerConfig, TlsError, TlsErrorKind};
use aloop::{
    get_running_loop, start_server_with, start_unix_server_with, ConnectOptions, Server,
    ServerOptions, StreamReader, StreamWriter, Transport,
};
use aloop_tests::tls_certs::{localhost, Leaf, TestCa};

use super::connections::{socket_path, MyProto, ProtoState};
use super::wait_until;

fn server_options(leaf: &Leaf) -> ServerOptions {
    let config = ServerConfig::from_pem(leaf.cert_pem.as_bytes(), leaf.key_pem.as_bytes()).unwrap();
    ServerOptions {
        ssl: Some(config),
        ..Default::default()
    }
}

fn trusting(ca: &TestCa) -> ClientConfig {
    ClientConfig::with_root_pem(ca.cert_pem().as_bytes()).unwrap()
}

/// Where the server listens: CPython runs most of these tests over TCP and Unix.
enum Via {
    Tcp(SocketAddr),
    Unix(PathBuf),
}

/// A client connection with `config`: over TCP with `create_connection`'s `ssl`, over
/// Unix by `start_tls` after connecting.
async fn connect(
    via: &Via,
    proto: MyProto,
    config: ClientConfig,
) -> io::Result<(Transport, Rc<RefCell<MyProto>>)> {
    let lp = get_running_loop().unwrap();
    match via {
        Via::Tcp(addr) => {
            let options = ConnectOptions {
                ssl: Some(config),
                ..Default::default()
            };
            lp.create_connection_with(move || proto, "127.0.0.1", addr.port(), options)
                .await
        }
        Via::Unix(path) => {
            let (t, p) = lp.create_unix_connection(move || proto, path).await?;
            let t = lp.start_tls(&t, config).await?;
            Ok((t, p))
        }
    }
}

/// A server of protocols whose states the test reads, `MyProto`'s.
async fn proto_server(
    via_unix: Option<PathBuf>,
    leaf: &Leaf,
) -> (Server, Via, Rc<RefCell<Vec<Rc<RefCell<ProtoState>>>>>) {
    let lp = get_running_loop().unwrap();
    let states = Rc::new(RefCell::new(Vec::new()));
    let made = states.clone();
    let factory = move || {
        let (p, s) = MyProto::new(false);
        made.borrow_mut().push(s);
        p
    };
    let options = server_options(leaf);
    let (server, via) = match via_unix {
        None => {
            let server = lp
                .create_server(factory, "127.0.0.1", 0, options)
                .await
                .unwrap();
            let addr = server.sockets()[0];
            assert_eq!(addr.ip().to_string(), "127.0.0.1");
            (server, Via::Tcp(addr))
        }
        Some(path) => {
            let server = lp
                .create_unix_server(factory, &path, options)
                .await
                .unwrap();
            (server, Via::Unix(path))
        }
    };
    (server, via, states)
}

/// CPython's `check_ssl_extra_info`: addresses, the cipher, the protocol version.
/// *Difference*: CPython's unverified client sees an empty `peercert`; here the client
/// verified the server, and sees its certificate.
fn check_tls_info(t: &Transport, via: &Via) {
    if let Via::Tcp(addr) = via {
        assert!(t.sockname().is_some());
        assert_eq!(t.peername(), Some(*addr));
    }
    let info = t.tls_info().expect("a TLS connection");
    assert!(info.cipher_suite.is_some());
    assert!(info.protocol_version.is_some());
    assert!(!info.peer_certificates.is_empty());
}

fn tls_kind(e: &io::Error) -> Option<TlsErrorKind> {
    TlsError::from_io(e).map(TlsError::kind)
}

/// CPython's `run_test_server(use_ssl=True)`: answers one HTTP request and closes.
async fn http_handler(r: StreamReader, w: StreamWriter) -> io::Result<()> {
    r.readuntil(b"\r\n\r\n")
        .await
        .map_err(|e| io::Error::other(e.to_string()))?;
    w.write(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello")?;
    w.close();
    w.wait_closed().await
}

/// `_test_create_ssl_connection`: a request and its answer over TLS; then, with the
/// system's trust store (asyncio's `ssl=True`), the test CA is unknown and the handshake
/// fails with "certificate verify failed". CPython's middle step (patching
/// `ssl.create_default_context`) has no Rust form.
async fn ssl_connection(via_unix: bool) {
    let (ca, leaf) = localhost();
    let (server, via) = if via_unix {
        let path = socket_path("tls-connect");
        let server = start_unix_server_with(http_handler, &path, server_options(&leaf))
            .await
            .unwrap();
        (server, Via::Unix(path))
    } else {
        let server = start_server_with(http_handler, "127.0.0.1", 0, server_options(&leaf))
            .await
            .unwrap();
        let addr = server.sockets()[0];
        (server, Via::Tcp(addr))
    };
    let (proto, s) = MyProto::new(false);
    let config = trusting(&ca).server_hostname("127.0.0.1");
    let (t, _p) = connect(&via, proto, config).await.unwrap();
    check_tls_info(&t, &via);
    t.write(b"GET / HTTP/1.0\r\nHost: example.com\r\n\r\n")
        .unwrap();
    wait_until(|| s.borrow().state == "CLOSED").await;
    assert!(s.borrow().nbytes > 0);
    t.close();

    match ClientConfig::new() {
        Err(e) => eprintln!("skipped the system trust store part: {e}"),
        Ok(system) => {
            let e = connect(
                &via,
                MyProto::new(false).0,
                system.server_hostname("127.0.0.1"),
            )
            .await
            .map(|_| ())
            .unwrap_err();
            assert_eq!(
                tls_kind(&e),
                Some(TlsErrorKind::UntrustedCertificate),
                "{e}"
            );
        }
    }
    server.close();
}

#[aloop::test]
async fn events_event_loop_create_ssl_connection() {
    ssl_connection(false).await;
}

#[aloop::test]
async fn events_event_loop_create_ssl_unix_connection() {
    ssl_connection(true).await;
}

/// A TLS server's protocol gets the client's bytes; the client sees the TLS details.
async fn server_ssl(via_unix: Option<PathBuf>) {
    let (ca, leaf) = localhost();
    let (server, via, states) = proto_server(via_unix, &leaf).await;
    let config = trusting(&ca).server_hostname("localhost");
    let (client, _p) = connect(&via, MyProto::new(false).0, config).await.unwrap();
    client.write(b"xxx").unwrap();
    wait_until(|| {
        states
            .borrow()
            .first()
            .is_some_and(|s| s.borrow().nbytes > 0)
    })
    .await;
    let s = states.borrow()[0].clone();
    assert_eq!(s.borrow().state, "CONNECTED");
    assert_eq!(s.borrow().nbytes, 3);
    check_tls_info(&client, &via);
    s.borrow().transport.clone().unwrap().close();
    wait_until(|| s.borrow().state == "CLOSED").await;
    client.close();
    server.close();
}

#[aloop::test]
async fn events_event_loop_create_server_ssl() {
    server_ssl(None).await;
}

#[aloop::test]
async fn events_event_loop_create_unix_server_ssl() {
    server_ssl(Some(socket_path("tls-server"))).await;
}

/// A client that does not trust the server's CA fails the handshake with "certificate
/// verify failed"; the server's protocol is never connected.
async fn server_ssl_verify_failed(via_unix: Option<PathBuf>) {
    let (_ca, leaf) = localhost();
    let (server, via, states) = proto_server(via_unix, &leaf).await;
    let stranger = TestCa::new("nobody's CA");
    let config = trusting(&stranger).server_hostname("invalid");
    let e = connect(&via, MyProto::new(false).0, config)
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(
        tls_kind(&e),
        Some(TlsErrorKind::UntrustedCertificate),
        "{e}"
    );
    aloop::sleep(Duration::from_millis(50)).await;
    assert!(states
        .borrow()
        .iter()
        .all(|s| s.borrow().transport.is_none() && s.borrow().state != "CONNECTED"));
    server.close();
}

#[aloop::test]
async fn events_event_loop_create_server_ssl_verify_failed() {
    server_ssl_verify_failed(None).await;
}

#[aloop::test]
async fn events_event_loop_create_unix_server_ssl_verify_failed() {
    server_ssl_verify_failed(Some(socket_path("tls-unknown-ca"))).await;
}

/// The CA is trusted but the certificate is for `localhost`, not `127.0.0.1`: the
/// handshake fails on the host name.
#[aloop::test]
async fn events_event_loop_create_server_ssl_match_failed() {
    let ca = TestCa::new("aloop test CA");
    let leaf = ca.leaf(&["localhost"]);
    let (server, via, states) = proto_server(None, &leaf).await;
    let e = connect(&via, MyProto::new(false).0, trusting(&ca))
        .await
        .map(|_| ())
        .unwrap_err();
    assert_eq!(tls_kind(&e), Some(TlsErrorKind::HostnameMismatch), "{e}");
    aloop::sleep(Duration::from_millis(50)).await;
    assert!(states
        .borrow()
        .iter()
        .all(|s| s.borrow().transport.is_none()));
    server.close();
}

/// The CA is trusted and the name matches: the connection is made and the client sees
/// the server's certificate and the name it asked for.
async fn server_ssl_verified(via_unix: Option<PathBuf>) {
    let (ca, leaf) = localhost();
    let (server, via, states) = proto_server(via_unix, &leaf).await;
    let config = trusting(&ca).server_hostname("localhost");
    let (client, _p) = connect(&via, MyProto::new(false).0, config).await.unwrap();
    wait_until(|| {
        states
            .borrow()
            .first()
            .is_some_and(|s| s.borrow().state == "CONNECTED")
    })
    .await;
    check_tls_info(&client, &via);
    assert_eq!(
        client.tls_info().unwrap().server_name.as_deref(),
        Some("localhost")
    );
    let s = states.borrow()[0].clone();
    s.borrow().transport.clone().unwrap().close();
    client.close();
    server.close();
    wait_until(|| s.borrow().state == "CLOSED").await;
}

#[aloop::test]
async fn events_event_loop_create_server_ssl_verified() {
    server_ssl_verified(None).await;
}

#[aloop::test]
async fn events_event_loop_create_unix_server_ssl_verified() {
    server_ssl_verified(Some(socket_path("tls-verified"))).await;
}

/// `test_connect_accepted_socket` with a TLS server context and a TLS client.
/// *Difference*: aloop's `connect_accepted_socket` has no `ssl` argument; the accepted
/// connection is upgraded with `loop.start_tls` before the loop runs. The client is an
/// aloop stream client on a thread of its own (CPython's is a blocking `SSLSocket`).
/// Reading is paused by hand before `start_tls` and resumed after it: `start_tls`
/// pauses reading only when its future first runs, after the connection's read task
/// has already taken the ClientHello as plain data (reported to the lead).
#[test]
fn events_event_loop_ssl_connect_accepted_socket() {
    let (ca, leaf) = localhost();
    let client_config = trusting(&ca).server_hostname("localhost");
    let server_config =
        ServerConfig::from_pem(leaf.cert_pem.as_bytes(), leaf.key_pem.as_bytes()).unwrap();
    let client = move |addr: SocketAddr, message: &'static [u8]| {
        aloop::run(async move {
            let options = ConnectOptions {
                ssl: Some(client_config),
                ..Default::default()
            };
            let (r, w) = aloop::open_connection_with("127.0.0.1", addr.port(), options)
                .await
                .unwrap();
            w.write(message).unwrap();
            let response = within(r.read(99)).await.unwrap();
            w.close();
            let _ = within(w.wait_closed()).await;
            response
        })
    };
    let upgrade = move |lp: &aloop::LoopRef, t: &Transport| {
        t.pause_reading();
        let handshake = lp.start_tls(t, server_config);
        lp.run_until_complete(handshake).unwrap().unwrap();
        t.resume_reading();
    };
    super::connections::accepted_socket(client, Some(Box::new(upgrade)));
}

async fn within<T>(fut: impl std::future::Future<Output = T>) -> T {
    aloop::timeout(Some(Duration::from_secs(10)), fut)
        .await
        .expect("no answer within 10 s")
}
