//! A socket transport's life with a `Protocol`: `SelectorTransportTests` (close, abort,
//! the errors that end a connection, the protocol released at the end) and the reading
//! half of `SelectorSocketTransportTests` (connection, data, end-of-stream, pausing,
//! a reset, a panicking callback). Neighbours: `stream_write.rs`, `buffered.rs`.

use std::io::Write;
use std::net::Shutdown;
use std::rc::Rc;

use aloop::get_running_loop;
use aloop_tests::cpython::ticks;
use aloop_tests::{record_exceptions, Log};

use super::{bounded, connected, fill_send_buffer, peer_read, reset, until, Rec};

/// `abort()` drops what is queued; the protocol hears `connection_lost(None)` once.
#[aloop::test]
async fn selector_events_selector_transport_abort() {
    let rec = Rec::default();
    let (t, _p, _peer, dup) = connected(rec.clone());
    fill_send_buffer(&dup);
    t.write(b"data").unwrap();
    assert_eq!(t.get_write_buffer_size(), 4);
    t.abort();
    assert!(t.is_closing());
    assert_eq!(t.get_write_buffer_size(), 0);
    until(|| rec.lost()).await;
    ticks(3).await;
    rec.log.assert_eq(&["made", "lost: None"]);
}

/// `close()`: closing at once, `connection_lost(None)` once even if closed again.
#[aloop::test]
async fn selector_events_selector_transport_close() {
    let rec = Rec::default();
    let (t, _p, _peer, _dup) = connected(rec.clone());
    t.close();
    assert!(t.is_closing());
    until(|| rec.lost()).await;
    t.close();
    ticks(3).await;
    rec.log.assert_eq(&["made", "lost: None"]);
}

/// `close()` with bytes queued: the connection is not lost until they are sent; the
/// peer gets them all, then the end.
#[aloop::test]
async fn selector_events_selector_transport_close_write_buffer() {
    let rec = Rec::default();
    let (t, _p, mut peer, dup) = connected(rec.clone());
    fill_send_buffer(&dup);
    t.write(b"data").unwrap();
    t.close();
    ticks(3).await;
    assert!(!rec.lost(), "lost before the queued bytes went out");
    let got = peer_read(&mut peer, None).await;
    assert!(got.ends_with(b"data"));
    until(|| rec.lost()).await;
    rec.log.assert_eq(&["made", "lost: None"]);
}

/// An OS error (here a reset by the peer) ends the connection with that error, and is
/// not reported to the exception handler (asyncio logs only non-OSError failures).
#[aloop::test]
async fn selector_events_selector_transport_fatal_error() {
    let lp = get_running_loop().unwrap();
    let handler = Log::new();
    record_exceptions(&lp, &handler);
    let rec = Rec::default();
    let (_t, _p, peer, _dup) = connected(rec.clone());
    reset(peer);
    until(|| rec.lost()).await;
    rec.log.assert_eq(&["made", "lost: ConnectionReset"]);
    handler.assert_eq(&[]);
}

/// Any other failure, here a panic in `data_received` (CPython: a custom exception),
/// is reported to the exception handler and ends the connection.
#[aloop::test]
async fn selector_events_selector_transport_fatal_error_custom_exception() {
    let lp = get_running_loop().unwrap();
    let handler = Log::new();
    record_exceptions(&lp, &handler);
    let rec = Rec {
        panic_in: Some("data_received"),
        ..Default::default()
    };
    let (t, _p, mut peer, _dup) = connected(rec.clone());
    peer.write_all(b"data").unwrap();
    until(|| rec.lost()).await;
    assert!(t.is_closing());
    assert_eq!(handler.len(), 1, "{:?}", handler.events());
    assert!(handler.events()[0].contains("data_received failed"));
    let events = rec.log.events();
    assert_eq!(events[..2], ["made", "data"]);
    assert!(events[2].starts_with("lost: ") && events[2] != "lost: None");
}

/// After `connection_lost` the transport lets go of the protocol (asyncio sets its
/// `_protocol` to None), and the error is the one given.
#[aloop::test]
async fn selector_events_selector_transport_connection_lost() {
    let rec = Rec::default();
    let (t, p, peer, _dup) = connected(rec.clone());
    assert_eq!(Rc::strong_count(&p), 2, "the transport holds the protocol");
    reset(peer);
    until(|| rec.lost()).await;
    rec.log.assert_eq(&["made", "lost: ConnectionReset"]);
    assert_eq!(
        Rc::strong_count(&p),
        1,
        "the transport still holds the protocol"
    );
    drop(t);
}

/// The protocol hears `connection_made` with its transport, which reads.
#[aloop::test]
async fn selector_events_selector_socket_transport_ctor() {
    let rec = Rec::default();
    let (t, _p, _peer, _dup) = connected(rec.clone());
    rec.log.assert_eq(&["made"]);
    assert!(rec.transport.borrow().is_some());
    assert!(t.is_reading());
}

/// `create_connection` returns once `connection_made` has run (asyncio's waiter).
#[aloop::test]
async fn selector_events_selector_socket_transport_ctor_with_waiter() {
    let lp = get_running_loop().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let rec = Rec::default();
    let r = rec.clone();
    let port = listener.local_addr().unwrap().port();
    let (t, _p) = bounded(lp.create_connection(move || r, "127.0.0.1", port))
        .await
        .unwrap();
    rec.log.assert_eq(&["made"]);
    t.close();
}

