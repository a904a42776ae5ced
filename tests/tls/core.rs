//! TLS through the facade (feature `tls`), both ends aloop: a connection's
//! handshake and what it negotiates (SNI, version, cipher, ALPN), the typed
//! certificate errors, the handshake timeout on both sides, bad PEM input, a client
//! speaking plain text, and a runtime serving TLS on every loop. STARTTLS is in
//! `starttls.rs`, endings and back-pressure in `endings_and_flow.rs`, interop with
//! other TLS stacks in `interop.rs`; the shared helpers in `common.rs`.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use aloop::tls::{ClientConfig, ServerConfig, TlsErrorKind};
use aloop::{StreamReader, StreamWriter};
use aloop_tests::tls_certs::{localhost, Leaf, TestCa};

#[allow(dead_code)] // each binary uses part of it
mod common;

use common::*;

#[test]
fn echo_with_sni_version_cipher_and_a_clean_end() {
    let (ca, leaf) = localhost();
    aloop::run(async move {
        let server = echo_server(server_config(&leaf)).await;
        let port = server.sockets()[0].port();
        // The default server_hostname is the host connected to.
        let options = tls_connect_options(client_config(&ca));
        let (r, w) = aloop::open_connection_with("localhost", port, options)
            .await
            .unwrap();
        w.write(b"one\ntwo\n").unwrap();
        assert_eq!(r.readline().await.unwrap(), b"one\n");
        assert_eq!(r.readline().await.unwrap(), b"two\n");
        let info = w.tls_info().unwrap();
        assert_eq!(info.server_name.as_deref(), Some("localhost"));
        assert_eq!(
            info.protocol_version,
            Some(aloop::tls::rustls::ProtocolVersion::TLSv1_3)
        );
        assert!(info.cipher_suite.is_some());
        assert_eq!(info.peer_certificates.len(), 1, "the server sent its leaf");
        assert_eq!(info.alpn_protocol, None);
        // Our end: close_notify, then the server closes with its own: a clean EOF.
        w.write_eof().unwrap();
        assert_eq!(r.read(100).await.unwrap(), b"");
        server.close();
        server.wait_closed().await;
    });
}

