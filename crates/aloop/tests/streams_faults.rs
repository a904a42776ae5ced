//! Stream fault tests: a peer that resets mid-stream (an error on both halves, never
//! a hang), EOF inside `readexactly` (the partial bytes come back), `readline` past the
//! limit (an error, the buffer intact, the next read works), a refused connect, and a
//! slow reader making `drain` apply back-pressure with bounded memory. Every wait is
//! under a watchdog, so a hang fails the test.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io::{self, Read, Write};
use std::net::TcpStream as StdTcpStream;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use aloop::{ReadError, StreamReader, StreamWriter};
use futures_util::future::{select, Either};

/// `fut`, or `None` after `limit`.
async fn within<F: Future>(limit: Duration, fut: F) -> Option<F::Output> {
    match select(pin!(fut), pin!(aloop::sleep(limit))).await {
        Either::Left((v, _)) => Some(v),
        Either::Right(_) => None,
    }
}

const WATCHDOG: Duration = Duration::from_secs(10);

#[test]
fn fault_connect_to_a_closed_port_is_connection_refused() {
    aloop::run(async {
        // Bind then drop a listener: its port is free and (almost surely) closed.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let e = within(WATCHDOG, aloop::open_connection("127.0.0.1", port))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
    });
}

/// Closes `s` with `SO_LINGER` 0, so the peer gets a reset instead of a FIN.
fn reset(s: StdTcpStream) {
    socket2::SockRef::from(&s)
        .set_linger(Some(Duration::ZERO))
        .expect("setsockopt(SO_LINGER)");
    drop(s);
}

