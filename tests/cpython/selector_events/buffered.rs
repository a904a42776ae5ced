//! `SelectorSocketTransportBufferedProtocolTests`: the socket transport reading into a
//! `BufferedProtocol`'s own buffer (CPython's is one byte long, kept here), its
//! failures (`get_buffer` or `buffer_updated` panicking, an empty buffer) and endings.
//! Neighbours: `stream.rs`, `stream_write.rs`.

use std::cell::RefCell;
use std::io::Write;
use std::net::Shutdown;
use std::rc::Rc;

use aloop::{get_running_loop, Buffered, BufferedProtocol, Transport};
use aloop_tests::cpython::ticks;
use aloop_tests::{record_exceptions, Log};

use super::{connected, peer_read, reset, until};

/// A buffered protocol recording its callbacks ("made", "updated", "eof", "lost: ..."),
/// with CPython's knobs: the buffer's size, a callback that panics, what
/// `eof_received` returns.
#[derive(Clone)]
struct BufRec {
    log: Log,
    buf: Vec<u8>,
    data: Rc<RefCell<Vec<u8>>>,
    panic_in: Option<&'static str>,
    keep_open: bool,
}

impl BufRec {
    fn new(size: usize) -> BufRec {
        BufRec {
            log: Log::new(),
            buf: vec![0; size],
            data: Rc::default(),
            panic_in: None,
            keep_open: false,
        }
    }

    fn lost(&self) -> bool {
        self.log.events().iter().any(|e| e.starts_with("lost"))
    }
}

impl BufferedProtocol for BufRec {
    fn connection_made(&mut self, _transport: Transport) {
        self.log.push("made");
    }

    fn get_buffer(&mut self, _size_hint: usize) -> &mut [u8] {
        if self.panic_in == Some("get_buffer") {
            panic!("get_buffer failed");
        }
        &mut self.buf
    }

    fn buffer_updated(&mut self, nbytes: usize) {
        self.log.push("updated");
        if self.panic_in == Some("buffer_updated") {
            panic!("buffer_updated failed");
        }
        self.data
            .borrow_mut()
            .extend_from_slice(&self.buf[..nbytes]);
    }

    fn eof_received(&mut self) -> bool {
        self.log.push("eof");
        if self.panic_in == Some("eof_received") {
            panic!("eof_received failed");
        }
        self.keep_open
    }

    fn connection_lost(&mut self, error: Option<std::io::Error>) {
        self.log.push(match error {
            None => "lost: None".to_string(),
            Some(e) => format!("lost: {:?}", e.kind()),
        });
    }
}

#[aloop::test]
async fn selector_events_selector_socket_transport_buffered_protocol_ctor() {
    let rec = BufRec::new(1);
    let (t, _p, _peer, _dup) = connected(Buffered(rec.clone()));
    rec.log.assert_eq(&["made"]);
    assert!(t.is_reading());
    t.close();
}

/// A panic in `get_buffer` is reported and ends the connection; `buffer_updated` is
/// never called.
#[aloop::test]
async fn selector_events_selector_socket_transport_buffered_protocol_get_buffer_error() {
    let lp = get_running_loop().unwrap();
    let handler = Log::new();
    record_exceptions(&lp, &handler);
    let mut rec = BufRec::new(1);
    rec.panic_in = Some("get_buffer");
    let (_t, _p, mut peer, _dup) = connected(Buffered(rec.clone()));
    peer.write_all(b"data").unwrap();
    until(|| rec.lost()).await;
    assert_eq!(handler.len(), 1, "{:?}", handler.events());
    assert!(!rec.log.events().contains(&"updated".to_string()));
}

/// An empty buffer ends the connection with an error; `buffer_updated` is never called.
#[aloop::test]
async fn selector_events_selector_socket_transport_buffered_protocol_get_buffer_zerosized() {
    let rec = BufRec::new(0);
    let (_t, _p, mut peer, _dup) = connected(Buffered(rec.clone()));
    peer.write_all(b"data").unwrap();
    until(|| rec.lost()).await;
    rec.log.assert_eq(&["made", "lost: InvalidInput"]);
}

/// A panic in `buffer_updated` is reported and ends the connection.
#[aloop::test]
async fn selector_events_selector_socket_transport_buffered_protocol_buffer_updated_error() {
    let lp = get_running_loop().unwrap();
    let handler = Log::new();
    record_exceptions(&lp, &handler);
    let mut rec = BufRec::new(1);
    rec.panic_in = Some("buffer_updated");
    let (_t, _p, mut peer, _dup) = connected(Buffered(rec.clone()));
    peer.write_all(b"data").unwrap();
    until(|| rec.lost()).await;
    assert_eq!(handler.len(), 1, "{:?}", handler.events());
    assert_eq!(rec.log.events()[..2], ["made", "updated"]);
}

/// A panic in `eof_received` is reported and ends the connection.
#[aloop::test]
async fn selector_events_selector_socket_transport_buffered_protocol_read_eof_received_error() {
    let lp = get_running_loop().unwrap();
    let handler = Log::new();
    record_exceptions(&lp, &handler);
    let mut rec = BufRec::new(1);
    rec.panic_in = Some("eof_received");
    let (_t, _p, peer, _dup) = connected(Buffered(rec.clone()));
    peer.shutdown(Shutdown::Write).unwrap();
    until(|| rec.lost()).await;
    assert_eq!(handler.len(), 1, "{:?}", handler.events());
    assert_eq!(rec.log.events()[..2], ["made", "eof"]);
}

/// Data through the one-byte buffer: `buffer_updated` once per byte, all of it kept.
#[aloop::test]
async fn selector_events_selector_socket_transport_buffered_protocol_read_ready() {
    let rec = BufRec::new(1);
    let (t, _p, mut peer, _dup) = connected(Buffered(rec.clone()));
    peer.write_all(b"data").unwrap();
    until(|| *rec.data.borrow() == b"data").await;
    rec.log
        .assert_eq(&["made", "updated", "updated", "updated", "updated"]);
    t.close();
}

#[aloop::test]
async fn selector_events_selector_socket_transport_buffered_protocol_read_ready_eof() {
    let rec = BufRec::new(1);
    let (t, _p, peer, _dup) = connected(Buffered(rec.clone()));
    peer.shutdown(Shutdown::Write).unwrap();
    until(|| rec.lost()).await;
    assert!(t.is_closing());
    rec.log.assert_eq(&["made", "eof", "lost: None"]);
}

#[aloop::test]
async fn selector_events_selector_socket_transport_buffered_protocol_read_ready_eof_keep_open() {
    let mut rec = BufRec::new(1);
    rec.keep_open = true;
    let (t, _p, mut peer, _dup) = connected(Buffered(rec.clone()));
    peer.shutdown(Shutdown::Write).unwrap();
    until(|| rec.log.events().contains(&"eof".to_string())).await;
    ticks(3).await;
    assert!(!t.is_closing() && !rec.lost());
    t.write(b"still here").unwrap();
    assert_eq!(peer_read(&mut peer, Some(10)).await, b"still here");
    t.close();
    until(|| rec.lost()).await;
}

#[aloop::test]
async fn selector_events_selector_socket_transport_buffered_protocol_read_ready_conn_reset() {
    let lp = get_running_loop().unwrap();
    let handler = Log::new();
    record_exceptions(&lp, &handler);
    let rec = BufRec::new(1);
    let (_t, _p, peer, _dup) = connected(Buffered(rec.clone()));
    reset(peer);
    until(|| rec.lost()).await;
    rec.log.assert_eq(&["made", "lost: ConnectionReset"]);
    handler.assert_eq(&[]);
}
