//! The reads that fill a caller's buffer (`read_into`, `readexactly_into`) and
//! `buffered()`: over `feed_data` (polled by hand, so every chunking is exact) and over
//! real loopback connections. Network waits are under a watchdog. `readuntil`'s
//! separator search is tested in streams_readuntil.rs.

use std::cell::RefCell;
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{TcpListener as StdTcpListener, TcpStream as StdTcpStream};
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use aloop::{ReadError, StreamReader, StreamWriter};
use futures_util::future::{select, Either};
use futures_util::task::noop_waker_ref;

const WATCHDOG: Duration = Duration::from_secs(10);

/// `fut`, or `None` after `limit`.
async fn within<F: Future>(limit: Duration, fut: F) -> Option<F::Output> {
    match select(pin!(fut), pin!(aloop::sleep(limit))).await {
        Either::Left((v, _)) => Some(v),
        Either::Right(_) => None,
    }
}

/// One poll with a waker that does nothing (a hand-fed reader needs no loop).
fn poll_once<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(noop_waker_ref()))
}

// ---- read_into / readexactly_into over feed_data ------------------------------------

#[test]
fn read_into_returns_what_is_buffered_up_to_the_buffer_size() {
    aloop::run(async {
        let r = StreamReader::new();
        r.feed_data(b"hello world");
        let mut buf = [0u8; 5];
        assert_eq!(r.read_into(&mut buf).await.unwrap(), 5);
        assert_eq!(&buf, b"hello");
        let mut big = [0u8; 100];
        assert_eq!(r.read_into(&mut big).await.unwrap(), 6);
        assert_eq!(&big[..6], b" world");
        assert_eq!(
            r.read_into(&mut []).await.unwrap(),
            0,
            "empty buffer: 0 at once"
        );
        r.feed_data(b"x");
        r.feed_eof();
        assert_eq!(r.read_into(&mut big).await.unwrap(), 1);
        assert_eq!(r.read_into(&mut big).await.unwrap(), 0, "EOF");
        assert_eq!(r.read_into(&mut big).await.unwrap(), 0, "EOF again");
    });
}

#[test]
fn read_into_waits_only_while_the_buffer_is_empty() {
    let r = StreamReader::new();
    let mut buf = [0u8; 8];
    {
        let mut fut = pin!(r.read_into(&mut buf));
        assert!(poll_once(fut.as_mut()).is_pending());
        r.feed_data(b"ab");
        assert!(matches!(poll_once(fut.as_mut()), Poll::Ready(Ok(2))));
    }
    assert_eq!(&buf[..2], b"ab");
}

#[test]
fn read_into_reports_a_set_exception_even_with_data_buffered() {
    aloop::run(async {
        let r = StreamReader::new();
        r.feed_data(b"data");
        r.set_exception(io::Error::new(io::ErrorKind::ConnectionReset, "boom"));
        let e = r.read_into(&mut [0u8; 4]).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
        let e = r.readexactly_into(&mut [0u8; 2]).await.unwrap_err();
        assert!(matches!(e, ReadError::Io(e) if e.kind() == io::ErrorKind::ConnectionReset));
    });
}

#[test]
fn readexactly_into_waits_for_all_bytes_across_chunks() {
    let r = StreamReader::new();
    let mut buf = [0u8; 10];
    {
        let mut fut = pin!(r.readexactly_into(&mut buf));
        for chunk in [&b"012"[..], b"3", b"45678"] {
            r.feed_data(chunk);
            assert!(poll_once(fut.as_mut()).is_pending());
        }
        r.feed_data(b"9abc");
        assert!(matches!(poll_once(fut.as_mut()), Poll::Ready(Ok(()))));
    }
    assert_eq!(&buf, b"0123456789");
    assert_eq!(r.buffered(), 3, "the rest stays buffered");
    let mut empty = [0u8; 0];
    assert!(matches!(
        poll_once(pin!(r.readexactly_into(&mut empty))),
        Poll::Ready(Ok(()))
    ));
}

