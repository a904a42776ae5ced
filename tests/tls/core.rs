//! TLS through the facade (feature `tls`): both ends are aloop, the certificates come
//! from `aloop_tests::tls_certs`. ALPN, the typed certificate errors, the handshake
//! timeout on both sides, STARTTLS for streams and for protocols (a cancelled one
//! aborts the connection), endings (close_notify, truncation, half-close),
//! back-pressure through TLS, and records larger than the socket buffers. Interop with other TLS stacks is in `interop.rs`.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use aloop::tls::{ClientConfig, ServerConfig, TlsError, TlsErrorKind};
use aloop::{ConnectOptions, ServerOptions, StreamReader, StreamWriter};
use aloop_tests::tls_certs::{localhost, Leaf, TestCa};

fn server_config(leaf: &Leaf) -> ServerConfig {
    ServerConfig::from_pem(leaf.cert_pem.as_bytes(), leaf.key_pem.as_bytes()).unwrap()
}

fn client_config(ca: &TestCa) -> ClientConfig {
    ClientConfig::with_root_pem(ca.cert_pem().as_bytes()).unwrap()
}

fn tls_server_options(config: ServerConfig) -> ServerOptions {
    ServerOptions {
        ssl: Some(config),
        ..Default::default()
    }
}

fn tls_connect_options(config: ClientConfig) -> ConnectOptions {
    ConnectOptions {
        ssl: Some(config),
        ..Default::default()
    }
}

/// A TLS server on 127.0.0.1 presenting `leaf`, running `callback` per connection.
async fn tls_server<F, Fut>(leaf: &Leaf, callback: F) -> aloop::Server
where
    F: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: std::future::Future + 'static,
    Fut::Output: aloop::ClientOutcome,
{
    aloop::start_server_with(
        callback,
        "127.0.0.1",
        0,
        tls_server_options(server_config(leaf)),
    )
    .await
    .unwrap()
}

/// A TLS connection to 127.0.0.1:`port`, trusting `ca`, checked against "localhost".
async fn connect_localhost(ca: &TestCa, port: u16) -> (StreamReader, StreamWriter) {
    let config = client_config(ca).server_hostname("localhost");
    aloop::open_connection_with("127.0.0.1", port, tls_connect_options(config))
        .await
        .unwrap()
}

/// An echo server over TLS: lines back until end-of-stream, then close.
async fn echo_server(config: ServerConfig) -> aloop::Server {
    aloop::start_server_with(
        |r: StreamReader, w: StreamWriter| async move {
            loop {
                let line = r.readline().await?;
                if line.is_empty() {
                    break;
                }
                w.write(&line)?;
                w.drain().await?;
            }
            w.close();
            w.wait_closed().await
        },
        "127.0.0.1",
        0,
        tls_server_options(config),
    )
    .await
    .unwrap()
}