/// Pausing twice, resuming twice: while paused nothing is delivered and `is_reading()`
/// is false; after `close()` it is false too.
#[aloop::test]
async fn selector_events_selector_socket_transport_pause_resume_reading() {
    let rec = Rec::default();
    let (t, _p, mut peer, _dup) = connected(rec.clone());
    assert!(t.is_reading());
    t.pause_reading();
    t.pause_reading();
    assert!(!t.is_reading());
    peer.write_all(b"data").unwrap();
    ticks(5).await;
    assert!(rec.data().is_empty(), "delivered while paused");
    t.resume_reading();
    t.resume_reading();
    assert!(t.is_reading());
    until(|| rec.data() == b"data").await;
    t.close();
    assert!(!t.is_reading());
}

/// Reading paused from inside `connection_made` stays paused until resumed.
#[aloop::test]
async fn selector_events_selector_socket_transport_pause_reading_connection_made() {
    let rec = Rec {
        pause_in_made: true,
        ..Default::default()
    };
    let (t, _p, mut peer, _dup) = connected(rec.clone());
    assert!(!t.is_reading());
    peer.write_all(b"data").unwrap();
    ticks(5).await;
    assert!(rec.data().is_empty(), "delivered while paused");
    t.resume_reading();
    assert!(t.is_reading());
    until(|| rec.data() == b"data").await;
    t.close();
    assert!(!t.is_reading());
}

/// A panic in `eof_received` is reported and ends the connection.
#[aloop::test]
async fn selector_events_selector_socket_transport_read_eof_received_error() {
    let lp = get_running_loop().unwrap();
    let handler = Log::new();
    record_exceptions(&lp, &handler);
    let rec = Rec {
        panic_in: Some("eof_received"),
        ..Default::default()
    };
    let (_t, _p, peer, _dup) = connected(rec.clone());
    peer.shutdown(Shutdown::Write).unwrap();
    until(|| rec.lost()).await;
    assert_eq!(handler.len(), 1, "{:?}", handler.events());
    assert!(handler.events()[0].contains("eof_received failed"));
    assert_eq!(rec.log.events()[..2], ["made", "eof"]);
}

/// A panic in `data_received` is reported and ends the connection.
#[aloop::test]
async fn selector_events_selector_socket_transport_data_received_error() {
    let lp = get_running_loop().unwrap();
    let handler = Log::new();
    record_exceptions(&lp, &handler);
    let rec = Rec {
        panic_in: Some("data_received"),
        ..Default::default()
    };
    let (_t, _p, mut peer, _dup) = connected(rec.clone());
    peer.write_all(b"data").unwrap();
    until(|| rec.lost()).await;
    assert_eq!(handler.len(), 1, "{:?}", handler.events());
    assert_eq!(rec.log.events()[..2], ["made", "data"]);
}

#[aloop::test]
async fn selector_events_selector_socket_transport_read_ready() {
    let rec = Rec::default();
    let (t, _p, mut peer, _dup) = connected(rec.clone());
    peer.write_all(b"data").unwrap();
    until(|| rec.data() == b"data").await;
    t.close();
}

/// End-of-stream: `eof_received`, which returns false, so the transport closes itself
/// and the protocol hears `connection_lost(None)`.
#[aloop::test]
async fn selector_events_selector_socket_transport_read_ready_eof() {
    let rec = Rec::default();
    let (t, _p, peer, _dup) = connected(rec.clone());
    peer.shutdown(Shutdown::Write).unwrap();
    until(|| rec.lost()).await;
    assert!(t.is_closing());
    rec.log.assert_eq(&["made", "eof", "lost: None"]);
}

/// `eof_received` returning true keeps the transport open: it can still write, and the
/// peer gets it.
#[aloop::test]
async fn selector_events_selector_socket_transport_read_ready_eof_keep_open() {
    let rec = Rec {
        keep_open: true,
        ..Default::default()
    };
    let (t, _p, mut peer, _dup) = connected(rec.clone());
    peer.shutdown(Shutdown::Write).unwrap();
    until(|| rec.log.events().contains(&"eof".to_string())).await;
    ticks(3).await;
    assert!(!t.is_closing());
    assert!(!rec.lost());
    t.write(b"still here").unwrap();
    assert_eq!(peer_read(&mut peer, Some(10)).await, b"still here");
    t.close();
    until(|| rec.lost()).await;
    rec.log.assert_eq(&["made", "eof", "lost: None"]);
}

/// A reset by the peer: `connection_lost` with ConnectionReset, nothing reported.
#[aloop::test]
async fn selector_events_selector_socket_transport_read_ready_conn_reset() {
    let lp = get_running_loop().unwrap();
    let handler = Log::new();
    record_exceptions(&lp, &handler);
    let rec = Rec::default();
    let (t, _p, peer, _dup) = connected(rec.clone());
    reset(peer);
    until(|| rec.lost()).await;
    assert!(t.is_closing());
    rec.log.assert_eq(&["made", "lost: ConnectionReset"]);
    handler.assert_eq(&[]);
}
