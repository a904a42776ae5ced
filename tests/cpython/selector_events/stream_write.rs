//! The writing half of `SelectorSocketTransportTests`: what `write` / `writelines` send
//! at once and what they queue (CPython mocks `send` returning a part, nothing, or
//! BlockingIOError; here the socket's send buffer is really full), the water marks,
//! `write_eof`, and writes after the end. Neighbours: `stream.rs`, `buffered.rs`.

use std::io;

use aloop_tests::cpython::ticks;

use super::{connected, fill_send_buffer, peer_read, reset, until, Rec};

/// A write on an idle socket goes out: the peer gets it and nothing stays queued.
#[aloop::test]
async fn selector_events_selector_socket_transport_write() {
    let (t, _p, mut peer, _dup) = connected(Rec::default());
    t.write(b"data").unwrap();
    assert_eq!(peer_read(&mut peer, Some(4)).await, b"data");
    assert_eq!(t.get_write_buffer_size(), 0);
    t.close();
}

/// An empty write changes nothing, with bytes queued or not.
#[aloop::test]
async fn selector_events_selector_socket_transport_write_no_data() {
    let (t, _p, _peer, dup) = connected(Rec::default());
    t.write(b"").unwrap();
    assert_eq!(t.get_write_buffer_size(), 0);
    fill_send_buffer(&dup);
    t.write(b"data").unwrap();
    t.write(b"").unwrap();
    assert_eq!(t.get_write_buffer_size(), 4);
    t.abort();
}

/// With bytes queued, a write is queued behind them, and they go out in order.
#[aloop::test]
async fn selector_events_selector_socket_transport_write_buffer() {
    let (t, _p, mut peer, dup) = connected(Rec::default());
    fill_send_buffer(&dup);
    t.write(b"data1").unwrap();
    t.write(b"data2").unwrap();
    assert_eq!(t.get_write_buffer_size(), 10);
    t.close();
    assert!(peer_read(&mut peer, None).await.ends_with(b"data1data2"));
}

/// A write larger than the socket takes: the rest is queued, then sent in order.
#[aloop::test]
async fn selector_events_selector_socket_transport_write_partial() {
    let (t, _p, mut peer, dup) = connected(Rec::default());
    socket2::SockRef::from(&dup)
        .set_send_buffer_size(4096)
        .unwrap();
    let data: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    t.write(&data).unwrap();
    let queued = t.get_write_buffer_size();
    assert!(queued > 0 && queued < data.len(), "{queued}");
    assert!(peer_read(&mut peer, Some(data.len())).await == data);
    until(|| t.get_write_buffer_size() == 0).await;
    t.close();
}

/// A write when the socket takes nothing: all of it is queued.
#[aloop::test]
async fn selector_events_selector_socket_transport_write_tryagain() {
    let (t, _p, mut peer, dup) = connected(Rec::default());
    fill_send_buffer(&dup);
    t.write(b"data").unwrap();
    assert_eq!(t.get_write_buffer_size(), 4);
    t.close();
    assert!(peer_read(&mut peer, None).await.ends_with(b"data"));
}

#[aloop::test]
async fn selector_events_selector_socket_transport_writelines_send_full() {
    let (t, _p, mut peer, _dup) = connected(Rec::default());
    t.writelines([&b"da"[..], b"ta"]).unwrap();
    assert_eq!(peer_read(&mut peer, Some(4)).await, b"data");
    until(|| t.get_write_buffer_size() == 0).await;
    t.close();
}

/// `writelines` of more than the socket takes: the rest is queued, then sent.
#[aloop::test]
async fn selector_events_selector_socket_transport_writelines_send_partial() {
    let (t, _p, mut peer, dup) = connected(Rec::default());
    socket2::SockRef::from(&dup)
        .set_send_buffer_size(4096)
        .unwrap();
    let part: Vec<u8> = vec![7u8; 1 << 19];
    t.writelines([&part, &part]).unwrap();
    // Past the loop's batch too: what is queued is what the socket did not take.
    ticks(2).await;
    assert!(t.get_write_buffer_size() > 0);
    assert_eq!(peer_read(&mut peer, Some(1 << 20)).await.len(), 1 << 20);
    until(|| t.get_write_buffer_size() == 0).await;
    t.close();
}

/// Queued bytes above the high-water mark pause the protocol; once they drain, it
/// resumes.
#[aloop::test]
async fn selector_events_selector_socket_transport_writelines_pauses_protocol() {
    let rec = Rec::default();
    let (t, _p, mut peer, dup) = connected(rec.clone());
    t.set_write_buffer_limits(Some(1), None).unwrap();
    fill_send_buffer(&dup);
    t.writelines([b"data"]).unwrap();
    until(|| rec.log.events().contains(&"pause_writing".to_string())).await;
    drop(dup);
    while t.get_write_buffer_size() > 0 {
        peer_read(&mut peer, Some(1)).await;
    }
    until(|| rec.log.events().contains(&"resume_writing".to_string())).await;
    t.close();
    until(|| rec.lost()).await;
    rec.log
        .assert_eq(&["made", "pause_writing", "resume_writing", "lost: None"]);
}