#[test]
fn alpn_is_negotiated_and_a_mismatch_is_its_own_error() {
    let (ca, leaf) = localhost();
    aloop::run(async move {
        let seen = Rc::new(RefCell::new(Vec::new()));
        let seen2 = seen.clone();
        let config = server_config(&leaf).alpn_protocols(&[b"h2", b"http/1.1"]);
        let server = aloop::start_server_with(
            move |_r: StreamReader, w: StreamWriter| {
                let seen = seen2.clone();
                async move {
                    let info = w.tls_info().unwrap();
                    seen.borrow_mut()
                        .push((info.alpn_protocol, info.server_name));
                }
            },
            "127.0.0.1",
            0,
            tls_server_options(config),
        )
        .await
        .unwrap();
        let port = server.sockets()[0].port();
        for (offer, expect) in [
            (&[&b"http/1.1"[..], b"h2"][..], &b"h2"[..]),
            (&[&b"http/1.1"[..]][..], &b"http/1.1"[..]),
        ] {
            let config = client_config(&ca)
                .server_hostname("localhost")
                .alpn_protocols(offer);
            let (_r, w) =
                aloop::open_connection_with("127.0.0.1", port, tls_connect_options(config))
                    .await
                    .unwrap();
            assert_eq!(w.tls_info().unwrap().alpn_protocol.as_deref(), Some(expect));
        }
        let config = client_config(&ca)
            .server_hostname("localhost")
            .alpn_protocols(&[b"spdy/1"]);
        let err = aloop::open_connection_with("127.0.0.1", port, tls_connect_options(config))
            .await
            .unwrap_err();
        assert_eq!(tls_kind(&err), TlsErrorKind::NoApplicationProtocol, "{err}");
        while seen.borrow().len() < 2 {
            aloop::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(
            *seen.borrow(),
            vec![
                (Some(b"h2".to_vec()), Some("localhost".to_owned())),
                (Some(b"http/1.1".to_vec()), Some("localhost".to_owned())),
            ],
            "the server sees the protocol and the SNI name"
        );
        server.close();
    });
}

/// Connects with `client` to a TLS server presenting `leaf`; the client's error.
fn failed_handshake(leaf: &Leaf, client: ClientConfig) -> io::Error {
    let server = server_config(leaf);
    aloop::run(async move {
        let server = echo_server(server).await;
        let port = server.sockets()[0].port();
        let err = aloop::open_connection_with("127.0.0.1", port, tls_connect_options(client))
            .await
            .unwrap_err();
        server.close();
        server.wait_closed().await;
        err
    })
}

#[test]
fn a_wrong_hostname_is_a_hostname_mismatch() {
    let (ca, leaf) = localhost();
    let err = failed_handshake(&leaf, client_config(&ca).server_hostname("example.com"));
    assert_eq!(tls_kind(&err), TlsErrorKind::HostnameMismatch, "{err}");
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    assert!(err.to_string().contains("hostname mismatch"), "{err}");
}

#[test]
fn an_untrusted_certificate_is_untrusted() {
    let (_ca, leaf) = localhost();
    let other = TestCa::new("a CA nobody trusts here");
    let err = failed_handshake(&leaf, client_config(&other).server_hostname("localhost"));
    assert_eq!(tls_kind(&err), TlsErrorKind::UntrustedCertificate, "{err}");
}

#[test]
fn an_expired_certificate_is_expired() {
    let ca = TestCa::new("aloop test CA");
    let leaf = ca.expired_leaf(&["localhost"]);
    let err = failed_handshake(&leaf, client_config(&ca).server_hostname("localhost"));
    assert_eq!(tls_kind(&err), TlsErrorKind::ExpiredCertificate, "{err}");
}

#[test]
fn a_client_handshake_times_out_against_a_peer_that_never_speaks() {
    let (ca, _leaf) = localhost();
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let err = aloop::run(async move {
        let config = client_config(&ca)
            .server_hostname("localhost")
            .handshake_timeout(Duration::from_millis(200));
        aloop::open_connection_with("127.0.0.1", port, tls_connect_options(config))
            .await
            .unwrap_err()
    });
    assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    assert_eq!(tls_kind(&err), TlsErrorKind::HandshakeTimeout);
    drop(silent);
}

#[test]
fn a_server_drops_a_client_that_never_finishes_its_handshake() {
    let (_ca, leaf) = localhost();
    aloop::run(async move {
        let called = Rc::new(RefCell::new(false));
        let called2 = called.clone();
        let config = server_config(&leaf).handshake_timeout(Duration::from_millis(200));
        let server = aloop::start_server_with(
            move |_r: StreamReader, _w: StreamWriter| {
                *called2.borrow_mut() = true;
                async {}
            },
            "127.0.0.1",
            0,
            tls_server_options(config),
        )
        .await
        .unwrap();
        let port = server.sockets()[0].port();
        // A plain client that says nothing: the server must hang up on it.
        let (r, _w) = aloop::open_connection("127.0.0.1", port).await.unwrap();
        let got = aloop::wait_for(r.read_to_eof(), Duration::from_secs(20)).await;
        assert!(
            matches!(got, Ok(Ok(ref b)) if b.is_empty()) || matches!(got, Ok(Err(_))),
            "the server closed the connection: {got:?}"
        );
        assert!(!*called.borrow(), "the callback never ran");
        assert_eq!(server.active_connections(), 0);
        server.close();
    });
}

#[test]
fn bad_pem_and_missing_files_are_typed_errors() {
    let err = ServerConfig::from_pem(b"not pem", b"not pem").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let err =
        ServerConfig::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem").unwrap_err();
    assert_eq!(err.raw_os_error(), Some(2), "ENOENT kept: {err:?}");
    let err = ClientConfig::with_root_pem(b"").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    // A key that is not the certificate's.
    let (_ca, leaf) = localhost();
    let (_ca2, other) = localhost();
    let err =
        ServerConfig::from_pem(leaf.cert_pem.as_bytes(), other.key_pem.as_bytes()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
}

#[test]
fn a_runtime_serves_tls_on_every_loop() {
    let (ca, leaf) = localhost();
    let rt = aloop::Runtime::new(2).unwrap();
    let server = rt
        .start_server_with(
            || {
                |_r: StreamReader, w: StreamWriter| async move {
                    let me = std::thread::current().name().unwrap_or("?").to_owned();
                    w.write(format!("{me}\n").as_bytes())?;
                    w.close();
                    w.wait_closed().await
                }
            },
            "127.0.0.1",
            0,
            tls_server_options(server_config(&leaf)),
        )
        .unwrap();
    let port = server.local_addr().port();
    let loops = aloop::run(async move {
        let mut seen = std::collections::BTreeSet::new();
        // The kernel spreads connections over the listeners; ask until both answered.
        for _ in 0..200 {
            let config = client_config(&ca).server_hostname("localhost");
            let (r, _w) =
                aloop::open_connection_with("127.0.0.1", port, tls_connect_options(config))
                    .await
                    .unwrap();
            seen.insert(r.readline().await.unwrap());
            if seen.len() == 2 {
                break;
            }
        }
        seen
    });
    assert_eq!(
        loops.into_iter().collect::<Vec<_>>(),
        vec![b"aloop-loop-0\n".to_vec(), b"aloop-loop-1\n".to_vec()],
        "both loops served TLS connections"
    );
    assert!(server.shutdown(Duration::from_secs(5)));
}

#[test]
fn a_client_speaking_plain_text_to_a_tls_server_is_dropped_and_reported_in_debug_mode() {
    let (ca, leaf) = localhost();
    aloop::run(async move {
        let lp = aloop::get_running_loop().unwrap();
        lp.set_debug(true);
        let reports = Rc::new(RefCell::new(Vec::new()));
        let reports2 = reports.clone();
        lp.set_exception_handler(Some(move |ctx: &aloop::ExceptionContext| {
            reports2.borrow_mut().push(ctx.message.clone());
        }));
        let server = echo_server(server_config(&leaf)).await;
        let port = server.sockets()[0].port();
        let (r, w) = aloop::open_connection("127.0.0.1", port).await.unwrap();
        w.write(b"GET / HTTP/1.0\r\n\r\n").unwrap();
        // The server answers with an alert (or nothing) and hangs up.
        let _ = aloop::wait_for(r.read_to_eof(), Duration::from_secs(20))
            .await
            .expect("the server hung up");
        until(|| !reports.borrow().is_empty()).await;
        let report = reports.borrow()[0].clone();
        assert!(
            report.starts_with("TLS handshake failed with 127.0.0.1:"),
            "{report}"
        );
        // The server keeps serving TLS clients.
        let (r, w) = connect_localhost(&ca, port).await;
        w.write(b"still here\n").unwrap();
        assert_eq!(r.readline().await.unwrap(), b"still here\n");
        w.close();
        server.close();
        server.wait_closed().await;
    });
}
