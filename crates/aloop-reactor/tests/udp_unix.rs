//! UDP and Unix-socket round trips through the reactor.

mod common;

use std::io;

use aloop_reactor::{Reactor, UdpSocket, UnixListener, UnixStream};
use common::{pattern, watchdog};
use futures_util::future::join;
use futures_util::StreamExt;

#[test]
fn udp_round_trip_with_and_without_connect() {
    watchdog(|| {
        Reactor::new()
            .unwrap()
            .block_on(async {
                let a = UdpSocket::bind("127.0.0.1:0")?;
                let b = UdpSocket::bind("127.0.0.1:0")?;
                let (a_addr, b_addr) = (a.local_addr()?, b.local_addr()?);
                let mut buf = [0u8; 64];
                // b waits first, so the receive really goes through the reactor.
                let (sent, got) = join(
                    async {
                        futures_util::future::ready(()).await;
                        a.send_to(b"one", b_addr).await
                    },
                    b.recv_from(&mut buf),
                )
                .await;
                assert_eq!(sent?, 3);
                let (n, from) = got?;
                assert_eq!((&buf[..n], from), (&b"one"[..], a_addr));

                b.connect(a_addr)?;
                a.connect(b_addr)?;
                assert_eq!(a.peer_addr()?, b_addr);
                b.send(b"two").await?;
                let mut peek = [0u8; 8];
                assert_eq!(a.peek_from(&mut peek).await?, (3, b_addr));
                let n = a.recv(&mut buf).await?;
                assert_eq!(&buf[..n], b"two");
                io::Result::Ok(())
            })
            .unwrap();
    });
}

#[test]
fn unix_pair_round_trip() {
    watchdog(|| {
        Reactor::new()
            .unwrap()
            .block_on(async {
                let (a, b) = UnixStream::pair()?;
                let data = pattern(1, 300_000);
                let mut got = vec![0u8; data.len()];
                // 300 KB exceeds the socket buffer: the writer must wait for the reader.
                let (w, r) = join(a.write_all(&data), b.read_exact(&mut got)).await;
                w?;
                r?;
                assert_eq!(got, data);
                a.shutdown(std::net::Shutdown::Write)?;
                let mut one = [0u8; 1];
                assert_eq!(b.read(&mut one).await?, 0);
                io::Result::Ok(())
            })
            .unwrap();
    });
}

#[test]
fn unix_listener_accepts_and_echoes() {
    watchdog(|| {
        let dir = std::env::temp_dir().join(format!("aloop-reactor-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("echo.sock");
        let _ = std::fs::remove_file(&path);
        let reactor = Reactor::new().unwrap();
        reactor
            .block_on(async {
                let listener = UnixListener::bind(&path)?;
                let server = async {
                    let mut incoming = listener.incoming();
                    let s = incoming.next().await.unwrap()?;
                    let mut buf = [0u8; 5];
                    s.read_exact(&mut buf).await?;
                    s.write_all(&buf).await?;
                    io::Result::Ok(())
                };
                let client = async {
                    let c = UnixStream::connect(&path).await?;
                    c.write_all(b"hello").await?;
                    let mut buf = [0u8; 5];
                    c.read_exact(&mut buf).await?;
                    assert_eq!(&buf, b"hello");
                    io::Result::Ok(())
                };
                let (s, c) = join(server, client).await;
                s?;
                c?;
                let missing = dir.join("missing.sock");
                assert!(UnixStream::connect(&missing).await.is_err());
                io::Result::Ok(())
            })
            .unwrap();
        assert_eq!(reactor.source_count(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

#[test]
fn unix_vectored_read_fills_buffers_in_turn() {
    watchdog(|| {
        Reactor::new()
            .unwrap()
            .block_on(async {
                let (a, b) = UnixStream::pair()?;
                a.write_all(b"0123456789").await?;
                let (mut x, mut y) = ([0u8; 3], [0u8; 16]);
                let bufs = &mut [io::IoSliceMut::new(&mut x), io::IoSliceMut::new(&mut y)];
                // One write on a Unix stream is queued whole: one read takes it all.
                let n = std::future::poll_fn(|cx| b.poll_read_vectored(cx, &mut bufs[..])).await?;
                assert_eq!(n, 10);
                assert_eq!((&x, &y[..7]), (b"012", &b"3456789"[..]));
                io::Result::Ok(())
            })
            .unwrap();
    });
}
