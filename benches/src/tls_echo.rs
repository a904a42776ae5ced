//! Workload "tls-echo": echo.rs's echo over TLS 1.3, 127.0.0.1, 50 connections × 200
//! round trips of a 16 KiB message (one full TLS record), server and clients in the
//! same runtime and process. Every client checks every byte it gets back (the message
//! differs per connection and round), the total echoed must be 50 × 200 × 16 KiB, and
//! every connection must have agreed on TLS 1.3.
//!
//! Both sides use rustls 0.23 with its ring provider and its default cipher suites (so
//! both agree on TLS13_AES_256_GCM_SHA384), the certificate made at start by rcgen
//! (self-signed, for "localhost"; outside the timing). The timing starts before the
//! clients connect, as echo.rs's: the 50 handshakes are in it (a few ms of ~1 s).
//!
//! * aloop: its `tls` feature, written as an asyncio user writes it:
//!   `start_server_with(.., ServerOptions { ssl })`, whose callback does
//!   `read_into(&mut [u8; 16 KiB])` then `write` + `drain`; clients
//!   `open_connection_with(.., ConnectOptions { ssl })`, then `write` + `drain` +
//!   `readexactly_into`, and `close` + `wait_closed` at the end (close_notify).
//! * tokio (current_thread or multi_thread) with tokio-rustls, as its users write it:
//!   `TlsAcceptor::accept` in each connection's task, `read` then `write_all`; clients
//!   `TlsConnector::connect`, then `write_all` + `read_exact`, and `shutdown`.
//!
//! TCP_NODELAY on both sides (aloop's streams set it themselves, as asyncio does).
//! smol is not run: it has no TLS of its own to compare.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::{cpu_ns_threads, rt, Outcome, Runtime, Scale};

const CONNS: u64 = 50;
const FULL_ROUNDS: u64 = 200;
/// TLS's largest record payload: each message is one record each way.
const MSG: usize = 16 * 1024;
const SERVER_BUF: usize = 16 * 1024;
const HOST: &str = "localhost";

/// The server's certificate and key, in the forms each side loads them from.
struct Certs {
    cert_pem: String,
    key_pem: String,
    cert_der: CertificateDer<'static>,
    key_der: Vec<u8>,
}

fn certs() -> Certs {
    let made = rcgen::generate_simple_self_signed(vec![HOST.to_owned()])
        .expect("rcgen: a self-signed certificate");
    Certs {
        cert_pem: made.cert.pem(),
        key_pem: made.signing_key.serialize_pem(),
        cert_der: made.cert.der().clone(),
        key_der: made.signing_key.serialize_der(),
    }
}

/// The message of connection `conn` (differs per connection, so a misrouted reply
/// fails the check).
fn message(conn: u64) -> Vec<u8> {
    (0..MSG)
        .map(|i| (conn.wrapping_mul(131) ^ i as u64) as u8)
        .collect()
}

/// Stamps `round` into the message's first 8 bytes, so a stale reply fails the check.
fn stamp(m: &mut [u8], round: u64) {
    m[..8].copy_from_slice(&round.to_le_bytes());
}

/// `None` where the runtime has no TLS in this suite (smol).
pub fn run(runtime: Runtime, scale: Scale) -> Option<Outcome> {
    let rounds = scale.n(FULL_ROUNDS);
    let certs = certs();
    let (elapsed, cpu_ns, bytes, good) = match runtime {
        Runtime::Aloop => rt::aloop(aloop_tls_echo(rounds, certs)),
        Runtime::TokioCt | Runtime::TokioMt => rt::tokio(runtime, tokio_tls_echo(rounds, certs)),
        Runtime::Smol => return None,
    };
    let trips = CONNS * rounds;
    Some(
        Outcome::new(trips, elapsed, good && bytes == trips * MSG as u64)
            .with("round_trips", trips as f64)
            .with(
                "us_per_round_trip",
                elapsed.as_secs_f64() * 1e6 / trips as f64,
            )
            .with("cpu_us_per_round_trip", cpu_ns / 1e3 / trips as f64),
    )
}

/// (elapsed, CPU time of the process's threads meanwhile in ns, bytes echoed back and
/// checked, every byte matched and every connection spoke TLS 1.3). The CPU time is
/// what a loaded machine moves least: it leaves out the time other programs held the
/// cores.
type Echoed = (Duration, f64, u64, bool);

