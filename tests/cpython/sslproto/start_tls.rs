//! `BaseStartTLS`: `loop.start_tls` on a client or server protocol, TLS connections
//! made by `create_connection` / `open_connection`, and how they fail (a handshake that
//! never ends, an untrusted certificate, a corrupted record). Neighbour: `handshake.rs`.

use std::cell::RefCell;
use std::io;
use std::net::{Shutdown, TcpStream};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aloop::tls::{ClientConfig, TlsError, TlsErrorKind};
use aloop::{
    get_running_loop, Buffered, BufferedProtocol, ConnectOptions, ServerOptions, StreamReader,
    StreamWriter, Transport,
};
use aloop_tests::tls_certs::TestCa;
use aloop_tests::{record_exceptions, Log};

use super::{
    bounded, client_tls, hello, join, read_until_gone, recv_all, send, server_tls, tcp_server,
    tls_pair, until, Recorder, LIMIT, PAYLOAD_SIZE,
};

fn tls_options(config: ClientConfig) -> ConnectOptions {
    ConnectOptions {
        ssl: Some(config),
        ..Default::default()
    }
}

/// A buffered protocol with a fixed buffer, recording what lands in it.
struct FixedBuffer {
    buf: Vec<u8>,
    data: Rc<RefCell<Vec<u8>>>,
    made: Rc<RefCell<usize>>,
    lost: Rc<RefCell<Option<Option<io::Error>>>>,
}

impl FixedBuffer {
    fn new(size: usize) -> FixedBuffer {
        FixedBuffer {
            buf: vec![0; size],
            data: Rc::default(),
            made: Rc::default(),
            lost: Rc::default(),
        }
    }

    /// Another handle on the same records, with its own buffer of the same size.
    fn share(&self) -> FixedBuffer {
        FixedBuffer {
            buf: vec![0; self.buf.len()],
            data: self.data.clone(),
            made: self.made.clone(),
            lost: self.lost.clone(),
        }
    }
}

impl BufferedProtocol for FixedBuffer {
    fn connection_made(&mut self, _transport: Transport) {
        *self.made.borrow_mut() += 1;
    }

    fn get_buffer(&mut self, _size_hint: usize) -> &mut [u8] {
        &mut self.buf
    }

    fn buffer_updated(&mut self, nbytes: usize) {
        assert!(nbytes <= self.buf.len());
        self.data
            .borrow_mut()
            .extend_from_slice(&self.buf[..nbytes]);
    }

    fn connection_lost(&mut self, error: Option<io::Error>) {
        *self.lost.borrow_mut() = Some(error);
    }
}

/// Decrypted data fed to a buffered protocol whose buffer is smaller than the data, or
/// larger, arrives whole; a protocol whose buffer is empty ends the connection with an
/// "empty buffer" error (asyncio's RuntimeError). CPython tests its private helper
/// `_feed_data_to_buffered_proto`; here the data comes over TLS.
#[aloop::test]
async fn sslproto_base_start_tls_buf_feed_data() {
    let lp = get_running_loop().unwrap();
    let (server_tls, client) = tls_pair();
    let options = ServerOptions {
        ssl: Some(server_tls),
        ..Default::default()
    };
    let server = aloop::start_server_with(
        |r: StreamReader, w: StreamWriter| async move {
            // The client says which payload it wants.
            let line = r.readline().await?;
            w.write(&line[..line.len() - 1])?;
            w.close();
            w.wait_closed().await
        },
        "127.0.0.1",
        0,
        options,
    )
    .await
    .unwrap();
    let port = server.sockets()[0].port();
    for (size, payload) in [
        (1, &b"12345"[..]),
        (2, b"12345"),
        (2, b"1234"),
        (4, b"1234"),
        (100, b"12345"),
        (0, b"12345"),
    ] {
        let proto = FixedBuffer::new(size);
        let mine = proto.share();
        let (t, _) = bounded(lp.create_connection_with(
            move || Buffered(mine),
            "127.0.0.1",
            port,
            tls_options(client.clone()),
        ))
        .await
        .unwrap();
        t.write(&[payload, b"\n"].concat()).unwrap();
        until(|| proto.lost.borrow().is_some()).await;
        let lost = proto.lost.borrow_mut().take().unwrap();
        if size == 0 {
            let err = lost.expect("an empty buffer must end the connection with an error");
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err:?}");
            assert!(err.to_string().contains("empty buffer"), "{err}");
        } else {
            assert!(lost.is_none(), "{lost:?}");
            assert_eq!(*proto.data.borrow(), payload, "buffer of {size}");
        }
    }
    server.close();
}