/// Difference (docs/asyncio-mapping.md, `transport.write`: an error once the connection
/// failed): after the connection is lost, `writelines` fails with the connection's
/// error (asyncio drops the bytes silently) and queues nothing.
#[aloop::test]
async fn selector_events_selector_socket_transport_writelines_after_connection_lost() {
    let rec = Rec::default();
    let (t, _p, peer, _dup) = connected(rec.clone());
    reset(peer);
    until(|| rec.lost()).await;
    assert!(t.writelines([b"data2"]).is_err());
    assert_eq!(t.get_write_buffer_size(), 0);
    assert!(t.writelines([b"data2"]).is_err());
    assert_eq!(t.get_write_buffer_size(), 0);
}

/// Difference: after the socket failed, each write fails with the connection's error
/// (asyncio: the first failure is fatal, later writes are dropped with a warning after
/// five); nothing is queued and nothing panics.
#[aloop::test]
async fn selector_events_selector_socket_transport_write_exception() {
    let rec = Rec::default();
    let (t, _p, peer, _dup) = connected(rec.clone());
    reset(peer);
    until(|| rec.lost()).await;
    for _ in 0..6 {
        let err = t.write(b"data").unwrap_err();
        assert!(
            matches!(
                err.kind(),
                io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
            ),
            "{err:?}"
        );
    }
    assert_eq!(t.get_write_buffer_size(), 0);
}

/// Difference (asyncio-mapping, `transport.write`): a write after `close()` fails with
/// `BrokenPipe`; asyncio ignores it (and counts it).
#[aloop::test]
async fn selector_events_selector_socket_transport_write_closing() {
    let (t, _p, _peer, _dup) = connected(Rec::default());
    t.close();
    let err = t.write(b"data").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
}

/// Queued bytes go out once the socket takes them again.
#[aloop::test]
async fn selector_events_selector_socket_transport_write_ready() {
    let (t, _p, mut peer, dup) = connected(Rec::default());
    fill_send_buffer(&dup);
    t.write(b"data").unwrap();
    assert_eq!(t.get_write_buffer_size(), 4);
    let mut got = Vec::new();
    while !got.ends_with(b"data") {
        got.extend(peer_read(&mut peer, Some(1)).await);
    }
    until(|| t.get_write_buffer_size() == 0).await;
    t.close();
}

/// Closing with bytes queued: once they are out, the socket is closed and the protocol
/// hears `connection_lost(None)`.
#[aloop::test]
async fn selector_events_selector_socket_transport_write_ready_closing() {
    let rec = Rec::default();
    let (t, _p, mut peer, dup) = connected(rec.clone());
    fill_send_buffer(&dup);
    t.write(b"data").unwrap();
    t.close();
    drop(dup);
    assert!(peer_read(&mut peer, None).await.ends_with(b"data"));
    until(|| rec.lost()).await;
    rec.log.assert_eq(&["made", "lost: None"]);
}

/// `write_eof`: the peer reads end-of-stream; a second call changes nothing; the other
/// direction stays open.
#[aloop::test]
async fn selector_events_selector_socket_transport_write_eof() {
    let rec = Rec::default();
    let (t, _p, mut peer, _dup) = connected(rec.clone());
    assert!(t.can_write_eof());
    t.write_eof().unwrap();
    t.write_eof().unwrap();
    assert!(peer_read(&mut peer, None).await.is_empty());
    std::io::Write::write_all(&mut peer, b"reply").unwrap();
    until(|| rec.data() == b"reply").await;
    t.close();
}

/// `write_eof` with bytes queued: they go out first, then the end-of-stream.
#[aloop::test]
async fn selector_events_selector_socket_transport_write_eof_buffer() {
    let (t, _p, mut peer, dup) = connected(Rec::default());
    fill_send_buffer(&dup);
    t.write(b"data").unwrap();
    t.write_eof().unwrap();
    assert_eq!(t.get_write_buffer_size(), 4);
    drop(dup);
    assert!(peer_read(&mut peer, None).await.ends_with(b"data"));
    t.close();
}

/// `write_eof` after `close()` does not fail.
#[aloop::test]
async fn selector_events_selector_socket_transport_write_eof_after_close() {
    let (t, _p, _peer, _dup) = connected(Rec::default());
    t.close();
    ticks(1).await;
    t.write_eof().unwrap();
}

/// gh-115514: closed while paused with bytes queued, the queued bytes still all go out
/// before `connection_lost`. Difference: asyncio then calls `resume_writing` as the queue
/// drains and sends what the protocol writes in it; aloop does not resume a protocol
/// whose transport is closing (a write then would be refused anyway: `BrokenPipe` after
/// `close()`, asyncio-mapping), so nothing follows the queued bytes.
#[aloop::test]
async fn selector_events_selector_socket_transport_write_buffer_after_close() {
    let rec = Rec {
        write_on_resume: Some(b"more"),
        ..Default::default()
    };
    let (t, _p, mut peer, dup) = connected(rec.clone());
    t.set_write_buffer_limits(Some(1), None).unwrap();
    fill_send_buffer(&dup);
    t.write(b"data").unwrap();
    until(|| rec.log.events().contains(&"pause_writing".to_string())).await;
    t.close();
    ticks(3).await;
    assert!(!rec.lost(), "lost with bytes still queued");
    drop(dup);
    let got = peer_read(&mut peer, None).await;
    assert!(got.ends_with(b"data"), "the queued bytes, last");
    until(|| rec.lost()).await;
    rec.log.assert_eq(&["made", "pause_writing", "lost: None"]);
    assert_eq!(*rec.refused_on_resume.borrow(), None);
}