#[test]
fn readexactly_into_at_eof_is_incomplete_read_with_the_partial_bytes() {
    aloop::run(async {
        let r = StreamReader::new();
        r.feed_data(b"abc");
        r.feed_eof();
        let mut buf = [7u8; 5];
        match r.readexactly_into(&mut buf).await {
            Err(ReadError::IncompleteRead(e)) => {
                assert_eq!(e.partial, b"abc");
                assert_eq!(e.expected, Some(5));
                assert_eq!(e.to_string(), "3 bytes read on a total of 5 expected bytes");
            }
            other => panic!("expected IncompleteRead, got {other:?}"),
        }
        assert_eq!(
            &buf[..3],
            b"abc",
            "the caller's buffer starts with them too"
        );
        assert!(r.at_eof());
        // Same shape as readexactly's error, and the same conversion to io::Error.
        let e: io::Error = r.readexactly_into(&mut buf).await.unwrap_err().into();
        assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof);
    });
}

#[test]
fn readexactly_into_dropped_unfinished_loses_nothing() {
    aloop::run(async {
        let r = StreamReader::new();
        r.feed_data(b"part");
        let mut buf = [0u8; 8];
        {
            let mut fut = pin!(r.readexactly_into(&mut buf));
            assert!(poll_once(fut.as_mut()).is_pending());
            r.feed_data(b"ia");
            assert!(poll_once(fut.as_mut()).is_pending());
            r.feed_data(b"l!"); // arrives while it is pending, not yet polled
        } // dropped, as a timeout would
        assert_eq!(r.buffered(), 8, "the bytes it had taken are back, in front");
        assert_eq!(r.readexactly(8).await.unwrap(), b"partial!");
        // The same over a socket, where bytes go straight into the caller's buffer.
        let Pair { r, w, _keep } = pair().await;
        w.write(b"01234").unwrap();
        let mut buf = [0u8; 10];
        let got = within(Duration::from_millis(100), r.readexactly_into(&mut buf)).await;
        assert!(got.is_none(), "5 of 10 bytes: still waiting");
        w.write(b"56789").unwrap();
        assert_eq!(
            within(WATCHDOG, r.readexactly(10)).await.unwrap().unwrap(),
            b"0123456789"
        );
    });
}

#[test]
fn readexactly_into_larger_than_the_limit_works() {
    aloop::run(async {
        let r = StreamReader::with_limit(16);
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        for chunk in data.chunks(7_777) {
            r.feed_data(chunk);
        }
        let mut buf = vec![0u8; data.len()];
        r.readexactly_into(&mut buf).await.unwrap();
        assert_eq!(buf, data, "the limit bounds readuntil, not readexactly");
    });
}

/// Two ends of a loopback connection: `r` reads what `w` writes. `_keep` holds the
/// other halves and the server, so nothing closes early.
struct Pair {
    r: StreamReader,
    w: StreamWriter,
    _keep: (StreamReader, StreamWriter, aloop::Server),
}