/// How CPython's server threads end a TLS connection: TCP shutdown without a
/// close_notify. asyncio's client sees `eof_received` then `connection_lost(None)`;
/// aloop's sees the truncation (docs/tls.md): `connection_lost` with
/// `UnexpectedEof`, no `eof_received`.
fn assert_truncated(proto: &Recorder) {
    let ev = proto.0.borrow();
    assert!(!ev.eof);
    assert_eq!(ev.lost, Some(Some(io::ErrorKind::UnexpectedEof)));
}

/// Difference (docs/tls.md, truncation): a client protocol writes, upgrades with
/// `loop.start_tls` (while the server still reads the plain bytes), gets the server's
/// answer through TLS, writes again; `connection_made` only once. The server ends
/// without a close_notify: see [`assert_truncated`].
#[aloop::test]
async fn sslproto_base_start_tls_start_tls_client_reg_proto_1() {
    let lp = get_running_loop().unwrap();
    let (server_cfg, client) = tls_pair();
    let (addr, server) = tcp_server(move |mut sock| {
        assert_eq!(recv_all(&mut sock, PAYLOAD_SIZE).len(), PAYLOAD_SIZE);
        let mut tls = server_tls(&server_cfg, sock);
        send(&mut tls, b"O");
        assert_eq!(recv_all(&mut tls, PAYLOAD_SIZE).len(), PAYLOAD_SIZE);
        tls.sock.shutdown(Shutdown::Both).unwrap();
    });
    let proto = Recorder::default();
    let p = proto.clone();
    let (tr, _) = bounded(lp.create_connection(move || p, "127.0.0.1", addr.port()))
        .await
        .unwrap();
    tr.write(&hello()).unwrap();
    let new_tr = bounded(lp.start_tls(&tr, client)).await.unwrap();
    until(|| proto.data() == b"O").await;
    new_tr.write(&hello()).unwrap();
    until(|| proto.lost().is_some()).await;
    new_tr.close();
    join(server).await;
    assert_eq!(proto.0.borrow().made, 1);
    assert_truncated(&proto);
}

/// Difference (docs/tls.md, truncation): as `start_tls_client_reg_proto_1` with the
/// TLS connection made by `create_connection` (`ConnectOptions { ssl }`). CPython's
/// check that the client's SSL context is freed has no Rust form (no garbage collector:
/// the config is dropped with its last owner).
#[aloop::test]
async fn sslproto_base_start_tls_create_connection_memory_leak() {
    let lp = get_running_loop().unwrap();
    let (server_cfg, client) = tls_pair();
    let (addr, server) = tcp_server(move |sock| {
        let mut tls = server_tls(&server_cfg, sock);
        send(&mut tls, b"O");
        assert_eq!(recv_all(&mut tls, PAYLOAD_SIZE).len(), PAYLOAD_SIZE);
        tls.sock.shutdown(Shutdown::Both).unwrap();
    });
    let proto = Recorder::default();
    let p = proto.clone();
    let (tr, _) = bounded(lp.create_connection_with(
        move || p,
        "127.0.0.1",
        addr.port(),
        tls_options(client),
    ))
    .await
    .unwrap();
    until(|| proto.data() == b"O").await;
    tr.write(&hello()).unwrap();
    until(|| proto.lost().is_some()).await;
    tr.close();
    join(server).await;
    assert_eq!(proto.0.borrow().made, 1);
    assert_truncated(&proto);
}

/// A buffered protocol with a one-byte buffer across `loop.start_tls`: each answer comes
/// through the one byte; `connection_made` only once. Difference: aloop's transports
/// have no `set_protocol` (CPython swaps in a second protocol for the second answer; here
/// the first one reads it), and the end is a truncation (docs/tls.md).
#[aloop::test]
async fn sslproto_base_start_tls_start_tls_client_buf_proto_1() {
    let lp = get_running_loop().unwrap();
    let (server_cfg, client) = tls_pair();
    let (addr, server) = tcp_server(move |mut sock| {
        assert_eq!(recv_all(&mut sock, PAYLOAD_SIZE).len(), PAYLOAD_SIZE);
        let mut tls = server_tls(&server_cfg, sock);
        send(&mut tls, b"O");
        assert_eq!(recv_all(&mut tls, PAYLOAD_SIZE).len(), PAYLOAD_SIZE);
        send(&mut tls, b"2");
        assert_eq!(recv_all(&mut tls, PAYLOAD_SIZE).len(), PAYLOAD_SIZE);
        tls.sock.shutdown(Shutdown::Both).unwrap();
    });
    let proto = FixedBuffer::new(1);
    let mine = proto.share();
    let (tr, _) = bounded(lp.create_connection(move || Buffered(mine), "127.0.0.1", addr.port()))
        .await
        .unwrap();
    tr.write(&hello()).unwrap();
    let new_tr = bounded(lp.start_tls(&tr, client)).await.unwrap();
    until(|| *proto.data.borrow() == b"O").await;
    new_tr.write(&hello()).unwrap();
    until(|| *proto.data.borrow() == b"O2").await;
    new_tr.write(&hello()).unwrap();
    until(|| proto.lost.borrow().is_some()).await;
    new_tr.close();
    join(server).await;
    assert_eq!(*proto.made.borrow(), 1);
    let lost = proto.lost.borrow_mut().take().unwrap();
    assert_eq!(lost.map(|e| e.kind()), Some(io::ErrorKind::UnexpectedEof));
}