fn tls_kind(e: &io::Error) -> TlsErrorKind {
    TlsError::from_io(e)
        .unwrap_or_else(|| panic!("not a TLS error: {e:?}"))
        .kind()
}

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
fn starttls_on_streams_both_sides() {
    let (ca, leaf) = localhost();
    let server_tls = server_config(&leaf);
    aloop::run(async move {
        let server = aloop::start_server(
            move |r: StreamReader, w: StreamWriter| {
                let server_tls = server_tls.clone();
                async move {
                    assert_eq!(r.readline().await?, b"EHLO\n");
                    w.write(b"250 ok\n")?;
                    assert_eq!(r.readline().await?, b"STARTTLS\n");
                    w.write(b"220 go ahead\n")?;
                    w.start_tls(server_tls).await?;
                    let line = r.readline().await?;
                    w.write(&line.to_ascii_uppercase())?;
                    w.close();
                    w.wait_closed().await
                }
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let port = server.sockets()[0].port();
        let (r, w) = aloop::open_connection("127.0.0.1", port).await.unwrap();
        w.write(b"EHLO\n").unwrap();
        assert_eq!(r.readline().await.unwrap(), b"250 ok\n");
        assert!(w.tls_info().is_none());
        w.write(b"STARTTLS\n").unwrap();
        assert_eq!(r.readline().await.unwrap(), b"220 go ahead\n");
        w.start_tls(client_config(&ca).server_hostname("localhost"))
            .await
            .unwrap();
        assert!(w.tls_info().is_some());
        w.write(b"secret words\n").unwrap();
        assert_eq!(r.readline().await.unwrap(), b"SECRET WORDS\n");
        assert_eq!(r.read_to_eof().await.unwrap(), b"");
        // A second upgrade of the same connection is refused.
        let again = w
            .start_tls(client_config(&ca).server_hostname("localhost"))
            .await;
        assert!(again.is_err());
        server.close();
        server.wait_closed().await;
    });
}

#[test]
fn a_client_start_tls_without_a_hostname_is_refused() {
    let (ca, _leaf) = localhost();
    aloop::run(async move {
        let server = aloop::start_server(
            |r: StreamReader, _w: StreamWriter| async move {
                let _ = r.read_to_eof().await;
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let (_r, w) = aloop::open_connection("127.0.0.1", server.sockets()[0].port())
            .await
            .unwrap();
        let err = w.start_tls(client_config(&ca)).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("server_hostname"), "{err}");
        w.close();
        server.close();
    });
}

/// A TLS server on a plain thread (rustls over std's blocking socket): sends `data`,
/// then ends the TCP connection without a close_notify.
fn truncating_server(leaf: &Leaf, data: &'static [u8]) -> (u16, std::thread::JoinHandle<()>) {
    let config = server_config(leaf).rustls_config().clone();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let thread = std::thread::spawn(move || {
        let (mut sock, _) = listener.accept().unwrap();
        let conn = aloop::tls::rustls::ServerConnection::new(config).unwrap();
        let mut tls = aloop::tls::rustls::StreamOwned::new(conn, sock.try_clone().unwrap());
        use std::io::Write;
        tls.write_all(data).unwrap();
        tls.flush().unwrap();
        sock.flush().unwrap();
        sock.shutdown(std::net::Shutdown::Write).unwrap();
        // Wait for the client to hang up before closing (no reset).
        let _ = std::io::Read::read(&mut sock, &mut [0; 64]);
    });
    (port, thread)
}

#[test]
fn a_peer_ending_without_close_notify_is_truncation() {
    let (ca, leaf) = localhost();
    let (port, thread) = truncating_server(&leaf, b"partial data\n");
    aloop::run(async move {
        let (r, w) = connect_localhost(&ca, port).await;
        assert_eq!(r.readline().await.unwrap(), b"partial data\n");
        let err = r.read(100).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert_eq!(tls_kind(&err), TlsErrorKind::Truncated);
        w.close();
    });
    thread.join().unwrap();
}

#[test]
fn half_close_the_peer_answers_after_our_close_notify() {
    let (ca, leaf) = localhost();
    aloop::run(async move {
        let server = tls_server(&leaf, |r: StreamReader, w: StreamWriter| async move {
            // Everything until the client's close_notify, then the answer.
            let all = r.read_to_eof().await?;
            w.write(format!("got {} bytes\n", all.len()).as_bytes())?;
            w.close();
            w.wait_closed().await
        })
        .await;
        let port = server.sockets()[0].port();
        let (r, w) = connect_localhost(&ca, port).await;
        w.write(&[7u8; 100_000]).unwrap();
        w.write_eof().unwrap();
        assert!(w.write(b"more").is_err());
        assert_eq!(r.readline().await.unwrap(), b"got 100000 bytes\n");
        assert_eq!(r.read_to_eof().await.unwrap(), b"");
        server.close();
        server.wait_closed().await;
    });
}

/// A pattern that shows a lost, repeated or reordered byte.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

#[test]
fn a_slow_reader_makes_drain_wait_and_the_buffer_stays_bounded() {
    let (ca, leaf) = localhost();
    const TOTAL: usize = 32 << 20;
    aloop::run(async move {
        let progress = Rc::new(RefCell::new((0usize, 0usize))); // (written, max buffered)
        let progress2 = progress.clone();
        let server = tls_server(&leaf, move |_r: StreamReader, w: StreamWriter| {
            let progress = progress2.clone();
            async move {
                let data = pattern(TOTAL, 1);
                for chunk in data.chunks(64 * 1024) {
                    w.write(chunk)?;
                    w.drain().await?;
                    let mut p = progress.borrow_mut();
                    p.0 += chunk.len();
                    p.1 = p.1.max(w.get_write_buffer_size());
                }
                w.close();
                w.wait_closed().await
            }
        })
        .await;
        let port = server.sockets()[0].port();
        let (r, _w) = connect_localhost(&ca, port).await;
        // Not reading: the server must stall well before the end.
        aloop::sleep(Duration::from_millis(300)).await;
        let stalled_at = progress.borrow().0;
        assert!(
            stalled_at < TOTAL / 2,
            "drain let {stalled_at} of {TOTAL} bytes be written to a reader that reads nothing"
        );
        let got = r.read_to_eof().await.unwrap();
        assert_eq!(got.len(), TOTAL);
        assert!(got == pattern(TOTAL, 1), "every byte, in order");
        let (written, max_buffered) = *progress.borrow();
        assert_eq!(written, TOTAL);
        assert!(
            max_buffered <= aloop::DEFAULT_HIGH_WATER,
            "after drain the buffer held {max_buffered} bytes, above the high-water mark"
        );
        server.close();
        server.wait_closed().await;
    });
}

#[test]
fn sixteen_mib_each_way_in_large_writes() {
    let (ca, leaf) = localhost();
    const LEN: usize = 16 << 20;
    aloop::run(async move {
        let server = tls_server(&leaf, |r: StreamReader, w: StreamWriter| async move {
            // Read it all (the client half-closes), then send it back in one write.
            let all = r.read_to_eof().await?;
            w.write(&all)?;
            w.close();
            w.wait_closed().await
        })
        .await;
        let port = server.sockets()[0].port();
        let (r, w) = connect_localhost(&ca, port).await;
        let data = pattern(LEN, 9);
        // One write far larger than the socket's buffer and a TLS record.
        w.write(&data).unwrap();
        w.write_eof().unwrap();
        let back = r.read_to_eof().await.unwrap();
        assert_eq!(back.len(), LEN);
        assert!(back == data);
        server.close();
        server.wait_closed().await;
    });
}

/// A protocol that collects what it receives and notes the end; as a server
/// (`echo`), it answers each line upper-cased.
#[derive(Default)]
struct Collect {
    echo: bool,
    got: Vec<u8>,
    transport: Option<aloop::Transport>,
    lost: bool,
}

impl Collect {
    fn echoing() -> Collect {
        Collect {
            echo: true,
            ..Default::default()
        }
    }
}

impl aloop::Protocol for Collect {
    fn connection_made(&mut self, transport: aloop::Transport) {
        self.transport = Some(transport);
    }
    fn data_received(&mut self, data: &[u8]) {
        self.got.extend_from_slice(data);
        if self.echo && self.got.ends_with(b"\n") {
            if let Some(t) = &self.transport {
                let _ = t.write(&self.got.to_ascii_uppercase());
            }
            self.got.clear();
        }
    }
    fn connection_lost(&mut self, _error: Option<io::Error>) {
        self.lost = true;
    }
}

async fn until(mut done: impl FnMut() -> bool) {
    while !done() {
        aloop::sleep(Duration::from_millis(5)).await;
    }
}

#[test]
fn protocols_over_tls_create_server_and_create_connection() {
    let (ca, leaf) = localhost();
    aloop::run(async move {
        let lp = aloop::get_running_loop().unwrap();
        let options = tls_server_options(server_config(&leaf));
        let server = lp
            .create_server(Collect::echoing, "127.0.0.1", 0, options)
            .await
            .unwrap();
        let port = server.sockets()[0].port();
        let (r, w) = connect_localhost(&ca, port).await;
        w.write(b"hello protocol\n").unwrap();
        assert_eq!(r.readline().await.unwrap(), b"HELLO PROTOCOL\n");

        // And a client protocol, with create_connection_with.
        let config = client_config(&ca).server_hostname("localhost");
        let (t, p) = lp
            .create_connection_with(
                Collect::default,
                "127.0.0.1",
                port,
                tls_connect_options(config),
            )
            .await
            .unwrap();
        assert!(t.tls_info().is_some());
        t.write(b"abc\n").unwrap();
        until(|| p.borrow().got.len() >= 4).await;
        assert_eq!(p.borrow().got, b"ABC\n");
        t.close();
        until(|| p.borrow().lost).await;
        server.close();
    });
}

#[test]
fn loop_start_tls_upgrades_a_protocol_connection() {
    let (ca, leaf) = localhost();
    let server_tls = server_config(&leaf);
    aloop::run(async move {
        let lp = aloop::get_running_loop().unwrap();
        // The server speaks plain text first, then upgrades (streams' start_tls) and
        // echoes one line.
        let server = aloop::start_server(
            move |r: StreamReader, w: StreamWriter| {
                let server_tls = server_tls.clone();
                async move {
                    w.write(b"ready\n")?;
                    w.start_tls(server_tls).await?;
                    let line = r.readline().await?;
                    w.write(&line)?;
                    w.close();
                    w.wait_closed().await
                }
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let port = server.sockets()[0].port();
        // The client is a protocol, upgraded by loop.start_tls.
        let (t, p) = lp
            .create_connection(Collect::default, "127.0.0.1", port)
            .await
            .unwrap();
        until(|| p.borrow().got == b"ready\n").await;
        p.borrow_mut().got.clear();
        let config = client_config(&ca).server_hostname("localhost");
        let t = lp.start_tls(&t, config).await.unwrap();
        assert!(t.tls_info().is_some());
        assert!(t.is_reading(), "reading resumed after the handshake");
        t.write(b"over tls\n").unwrap();
        until(|| p.borrow().lost).await;
        assert_eq!(p.borrow().got, b"over tls\n", "the echo, decrypted");
        server.close();
        server.wait_closed().await;
    });
}

#[test]
fn a_cancelled_loop_start_tls_aborts_the_connection() {
    let (ca, _leaf) = localhost();
    aloop::run(async move {
        let lp = aloop::get_running_loop().unwrap();
        // A peer that never answers the handshake.
        let silent = aloop::start_server(
            |r: StreamReader, _w: StreamWriter| async move {
                let _ = r.read_to_eof().await;
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let (t, p) = lp
            .create_connection(Collect::default, "127.0.0.1", silent.sockets()[0].port())
            .await
            .unwrap();
        let config = client_config(&ca).server_hostname("localhost");
        let gave_up = aloop::timeout(Duration::from_millis(100), lp.start_tls(&t, config)).await;
        assert!(gave_up.is_err());
        // Halfway between plain text and TLS: aborted, as a failed handshake is.
        assert!(t.is_closing());
        until(|| p.borrow().lost).await;
        silent.close();
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
