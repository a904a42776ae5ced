//! Workloads "echo", "echo-vec" and "echo-sockets": TCP echo over 127.0.0.1, 50 connections × 2,000
//! round trips of a 1 KiB message, server and clients in the same runtime and process.
//! Every client checks every byte it gets back (the message differs per connection and
//! round), and the total echoed must be 50 × 2,000 × 1,024 bytes.
//!
//! Both sides are written the way a user of each runtime would. TCP_NODELAY on both
//! sides (a 1 KiB ping-pong otherwise meets Nagle's delayed-ACK stall).
//!
//! * "echo", aloop: the streams as a Rust user writes them, into buffers the caller
//!   owns, as tokio's users do: `start_server`, whose callback does
//!   `read_into(&mut [u8; 4096])` then `write` + `drain`; clients `open_connection`, then
//!   `write` + `drain` + `readexactly_into(&mut [u8; 1024])`.
//! * "echo-vec", aloop: the same with asyncio's own shapes, each read a fresh `Vec`:
//!   `read(4096)` and `readexactly(1024)`, as a Python user writes it.
//! * "echo-sockets", aloop: aloop-reactor's `TcpListener`/`TcpStream` directly (created
//!   inside the running loop, so they register with its reactor): the server reads into
//!   a 4 KiB buffer and writes back what it read; the client does `write_all` then
//!   `read_exact`. The layer under the streams, for comparison.
//! * tokio and smol: their sockets are what their users write (`TcpStream` +
//!   `read_exact`/`write_all`), so "echo" and "echo-sockets" run the same code there.
//!
//! Run under `strace -c -f` by `run.sh` for syscalls per round trip (see syscalls.rs).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::{rt, Outcome, Runtime, Scale};

const CONNS: u64 = 50;
const FULL_ROUNDS: u64 = 2_000;
const MSG: usize = 1024;
const SERVER_BUF: usize = 4096;

/// The message of connection `conn` (differs per connection, so a misrouted reply fails
/// the check). Built once per connection: building it per round, byte by byte, cost
/// ~2,900 instructions per round trip, half of what callgrind counted for a runtime.
fn message(conn: u64) -> [u8; MSG] {
    let mut m = [0u8; MSG];
    for (i, b) in m.iter_mut().enumerate() {
        *b = (conn.wrapping_mul(131) ^ i as u64) as u8;
    }
    m
}

/// Stamps `round` into the message's first 8 bytes, so every round's message differs
/// too and a stale reply fails the check.
fn stamp(m: &mut [u8; MSG], round: u64) {
    m[..8].copy_from_slice(&round.to_le_bytes());
}

/// Which aloop API the echo cell uses (the peers have one: their sockets).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `start_server` / `open_connection` streams, reading into the caller's buffers
    /// (workload "echo").
    Streams,
    /// The same streams with asyncio's `read` / `readexactly`, a `Vec` each (workload
    /// "echo-vec").
    StreamsVec,
    /// aloop-reactor's sockets (workload "echo-sockets").
    Sockets,
}

pub fn run(runtime: Runtime, scale: Scale, api: Api) -> Outcome {
    let rounds = scale.n(FULL_ROUNDS);
    let (elapsed, bytes, good) = match runtime {
        Runtime::Aloop if api == Api::Streams => rt::aloop(aloop_streams_echo(rounds, false)),
        Runtime::Aloop if api == Api::StreamsVec => rt::aloop(aloop_streams_echo(rounds, true)),
        Runtime::Aloop => rt::aloop(aloop_echo(rounds)),
        Runtime::TokioCt | Runtime::TokioMt => rt::tokio(runtime, tokio_echo(rounds)),
        Runtime::Smol => rt::smol(move |ex| smol_echo(ex, rounds)),
    };
    let trips = CONNS * rounds;
    Outcome::new(trips, elapsed, good && bytes == trips * MSG as u64)
        .with("round_trips", trips as f64)
        .with(
            "us_per_round_trip",
            elapsed.as_secs_f64() * 1e6 / trips as f64,
        )
}

/// (elapsed, bytes echoed back and checked, every byte matched)
type Echoed = (Duration, u64, bool);