/// A `start_tls` whose server never answers, given up after half a second: the
/// connection is aborted (failed at first: it stayed open with reading paused; fixed).
#[aloop::test]
async fn sslproto_base_start_tls_start_tls_slow_client_cancel() {
    let lp = get_running_loop().unwrap();
    let (_, client) = tls_pair();
    let waits = Arc::new(AtomicBool::new(false));
    let flag = waits.clone();
    let (addr, server) = tcp_server(move |mut sock| {
        assert_eq!(recv_all(&mut sock, PAYLOAD_SIZE).len(), PAYLOAD_SIZE);
        flag.store(true, Ordering::SeqCst);
        read_until_gone(&mut sock)
    });
    let proto = Recorder::default();
    let p = proto.clone();
    let (tr, _) = bounded(lp.create_connection(move || p, "127.0.0.1", addr.port()))
        .await
        .unwrap();
    tr.write(&hello()).unwrap();
    until(|| waits.load(Ordering::SeqCst)).await;
    let gave_up = aloop::timeout(Duration::from_millis(500), lp.start_tls(&tr, client)).await;
    assert!(gave_up.is_err(), "the silent server finished a handshake");
    // The connection, left halfway into a handshake, is aborted (asyncio closes it).
    assert!(
        tr.is_closing(),
        "a cancelled start_tls left the connection open"
    );
    until(|| proto.lost().is_some()).await;
    assert_eq!(proto.0.borrow().made, 1);
    // The socket itself closes when the last handle of the transport goes, ours and the
    // protocol's (see the TLS findings in docs/conformance.md); then the server sees it.
    drop(tr);
    proto.0.borrow_mut().transport = None;
    assert!(join(server).await);
}

/// A server protocol writes, upgrades with `loop.start_tls` (server side, with a
/// handshake timeout), reads the client's message through TLS and answers. Difference
/// (docs/tls.md, truncation): the client (as CPython's) closes without a close_notify,
/// so the server protocol's `connection_lost` has `UnexpectedEof` where asyncio's has
/// `None`.
#[aloop::test]
async fn sslproto_base_start_tls_start_tls_server_1() {
    const ANSWER: &[u8] = b"answer";
    let lp = get_running_loop().unwrap();
    let (server_cfg, client_cfg) = tls_pair();
    let proto = Recorder::default();
    let p = RefCell::new(Some(proto.clone()));
    let server = bounded(lp.create_server(
        move || p.borrow_mut().take().expect("one connection only"),
        "127.0.0.1",
        0,
        ServerOptions::default(),
    ))
    .await
    .unwrap();
    let addr = server.sockets()[0];
    let client = std::thread::spawn(move || {
        let mut sock = TcpStream::connect_timeout(&addr, LIMIT).unwrap();
        sock.set_read_timeout(Some(LIMIT)).unwrap();
        sock.set_write_timeout(Some(LIMIT)).unwrap();
        assert_eq!(recv_all(&mut sock, PAYLOAD_SIZE).len(), PAYLOAD_SIZE);
        let mut tls = client_tls(&client_cfg, sock);
        send(&mut tls, &hello());
        recv_all(&mut tls, ANSWER.len())
    });
    until(|| proto.0.borrow().made == 1).await;
    let tr = proto.0.borrow().transport.clone().unwrap();
    tr.write(&hello()).unwrap();
    assert!(proto.data().is_empty());
    let new_tr = bounded(lp.start_tls(&tr, server_cfg.handshake_timeout(LIMIT)))
        .await
        .unwrap();
    until(|| proto.data().len() >= PAYLOAD_SIZE).await;
    new_tr.write(ANSWER).unwrap();
    until(|| proto.lost().is_some()).await;
    assert_eq!(proto.data(), hello());
    new_tr.close();
    server.close();
    bounded(server.wait_closed()).await;
    assert_eq!(join(client).await, ANSWER);
    assert_eq!(proto.lost(), Some(Some(io::ErrorKind::UnexpectedEof)));
}