async fn pair() -> Pair {
    let accepted = Rc::new(RefCell::new(None));
    let slot = accepted.clone();
    let server = aloop::start_server(
        move |r: StreamReader, w: StreamWriter| {
            *slot.borrow_mut() = Some((r, w));
            async {}
        },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let port = server.sockets()[0].port();
    let (r, cw) = aloop::open_connection("127.0.0.1", port).await.unwrap();
    let wait = async {
        loop {
            if let Some(pair) = accepted.borrow_mut().take() {
                return pair;
            }
            aloop::sleep(Duration::from_millis(1)).await;
        }
    };
    let (sr, w) = within(WATCHDOG, wait).await.expect("never accepted");
    Pair {
        r,
        w,
        _keep: (sr, cw, server),
    }
}

// ---- buffered() ----------------------------------------------------------------------

#[test]
fn buffered_counts_what_the_reader_holds() {
    aloop::run(async {
        let r = StreamReader::new();
        assert_eq!(r.buffered(), 0);
        r.feed_data(b"one\ntwo\nthree");
        assert_eq!(r.buffered(), 13);
        r.readline().await.unwrap();
        assert_eq!(r.buffered(), 9);
        r.read_into(&mut [0u8; 2]).await.unwrap();
        assert_eq!(r.buffered(), 7);
        r.readexactly(3).await.unwrap();
        assert_eq!(r.buffered(), 4);
        r.feed_eof();
        assert_eq!(r.buffered(), 4, "EOF adds nothing");
        r.read_to_eof().await.unwrap();
        assert_eq!(r.buffered(), 0);
        // A limit overrun leaves everything in place.
        let r = StreamReader::with_limit(4);
        r.feed_data(b"0123456789\n");
        assert!(matches!(
            r.readline().await,
            Err(ReadError::LimitOverrun(_))
        ));
        assert_eq!(r.buffered(), 11);
    });
}

// ---- over loopback -------------------------------------------------------------------

/// An echo server of length-prefixed frames (u32 big-endian), read with
/// `readexactly_into`.
async fn frame_echo(r: StreamReader, w: StreamWriter) {
    let mut header = [0u8; 4];
    let mut body = Vec::new();
    loop {
        match r.readexactly_into(&mut header).await {
            Ok(()) => {}
            Err(ReadError::IncompleteRead(e)) if e.partial.is_empty() => break,
            Err(e) => panic!("server read: {e}"),
        }
        body.resize(u32::from_be_bytes(header) as usize, 0);
        r.readexactly_into(&mut body).await.unwrap();
        w.write(&header).unwrap();
        w.write(&body).unwrap();
        w.drain().await.unwrap();
    }
    w.close();
}

#[test]
fn readexactly_into_and_read_into_over_a_real_connection() {
    aloop::run(async {
        let server = aloop::start_server(frame_echo, "127.0.0.1", 0)
            .await
            .unwrap();
        let port = server.sockets()[0].port();
        let (r, w) = aloop::open_connection("127.0.0.1", port).await.unwrap();
        let sizes = [0usize, 1, 7, 1024, 8191, 8192, 65_536, 200_000, 3];
        let client = async {
            for (i, &n) in sizes.iter().enumerate() {
                let body: Vec<u8> = (0..n).map(|k| (k * 7 + i) as u8).collect();
                w.write(&(n as u32).to_be_bytes()).unwrap();
                w.write(&body).unwrap();
                w.drain().await.unwrap();
                let mut header = [0u8; 4];
                r.readexactly_into(&mut header).await.unwrap();
                assert_eq!(u32::from_be_bytes(header) as usize, n);
                // The body back through read_into, alternating a small buffer and one
                // big enough for a whole socket read.
                let mut back = Vec::new();
                let mut chunk = vec![0u8; if i % 2 == 0 { 100 } else { 16 * 1024 }];
                while back.len() < n {
                    let want = chunk.len().min(n - back.len());
                    let got = r.read_into(&mut chunk[..want]).await.unwrap();
                    assert!(got > 0, "EOF in the middle of a frame");
                    back.extend_from_slice(&chunk[..got]);
                }
                assert_eq!(back, body, "frame {i} ({n} bytes)");
            }
            w.write_eof().unwrap();
            let mut buf = [0u8; 16];
            assert_eq!(
                r.read_into(&mut buf).await.unwrap(),
                0,
                "server closed: EOF"
            );
        };
        within(WATCHDOG, client).await.expect("echo hung");
        server.close();
        within(WATCHDOG, server.wait_closed()).await.unwrap();
    });
}

#[test]
fn readexactly_into_over_a_connection_that_ends_early_returns_the_partial_bytes() {
    let listener = StdTcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"12345").unwrap();
    }); // dropping the socket sends FIN
    aloop::run(async move {
        let (r, _w) = aloop::open_connection("127.0.0.1", port).await.unwrap();
        let mut buf = [0u8; 10];
        match within(WATCHDOG, r.readexactly_into(&mut buf))
            .await
            .unwrap()
        {
            Err(ReadError::IncompleteRead(e)) => {
                assert_eq!(e.partial, b"12345");
                assert_eq!(e.expected, Some(10));
            }
            other => panic!("expected IncompleteRead, got {other:?}"),
        }
        assert_eq!(r.read_into(&mut buf).await.unwrap(), 0);
        assert!(r.at_eof());
    });
    peer.join().unwrap();
}

/// Sends RST instead of FIN when `s` is dropped.
fn set_linger_zero(s: &StdTcpStream) {
    socket2::SockRef::from(s)
        .set_linger(Some(std::time::Duration::ZERO))
        .expect("setsockopt(SO_LINGER)");
}