async fn aloop_tls_echo(rounds: u64, certs: Certs) -> Echoed {
    use aloop::tls::{ClientConfig, ServerConfig};
    use aloop::{ConnectOptions, ServerOptions, StreamReader, StreamWriter};
    let server_tls = ServerConfig::from_pem(certs.cert_pem.as_bytes(), certs.key_pem.as_bytes())
        .expect("aloop ServerConfig");
    let client_tls = ClientConfig::with_root_pem(certs.cert_pem.as_bytes())
        .expect("aloop ClientConfig")
        .server_hostname(HOST);
    // The connection handlers run as tasks of the server; each ends when its client
    // ends the session (`read_into` returns 0 at close_notify).
    let server = aloop::start_server_with(
        |reader: StreamReader, writer: StreamWriter| async move {
            let mut buf = vec![0u8; SERVER_BUF];
            loop {
                let n = reader.read_into(&mut buf).await?;
                if n == 0 {
                    break;
                }
                writer.write(&buf[..n])?;
                writer.drain().await?;
            }
            std::io::Result::Ok(())
        },
        "127.0.0.1",
        0,
        ServerOptions {
            ssl: Some(server_tls),
            ..Default::default()
        },
    )
    .await
    .expect("start_server_with on 127.0.0.1");
    let port = server.sockets()[0].port();
    let (t, cpu) = (Instant::now(), cpu_ns_threads("self"));
    let clients: Vec<_> = (0..CONNS)
        .map(|c| {
            let options = ConnectOptions {
                ssl: Some(client_tls.clone()),
                ..Default::default()
            };
            aloop::create_task(async move {
                let (reader, writer) = aloop::open_connection_with("127.0.0.1", port, options)
                    .await
                    .expect("open_connection_with (TLS)");
                let version = writer.tls_info().and_then(|i| i.protocol_version);
                let mut good = version == Some(rustls::ProtocolVersion::TLSv1_3);
                let mut bytes = 0;
                let mut m = message(c);
                let mut back = vec![0u8; MSG];
                for r in 0..rounds {
                    stamp(&mut m, r);
                    writer.write(&m).expect("client write");
                    writer.drain().await.expect("client drain");
                    reader
                        .readexactly_into(&mut back)
                        .await
                        .expect("client read");
                    good &= back == m;
                    bytes += MSG as u64;
                }
                writer.close();
                writer.wait_closed().await.expect("client close");
                (bytes, good)
            })
        })
        .collect();
    let (mut bytes, mut good) = (0, true);
    for c in clients {
        let (b, g) = c.await.expect("client task");
        bytes += b;
        good &= g;
    }
    let (elapsed, cpu) = (t.elapsed(), cpu_ns_threads("self") - cpu);
    server.close();
    (elapsed, cpu, bytes, good)
}

async fn tokio_tls_echo(rounds: u64, certs: Certs) -> Echoed {
    use tokio::net::{TcpListener, TcpStream};
    use tokio_rustls::{TlsAcceptor, TlsConnector};
    let server_config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![certs.cert_der.clone()],
            PrivateKeyDer::Pkcs8(certs.key_der.into()),
        )
        .expect("rustls ServerConfig");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(certs.cert_der).expect("a root certificate");
    let client_config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let acceptor = TlsAcceptor::from(Arc::new(server_config));
    let connector = TlsConnector::from(Arc::new(client_config));

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        for _ in 0..CONNS {
            let (s, _) = listener.accept().await.expect("accept");
            s.set_nodelay(true).expect("nodelay");
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let mut s = acceptor.accept(s).await.expect("server handshake");
                let mut buf = vec![0u8; SERVER_BUF];
                loop {
                    match s.read(&mut buf).await.expect("server read") {
                        0 => break,
                        n => s.write_all(&buf[..n]).await.expect("server write"),
                    }
                }
            });
        }
    });
    let (t, cpu) = (Instant::now(), cpu_ns_threads("self"));
    let clients: Vec<_> = (0..CONNS)
        .map(|c| {
            let connector = connector.clone();
            tokio::spawn(async move {
                let tcp = TcpStream::connect(addr).await.expect("connect");
                tcp.set_nodelay(true).expect("nodelay");
                let name = ServerName::try_from(HOST).expect("a DNS name");
                let mut s = connector
                    .connect(name, tcp)
                    .await
                    .expect("client handshake");
                let version = s.get_ref().1.protocol_version();
                let mut good = version == Some(rustls::ProtocolVersion::TLSv1_3);
                let mut bytes = 0;
                let mut m = message(c);
                let mut back = vec![0u8; MSG];
                for r in 0..rounds {
                    stamp(&mut m, r);
                    s.write_all(&m).await.expect("client write");
                    s.read_exact(&mut back).await.expect("client read");
                    good &= back == m;
                    bytes += MSG as u64;
                }
                s.shutdown().await.expect("client shutdown");
                (bytes, good)
            })
        })
        .collect();
    let (mut bytes, mut good) = (0, true);
    for c in clients {
        let (b, g) = c.await.expect("client task");
        bytes += b;
        good &= g;
    }
    (t.elapsed(), cpu_ns_threads("self") - cpu, bytes, good)
}