#[test]
fn fault_peer_reset_mid_stream_is_an_error_not_a_hang() {
    aloop::run(async {
        let outcome = Rc::new(RefCell::new(None));
        let o2 = outcome.clone();
        let done = Rc::new(aloop::Event::new());
        let d2 = done.clone();
        let server = aloop::start_server(
            move |reader: StreamReader, writer: StreamWriter| {
                let (o2, d2) = (o2.clone(), d2.clone());
                async move {
                    let read = reader.readexactly(1000).await;
                    // Keep writing into the reset connection: drain must fail too.
                    let chunk = vec![7u8; 64 * 1024];
                    let mut write_err = None;
                    for _ in 0..1000 {
                        if let Err(e) = writer.write(&chunk) {
                            write_err = Some(e);
                            break;
                        }
                        if let Err(e) = writer.drain().await {
                            write_err = Some(e);
                            break;
                        }
                    }
                    *o2.borrow_mut() = Some((read, write_err));
                    d2.set();
                }
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let addr = server.sockets()[0];
        aloop::to_thread(move || {
            let mut s = StdTcpStream::connect(addr).unwrap();
            s.write_all(b"only ten b").unwrap();
            std::thread::sleep(Duration::from_millis(50));
            reset(s);
        })
        .await
        .unwrap();
        within(WATCHDOG, done.wait())
            .await
            .expect("reader/writer hung after a reset");
        let (read, write_err) = outcome.borrow_mut().take().unwrap();
        match read {
            Err(ReadError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset),
            Err(ReadError::IncompleteRead(e)) => assert!(e.partial.len() <= 10),
            other => panic!("expected an error, got {other:?}"),
        }
        let e = write_err.expect("writing into a reset connection must fail");
        assert!(
            matches!(
                e.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ),
            "{e}"
        );
        server.close();
    });
}

#[test]
fn fault_eof_inside_readexactly_returns_the_partial_bytes() {
    aloop::run(async {
        let (tx, rx) = (Rc::new(RefCell::new(None)), aloop::Event::new());
        let rx = Rc::new(rx);
        let (t2, r2) = (tx.clone(), rx.clone());
        let server = aloop::start_server(
            move |reader: StreamReader, _w: StreamWriter| {
                let (t2, r2) = (t2.clone(), r2.clone());
                async move {
                    *t2.borrow_mut() = Some(reader.readexactly(100).await);
                    r2.set();
                }
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let addr = server.sockets()[0];
        aloop::to_thread(move || {
            let mut s = StdTcpStream::connect(addr).unwrap();
            s.write_all(b"0123456789abcdefghij").unwrap();
        })
        .await
        .unwrap();
        within(WATCHDOG, rx.wait())
            .await
            .expect("readexactly hung at EOF");
        match tx.borrow_mut().take().unwrap() {
            Err(ReadError::IncompleteRead(e)) => {
                assert_eq!(e.partial, b"0123456789abcdefghij");
                assert_eq!(e.expected, Some(100));
                let io: io::Error = ReadError::IncompleteRead(e).into();
                assert_eq!(io.kind(), io::ErrorKind::UnexpectedEof);
            }
            other => panic!("expected IncompleteRead, got {other:?}"),
        }
        server.close();
    });
}

#[test]
fn fault_readline_past_the_limit_errors_keeps_the_buffer_and_the_next_read_works() {
    aloop::run(async {
        let limit = 1024;
        let (tx, rx) = (
            Rc::new(RefCell::new(Vec::new())),
            Rc::new(aloop::Event::new()),
        );
        let (t2, r2) = (tx.clone(), rx.clone());
        let options = aloop::ServerOptions {
            limit,
            ..Default::default()
        };
        let server = aloop::start_server_with(
            move |reader: StreamReader, _w: StreamWriter| {
                let (t2, r2) = (t2.clone(), r2.clone());
                async move {
                    let consumed = match reader.readline().await {
                        Err(ReadError::LimitOverrun(e)) => e.consumed,
                        other => panic!("expected LimitOverrun, got {other:?}"),
                    };
                    // Skip the long line (consumed bytes + its newline), then go on.
                    let skipped = reader.readexactly(consumed + 1).await.unwrap();
                    t2.borrow_mut().push(skipped.len());
                    let next = reader.readline().await.unwrap();
                    t2.borrow_mut().push(next.len());
                    r2.set();
                }
            },
            "127.0.0.1",
            0,
            options,
        )
        .await
        .unwrap();
        let addr = server.sockets()[0];
        aloop::to_thread(move || {
            let mut s = StdTcpStream::connect(addr).unwrap();
            s.write_all(&[b'x'; 5000]).unwrap();
            s.write_all(b"\nshort line\n").unwrap();
            std::thread::sleep(Duration::from_millis(100));
        })
        .await
        .unwrap();
        within(WATCHDOG, rx.wait()).await.expect("server hung");
        assert_eq!(*tx.borrow(), [5001, 11]);
        server.close();
    });
}

#[test]
fn fault_slow_reader_makes_drain_apply_back_pressure() {
    const CHUNK: usize = 64 * 1024;
    const TOTAL: usize = 16 * 1024 * 1024;
    aloop::run(async {
        let stats = Rc::new(Cell::new((0usize, 0usize))); // (max buffered, high)
        let s2 = stats.clone();
        let server = aloop::start_server(
            move |_r: StreamReader, writer: StreamWriter| {
                let s2 = s2.clone();
                async move {
                    let pattern: Vec<u8> = (0..CHUNK + 251).map(|i| (i % 251) as u8).collect();
                    let (_, high) = writer.get_write_buffer_limits();
                    let mut sent = 0;
                    while sent < TOTAL {
                        let chunk = &pattern[sent % 251..][..CHUNK];
                        writer.write(chunk).unwrap();
                        sent += CHUNK;
                        let (max, _) = s2.get();
                        s2.set((max.max(writer.get_write_buffer_size()), high));
                        writer.drain().await.unwrap();
                    }
                    writer.close();
                    writer.wait_closed().await.unwrap();
                }
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let addr = server.sockets()[0];
        let received = aloop::to_thread(move || -> io::Result<usize> {
            let mut s = StdTcpStream::connect(addr)?;
            s.set_read_timeout(Some(WATCHDOG))?;
            std::thread::sleep(Duration::from_millis(300)); // slow start: the kernel fills
            let mut buf = vec![0u8; 4096];
            let mut total = 0;
            loop {
                let n = s.read(&mut buf)?;
                if n == 0 {
                    return Ok(total);
                }
                for (i, b) in buf[..n].iter().enumerate() {
                    assert_eq!(*b, ((total + i) % 251) as u8, "byte {}", total + i);
                }
                total += n;
            }
        })
        .await
        .unwrap()
        .unwrap();
        assert_eq!(received, TOTAL);
        let (max, high) = stats.get();
        assert!(
            max > high,
            "the slow reader never pushed the writer over its high-water mark"
        );
        assert!(
            max <= high + CHUNK,
            "buffered {max} > high {high} + one write"
        );
        server.close();
    });
}