/// Pipelined requests arrive in one segment: after the first `readline`, `buffered()`
/// says the others are waiting, and they are answered from the buffer without touching
/// the socket — proven by resetting the connection first: a socket read would fail
/// with `ConnectionReset`, and the reset does show up once the buffer is empty.
#[test]
fn buffered_requests_are_read_without_touching_the_socket() {
    let listener = StdTcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (reset_tx, reset_rx) = std::sync::mpsc::channel();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.write_all(b"GET /1\nGET /2\nGET /3\n").unwrap();
        let mut ok = [0u8; 3];
        s.read_exact(&mut ok).unwrap(); // the client holds all three now
        set_linger_zero(&s);
        drop(s);
        reset_tx.send(()).unwrap();
    });
    aloop::run(async move {
        let (r, w) = aloop::open_connection("127.0.0.1", port).await.unwrap();
        let first = within(WATCHDOG, r.readline()).await.unwrap().unwrap();
        assert_eq!(first, b"GET /1\n");
        assert_eq!(r.buffered(), 14, "two more requests are already here");
        w.write(b"ok\n").unwrap();
        let wait_reset = async {
            while reset_rx.try_recv().is_err() {
                aloop::sleep(Duration::from_millis(1)).await;
            }
        };
        within(WATCHDOG, wait_reset)
            .await
            .expect("peer never reset");
        // Give the RST a moment to land (not asserted: if it had not, the reads below
        // would still pass, checking less).
        aloop::sleep(Duration::from_millis(20)).await;
        assert_eq!(r.readline().await.unwrap(), b"GET /2\n");
        let mut buf = [0u8; 7];
        r.readexactly_into(&mut buf).await.unwrap();
        assert_eq!(&buf, b"GET /3\n");
        assert_eq!(r.buffered(), 0);
        let e = within(WATCHDOG, r.read_into(&mut buf))
            .await
            .expect("read after reset hung")
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionReset);
    });
    peer.join().unwrap();
}

/// A connection whose peer sends `parts` one at a time, a little apart (so each is a
/// read of its own), then closes; `client` reads it under the watchdog.
async fn read_parts_sent_apart<F: Future<Output = ()>>(
    parts: &'static [&'static [u8]],
    client: impl FnOnce(StreamReader) -> F,
) {
    let server = aloop::start_server(
        move |_r: StreamReader, w: StreamWriter| async move {
            for part in parts {
                w.write(part).unwrap();
                w.drain().await.unwrap();
                aloop::sleep(Duration::from_millis(2)).await;
            }
            w.close();
        },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let port = server.sockets()[0].port();
    let (r, _w) = aloop::open_connection("127.0.0.1", port).await.unwrap();
    within(WATCHDOG, client(r)).await.expect("client hung");
    server.close();
    within(WATCHDOG, server.wait_closed()).await.unwrap();
}

#[test]
fn readuntil_over_a_connection_with_the_separator_split_across_writes() {
    let parts: &[&[u8]] = &[b"head\r", b"\n\r", b"\nbody--", b"-end\r", b"\n\r\n"];
    aloop::run(read_parts_sent_apart(parts, |r| async move {
        assert_eq!(r.readuntil(b"\r\n\r\n").await.unwrap(), b"head\r\n\r\n");
        assert_eq!(r.readuntil(b"---").await.unwrap(), b"body---");
        assert_eq!(r.readline().await.unwrap(), b"end\r\n");
        assert_eq!(r.readuntil(b"\r\n").await.unwrap(), b"\r\n");
        assert!(matches!(
            r.readuntil(b"\r\n").await,
            Err(ReadError::IncompleteRead(e)) if e.partial.is_empty()
        ));
    }));
}

#[test]
fn readline_into_and_readuntil_into_over_a_connection_with_split_writes() {
    // Lines and a separator split across sends, then a partial last line.
    let parts: &[&[u8]] = &[b"*3\r", b"\n$3\r\nS", b"ET\r\nhead\r\n\r", b"\nlast"];
    aloop::run(read_parts_sent_apart(parts, |r| async move {
        let mut line = b"kept:".to_vec();
        assert_eq!(r.readline_into(&mut line).await.unwrap(), 4);
        assert_eq!(r.readline_into(&mut line).await.unwrap(), 4);
        assert_eq!(r.readline_into(&mut line).await.unwrap(), 5);
        assert_eq!(line, b"kept:*3\r\n$3\r\nSET\r\n");
        let mut head = Vec::new();
        assert_eq!(r.readuntil_into(b"\r\n\r\n", &mut head).await.unwrap(), 8);
        assert_eq!(head, b"head\r\n\r\n");
        // The peer's end of stream: the unterminated last line, then 0.
        line.clear();
        assert_eq!(r.readline_into(&mut line).await.unwrap(), 4);
        assert_eq!(line, b"last");
        assert_eq!(r.readline_into(&mut line).await.unwrap(), 0, "EOF");
        assert_eq!(line, b"last");
    }));
}
