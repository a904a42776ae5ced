//! Tests of the short-read rule (`tcp.rs`): a TCP read that leaves part of its buffer
//! unfilled clears read readiness without a `WouldBlock` read, a read that fills it
//! exactly does not, and the peer's end of writing is never missed — whether its event
//! was seen before the short read (readiness then stays) or comes after it (its edge
//! sets readiness again).

use std::future::poll_fn;
use std::io::{IoSliceMut, Write};
use std::net::Shutdown;
use std::task::Poll;
use std::time::Duration;

use crate::{Reactor, TcpListener, TcpStream};

/// A reactor, a connection on it (`server`) and its std peer (`client`), which has
/// sent `data`.
fn connected_after(data: &[u8]) -> (Reactor, TcpStream, std::net::TcpStream) {
    let reactor = Reactor::new().unwrap();
    let (server, mut client) = reactor
        .block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let client = std::net::TcpStream::connect(listener.local_addr()?)?;
            let (server, _) = listener.accept().await?;
            std::io::Result::Ok((server, client))
        })
        .unwrap();
    client.write_all(data).unwrap();
    (reactor, server, client)
}

/// Runs `f` on a thread of its own, failing the test if it takes over 30 s: a lost
/// end-of-stream would otherwise show as a test that never ends.
fn within_30s(f: impl FnOnce() + Send + 'static) {
    let (done, finished) = std::sync::mpsc::channel();
    let body = std::thread::spawn(move || {
        f();
        let _ = done.send(());
    });
    if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
        finished.recv_timeout(Duration::from_secs(30))
    {
        panic!("hung for 30 s: an end-of-stream was never read");
    }
    if let Err(panic) = body.join() {
        std::panic::resume_unwind(panic);
    }
}

/// Polls the reactor until `server`'s pending events are delivered.
fn deliver_events(reactor: &Reactor) {
    while reactor.poll(Some(Duration::from_millis(50))).unwrap() > 0 {}
}

#[test]
fn a_short_read_clears_readiness() {
    let (reactor, server, mut client) = connected_after(&[5u8; 100]);
    let mut buf = [0u8; 128];
    let n = reactor.block_on(server.read(&mut buf)).unwrap();
    assert_eq!(&buf[..n], &[5u8; 100][..n]);
    if n == 100 {
        // Everything came in one read, and the buffer was not full: drained.
        assert!(!server.read_ready(), "a short read proves the queue empty");
    }
    // New data is a new edge: the next read still completes.
    client.write_all(&[6u8; 10]).unwrap();
    let mut more = [0u8; 64];
    let mut got = 0;
    while got < 10 + 100 - n {
        got += reactor.block_on(server.read(&mut more[got..])).unwrap();
    }
}

#[test]
fn an_exact_fill_keeps_readiness_until_a_would_block() {
    let (reactor, server, _client) = connected_after(&[5u8; 100]);
    let mut buf = [0u8; 100];
    reactor.block_on(server.read_exact(&mut buf)).unwrap();
    assert_eq!(buf, [5u8; 100]);
    // A full buffer proves nothing: readiness stays until a read finds nothing.
    assert!(server.read_ready());
    let mut cx = std::task::Context::from_waker(futures_util::task::noop_waker_ref());
    assert!(server.poll_read(&mut cx, &mut buf).is_pending());
    assert!(!server.read_ready(), "the WouldBlock read cleared it");
}

#[test]
fn a_short_vectored_read_clears_readiness() {
    let (reactor, server, _client) = connected_after(b"head+the rest");
    let (mut a, mut b) = ([0u8; 4], [0u8; 64]);
    let n = reactor
        .block_on(async {
            let bufs = &mut [IoSliceMut::new(&mut a), IoSliceMut::new(&mut b)];
            poll_fn(|cx| server.poll_read_vectored(cx, &mut bufs[..])).await
        })
        .unwrap();
    assert_eq!(&a, b"head");
    assert_eq!(&b[..n - 4], &b"+the rest"[..n - 4]);
    if n == 13 {
        assert!(!server.read_ready(), "drained, and the short read says so");
    }
}

#[test]
fn an_end_of_stream_seen_before_a_short_read_keeps_readiness() {
    within_30s(end_of_stream_seen_before_a_short_read);
}

fn end_of_stream_seen_before_a_short_read() {
    let (reactor, server, client) = connected_after(b"last words");
    client.shutdown(Shutdown::Write).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    // The reactor sees the data and the peer's end of writing in its events first.
    deliver_events(&reactor);
    let mut buf = [0u8; 64];
    let n = reactor.block_on(server.read(&mut buf)).unwrap();
    assert_eq!(&buf[..n], b"last words");
    assert!(
        server.read_ready(),
        "after the peer's end of writing, a short read must not clear readiness"
    );
    assert_eq!(reactor.block_on(server.read(&mut buf)).unwrap(), 0);
}

#[test]
fn an_end_of_stream_behind_the_data_is_read_after_a_short_read() {
    within_30s(|| (0..20).for_each(|_| end_of_stream_behind_the_data()));
}

fn end_of_stream_behind_the_data() {
    let (reactor, server, client) = connected_after(b"last words");
    client.shutdown(Shutdown::Write).unwrap();
    // Read before the reactor has looked at any event: the short read may clear
    // readiness, but the events queued in the kernel set it again.
    let mut cx = std::task::Context::from_waker(futures_util::task::noop_waker_ref());
    let mut buf = [0u8; 64];
    let mut got = Vec::new();
    if let Poll::Ready(n) = server.poll_read(&mut cx, &mut buf) {
        got.extend_from_slice(&buf[..n.unwrap()]);
    }
    let eof = reactor
        .block_on(async {
            loop {
                let n = server.read(&mut buf).await?;
                if n == 0 {
                    return std::io::Result::Ok(got);
                }
                got.extend_from_slice(&buf[..n]);
            }
        })
        .unwrap();
    assert_eq!(eof, b"last words");
}
