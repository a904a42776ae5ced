//! How a TLS connection ends and how data flows through it (feature `tls`): a peer
//! ending without close_notify is truncation, a half-close lets the peer answer after
//! our close_notify, a slow reader makes `drain` wait with the buffer bounded, and 16
//! MiB each way in writes larger than the socket buffers. Helpers in `common.rs`.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use std::time::Duration;

use aloop::tls::TlsErrorKind;
use aloop::{StreamReader, StreamWriter};
use aloop_tests::tls_certs::{localhost, Leaf};

#[allow(dead_code)] // each binary uses part of it
mod common;

use common::*;

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