async fn aloop_streams_echo(rounds: u64, vecs: bool) -> Echoed {
    use aloop::{StreamReader, StreamWriter};
    // The connection handlers run as tasks of the server, as in asyncio; each ends when
    // its client hangs up (`read` returns empty at EOF).
    let server = aloop::start_server(
        move |reader: StreamReader, writer: StreamWriter| async move {
            let mut buf = [0u8; SERVER_BUF];
            loop {
                if vecs {
                    let data = reader.read(SERVER_BUF).await.expect("server read");
                    if data.is_empty() {
                        break;
                    }
                    writer.write(&data).expect("server write");
                } else {
                    let n = reader.read_into(&mut buf).await.expect("server read");
                    if n == 0 {
                        break;
                    }
                    writer.write(&buf[..n]).expect("server write");
                }
                writer.drain().await.expect("server drain");
            }
        },
        "127.0.0.1",
        0,
    )
    .await
    .expect("start_server on 127.0.0.1");
    let port = server.sockets()[0].port();
    let t = Instant::now();
    let clients: Vec<_> = (0..CONNS)
        .map(|c| {
            aloop::create_task(async move {
                let (reader, writer) = aloop::open_connection("127.0.0.1", port)
                    .await
                    .expect("open_connection");
                let (mut bytes, mut good) = (0, true);
                let mut m = message(c);
                let mut back = [0u8; MSG];
                for r in 0..rounds {
                    stamp(&mut m, r);
                    writer.write(&m).expect("client write");
                    writer.drain().await.expect("client drain");
                    if vecs {
                        let got = reader.readexactly(MSG).await.expect("client read");
                        good &= got == m;
                    } else {
                        reader
                            .readexactly_into(&mut back)
                            .await
                            .expect("client read");
                        good &= back == m;
                    }
                    bytes += MSG as u64;
                }
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
    let elapsed = t.elapsed();
    server.close();
    (elapsed, bytes, good)
}

async fn aloop_echo(rounds: u64) -> Echoed {
    use aloop_reactor::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let addr = listener.local_addr().expect("local addr");
    // The acceptor and the per-connection servers are left running un-awaited, as
    // asyncio servers are; the loop finishes them when the clients hang up.
    let _acceptor = aloop::create_task(async move {
        for _ in 0..CONNS {
            let (s, _) = listener.accept().await.expect("accept");
            s.set_nodelay(true).expect("nodelay");
            drop(aloop::create_task(async move {
                let mut buf = [0u8; SERVER_BUF];
                loop {
                    match s.read(&mut buf).await.expect("server read") {
                        0 => break,
                        n => s.write_all(&buf[..n]).await.expect("server write"),
                    }
                }
            }));
        }
    });
    let t = Instant::now();
    let clients: Vec<_> = (0..CONNS)
        .map(|c| {
            aloop::create_task(async move {
                let s = TcpStream::connect(addr).await.expect("connect");
                s.set_nodelay(true).expect("nodelay");
                let (mut bytes, mut good, mut back) = (0, true, [0u8; MSG]);
                let mut m = message(c);
                for r in 0..rounds {
                    stamp(&mut m, r);
                    s.write_all(&m).await.expect("client write");
                    s.read_exact(&mut back).await.expect("client read");
                    good &= back == m;
                    bytes += MSG as u64;
                }
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
    (t.elapsed(), bytes, good)
}

async fn tokio_echo(rounds: u64) -> Echoed {
    use tokio::net::{TcpListener, TcpStream};
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        for _ in 0..CONNS {
            let (mut s, _) = listener.accept().await.expect("accept");
            s.set_nodelay(true).expect("nodelay");
            tokio::spawn(async move {
                let mut buf = [0u8; SERVER_BUF];
                loop {
                    match s.read(&mut buf).await.expect("server read") {
                        0 => break,
                        n => s.write_all(&buf[..n]).await.expect("server write"),
                    }
                }
            });
        }
    });
    let t = Instant::now();
    let clients: Vec<_> = (0..CONNS)
        .map(|c| {
            tokio::spawn(async move {
                let mut s = TcpStream::connect(addr).await.expect("connect");
                s.set_nodelay(true).expect("nodelay");
                let (mut bytes, mut good, mut back) = (0, true, [0u8; MSG]);
                let mut m = message(c);
                for r in 0..rounds {
                    stamp(&mut m, r);
                    s.write_all(&m).await.expect("client write");
                    s.read_exact(&mut back).await.expect("client read");
                    good &= back == m;
                    bytes += MSG as u64;
                }
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
    (t.elapsed(), bytes, good)
}

async fn smol_echo(ex: &'static async_executor::LocalExecutor<'static>, rounds: u64) -> Echoed {
    use async_io::Async;
    use std::net::{TcpListener, TcpStream};
    let listener = Async::<TcpListener>::bind(([127, 0, 0, 1], 0)).expect("bind");
    let addr = listener.get_ref().local_addr().expect("local addr");
    ex.spawn(async move {
        for _ in 0..CONNS {
            let (mut s, _) = listener.accept().await.expect("accept");
            s.get_ref().set_nodelay(true).expect("nodelay");
            ex.spawn(async move {
                let mut buf = [0u8; SERVER_BUF];
                loop {
                    match s.read(&mut buf).await.expect("server read") {
                        0 => break,
                        n => s.write_all(&buf[..n]).await.expect("server write"),
                    }
                }
            })
            .detach();
        }
    })
    .detach();
    let t = Instant::now();
    let clients: Vec<_> = (0..CONNS)
        .map(|c| {
            ex.spawn(async move {
                let mut s = Async::<TcpStream>::connect(addr).await.expect("connect");
                s.get_ref().set_nodelay(true).expect("nodelay");
                let (mut bytes, mut good, mut back) = (0, true, [0u8; MSG]);
                let mut m = message(c);
                for r in 0..rounds {
                    stamp(&mut m, r);
                    s.write_all(&m).await.expect("client write");
                    s.read_exact(&mut back).await.expect("client read");
                    good &= back == m;
                    bytes += MSG as u64;
                }
                (bytes, good)
            })
        })
        .collect();
    let (mut bytes, mut good) = (0, true);
    for c in clients {
        let (b, g) = c.await;
        bytes += b;
        good &= g;
    }
    (t.elapsed(), bytes, good)
}