/// A server that never answers the handshake: the connect is given up after half a
/// second (the handshake timeout is 10 s), the server sees the connection end, and
/// nothing is reported (Python issue 23197).
#[aloop::test]
async fn sslproto_base_start_tls_handshake_timeout() {
    let lp = get_running_loop().unwrap();
    let log = Log::new();
    record_exceptions(&lp, &log);
    let (_, client) = tls_pair();
    let (addr, server) = tcp_server(|mut sock| read_until_gone(&mut sock));
    let connecting = lp.create_connection_with(
        Recorder::default,
        "127.0.0.1",
        addr.port(),
        tls_options(client.handshake_timeout(Duration::from_secs(10))),
    );
    let gave_up = aloop::timeout(Duration::from_millis(500), connecting).await;
    assert!(gave_up.is_err(), "the silent server finished a handshake");
    assert!(
        join(server).await,
        "the server did not see the connection end"
    );
    log.assert_eq(&[]);
}

/// The handshake timeout itself (one second) against a server that never answers.
/// Difference (docs/tls.md, errors): the error is `TimedOut` carrying
/// `TlsErrorKind::HandshakeTimeout` (asyncio: ConnectionAbortedError, "SSL handshake is
/// taking longer than 1.0 seconds"). Nothing is reported to the exception handler.
#[aloop::test]
async fn sslproto_base_start_tls_create_connection_ssl_slow_handshake() {
    let lp = get_running_loop().unwrap();
    let log = Log::new();
    record_exceptions(&lp, &log);
    let (_, client) = tls_pair();
    let (addr, server) = tcp_server(|mut sock| read_until_gone(&mut sock));
    let client = client.handshake_timeout(Duration::from_secs(1));
    let err = bounded(aloop::open_connection_with(
        "127.0.0.1",
        addr.port(),
        tls_options(client),
    ))
    .await
    .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err:?}");
    let tls = TlsError::from_io(&err).expect("a TLS error");
    assert_eq!(tls.kind(), TlsErrorKind::HandshakeTimeout);
    assert!(join(server).await);
    log.assert_eq(&[]);
}

/// A client that verifies the server's certificate against a CA that did not sign it:
/// the connect fails with the certificate error (Python's SSLCertVerificationError).
#[aloop::test]
async fn sslproto_base_start_tls_create_connection_ssl_failed_certificate() {
    let (server_cfg, _) = tls_pair();
    let (addr, server) = tcp_server(move |sock| {
        let mut tls = server_tls(&server_cfg, sock);
        // The handshake fails on the client's alert; any error ends the thread.
        let _ = std::io::Read::read(&mut tls, &mut [0u8; 1]);
    });
    let stranger = TestCa::new("a CA nobody used");
    let client = ClientConfig::with_root_pem(stranger.cert_pem().as_bytes())
        .unwrap()
        .server_hostname("localhost");
    let err = bounded(aloop::open_connection_with(
        "127.0.0.1",
        addr.port(),
        tls_options(client),
    ))
    .await
    .unwrap_err();
    let tls = TlsError::from_io(&err).expect("a TLS error");
    assert_eq!(tls.kind(), TlsErrorKind::UntrustedCertificate, "{err}");
    join(server).await;
}

/// Plain bytes injected into the TLS stream by the server: the client's next read
/// fails with a TLS error (Python's SSLError).
#[aloop::test]
async fn sslproto_base_start_tls_start_tls_client_corrupted_ssl() {
    let (server_cfg, client) = tls_pair();
    let (addr, server) = tcp_server(move |sock| {
        let mut raw = sock.try_clone().unwrap();
        let mut tls = server_tls(&server_cfg, sock);
        send(&mut tls, b"A\n");
        assert_eq!(recv_all(&mut tls, 1), b"B");
        std::io::Write::write_all(&mut raw, b"please corrupt the SSL connection").unwrap();
        read_until_gone(&mut raw)
    });
    let (reader, writer) = bounded(aloop::open_connection_with(
        "127.0.0.1",
        addr.port(),
        tls_options(client),
    ))
    .await
    .unwrap();
    assert_eq!(bounded(reader.readline()).await.unwrap(), b"A\n");
    writer.write(b"B").unwrap();
    let err = bounded(reader.readline()).await.unwrap_err();
    let err: io::Error = err.into();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{err:?}");
    assert!(TlsError::from_io(&err).is_some(), "{err:?}");
    writer.close();
    assert!(join(server).await);
}
