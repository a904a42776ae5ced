//! `SslProtoHandshakeTests`: CPython drives its private `SSLProtocol` with a mocked
//! transport and SSL object; here each outcome is shown on a real connection (a peer
//! that ends or resets the connection during the handshake, a connect given up during
//! the handshake, a transport closed while data still comes). Neighbour: `start_tls.rs`.

use std::cell::RefCell;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use aloop::{get_running_loop, ConnectOptions, ServerOptions, StreamReader, StreamWriter};
use aloop_tests::{record_exceptions, Log};

use super::{bounded, join, read_until_gone, tcp_server, tls_pair, until, Recorder};

fn tls_options(config: aloop::tls::ClientConfig) -> ConnectOptions {
    ConnectOptions {
        ssl: Some(config),
        ..Default::default()
    }
}

/// asyncio refuses a handshake timeout of zero (ValueError, "a positive number"); the
/// builders panic, as a constructor given an impossible value does.
#[test]
fn sslproto_ssl_proto_handshake_handshake_timeout_zero() {
    let (server, client) = tls_pair();
    let client_refused = catch_unwind(AssertUnwindSafe(|| {
        client.handshake_timeout(Duration::ZERO)
    }))
    .is_err();
    let server_refused = catch_unwind(AssertUnwindSafe(|| {
        server.handshake_timeout(Duration::ZERO)
    }))
    .is_err();
    assert!(
        client_refused && server_refused,
        "a zero handshake timeout was accepted"
    );
}

/// The peer ends the connection (FIN) in the middle of the handshake: the connect
/// fails and no protocol is made. Difference (docs/tls.md, truncation): the error is
/// `UnexpectedEof` ("the peer closed the connection during the TLS handshake"), aloop's
/// kind for a TLS peer that ends without a close_notify; asyncio's is
/// ConnectionResetError.
#[aloop::test]
async fn sslproto_ssl_proto_handshake_eof_received_waiter() {
    let lp = get_running_loop().unwrap();
    let (_, client) = tls_pair();
    let (addr, server) = tcp_server(|mut sock| {
        let mut hello = [0u8; 64];
        let _ = std::io::Read::read(&mut sock, &mut hello);
        sock.shutdown(std::net::Shutdown::Write).unwrap();
        read_until_gone(&mut sock)
    });
    let proto = Recorder::default();
    let p = proto.clone();
    let err = bounded(lp.create_connection_with(
        move || p,
        "127.0.0.1",
        addr.port(),
        tls_options(client),
    ))
    .await
    .err()
    .expect("the handshake cannot succeed");
    assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{err:?}");
    assert_eq!(proto.0.borrow().made, 0);
    assert!(join(server).await);
}

/// The connection is lost (a reset) during the handshake: the connect fails with that
/// error instead of waiting forever (asyncio issue 472).
#[aloop::test]
async fn sslproto_ssl_proto_handshake_connection_lost() {
    let lp = get_running_loop().unwrap();
    let (_, client) = tls_pair();
    let (addr, server) = tcp_server(|mut sock| {
        let mut hello = [0u8; 64];
        let _ = std::io::Read::read(&mut sock, &mut hello);
        // SO_LINGER 0: closing sends a reset.
        socket2::SockRef::from(&sock)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
    });
    let err = bounded(lp.create_connection_with(
        Recorder::default,
        "127.0.0.1",
        addr.port(),
        tls_options(client),
    ))
    .await
    .err()
    .expect("the handshake cannot succeed");
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err:?}");
    join(server).await;
}

/// Giving up a connect during the handshake closes its socket (bpo-29743: it leaked):
/// the peer sees the connection end. Nothing is reported to the exception handler.
#[aloop::test]
async fn sslproto_ssl_proto_handshake_close_during_handshake() {
    let lp = get_running_loop().unwrap();
    let log = Log::new();
    record_exceptions(&lp, &log);
    let (_, client) = tls_pair();
    let (addr, server) = tcp_server(|mut sock| read_until_gone(&mut sock));
    let connecting = lp.create_connection_with(
        Recorder::default,
        "127.0.0.1",
        addr.port(),
        tls_options(client),
    );
    let gave_up = aloop::timeout(Duration::from_millis(200), connecting).await;
    assert!(gave_up.is_err(), "the silent server finished a handshake");
    assert!(join(server).await, "the socket stayed open");
    log.assert_eq(&[]);
}

/// Data still arriving after our `close()` is not delivered, and nothing is reported
/// (asyncio's `buffer_updated` after closing must not raise).
#[aloop::test]
async fn sslproto_ssl_proto_handshake_data_received_after_closing() {
    let lp = get_running_loop().unwrap();
    let log = Log::new();
    record_exceptions(&lp, &log);
    let (server_tls, client) = tls_pair();
    let options = ServerOptions {
        ssl: Some(server_tls),
        ..Default::default()
    };
    let server = aloop::start_server_with(
        |_r: StreamReader, w: StreamWriter| async move {
            // Sends until the client is gone (bounded, in case it never goes).
            for _ in 0..4096 {
                if w.write(&[b'x'; 16 * 1024]).is_err() || w.drain().await.is_err() {
                    break;
                }
            }
        },
        "127.0.0.1",
        0,
        options,
    )
    .await
    .unwrap();
    let proto = Recorder::default();
    let p = proto.clone();
    let (transport, _) = bounded(lp.create_connection_with(
        move || p,
        "127.0.0.1",
        server.sockets()[0].port(),
        tls_options(client),
    ))
    .await
    .unwrap();
    until(|| !proto.data().is_empty()).await;
    transport.close();
    let at_close = proto.data().len();
    until(|| proto.lost().is_some()).await;
    assert_eq!(proto.data().len(), at_close, "data delivered after close()");
    server.close();
    log.assert_eq(&[]);
}

/// Difference (docs/asyncio-mapping.md, `transport.write`): a `write` after `close()`
/// fails with `BrokenPipe` (asyncio ignores it silently); it does not panic, and nothing
/// of it reaches the peer.
#[aloop::test]
async fn sslproto_ssl_proto_handshake_write_after_closing() {
    let lp = get_running_loop().unwrap();
    let (server_tls, client) = tls_pair();
    let options = ServerOptions {
        ssl: Some(server_tls),
        ..Default::default()
    };
    let received: Rc<RefCell<Option<usize>>> = Rc::default();
    let got = received.clone();
    let server = aloop::start_server_with(
        move |r: StreamReader, _w: StreamWriter| {
            let got = got.clone();
            async move {
                let all = r.read_to_eof().await?;
                *got.borrow_mut() = Some(all.len());
                Ok::<_, io::Error>(())
            }
        },
        "127.0.0.1",
        0,
        options,
    )
    .await
    .unwrap();
    let (transport, _) = bounded(lp.create_connection_with(
        Recorder::default,
        "127.0.0.1",
        server.sockets()[0].port(),
        tls_options(client),
    ))
    .await
    .unwrap();
    transport.close();
    let err = transport.write(b"data").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err:?}");
    until(|| received.borrow().is_some()).await;
    assert_eq!(*received.borrow(), Some(0));
    server.close();
}
