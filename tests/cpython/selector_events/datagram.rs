//! `SelectorDatagramTransportTests`: a UDP endpoint's transport receiving, sending, an
//! ICMP error on a connected endpoint (CPython's ConnectionRefusedError from a mocked
//! socket), and its refusals. The far end is a std `UdpSocket`. Neighbour: `stream.rs`.

use std::cell::RefCell;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::rc::Rc;
use std::time::Duration;

use aloop::{get_running_loop, DatagramAddr, DatagramProtocol, DatagramTransport, SendtoError};
use aloop_tests::cpython::ticks;
use aloop_tests::Log;

use super::{bounded, until, LIMIT};

/// The datagrams a [`DRec`] received, each with its sender.
type Received = Rc<RefCell<Vec<(Vec<u8>, DatagramAddr)>>>;

/// A datagram protocol recording what it hears: each datagram with its sender, and
/// "error: <kind>", "lost: ..." in its log.
#[derive(Clone, Default)]
struct DRec {
    log: Log,
    got: Received,
}

impl DatagramProtocol for DRec {
    fn datagram_received(&mut self, data: &[u8], addr: DatagramAddr) {
        self.got.borrow_mut().push((data.to_vec(), addr));
    }

    fn error_received(&mut self, error: io::Error) {
        self.log.push(format!("error: {:?}", error.kind()));
    }

    fn connection_lost(&mut self, error: Option<io::Error>) {
        self.log
            .push(format!("lost: {:?}", error.map(|e| e.kind())));
    }
}

/// An endpoint on 127.0.0.1, connected to `remote` if given.
async fn endpoint(rec: &DRec, remote: Option<SocketAddr>) -> (DatagramTransport, SocketAddr) {
    let lp = get_running_loop().unwrap();
    let r = rec.clone();
    let remote = remote.map(|a| (a.ip().to_string(), a.port()));
    let (t, _) = bounded(lp.create_datagram_endpoint(
        move || r,
        Some(("127.0.0.1", 0)),
        remote.as_ref().map(|(h, p)| (h.as_str(), *p)),
        Default::default(),
    ))
    .await
    .unwrap();
    let local = t.sockname().and_then(|a| a.as_inet()).unwrap();
    (t, local)
}

/// A std UDP socket on 127.0.0.1 with a read timeout.
fn peer() -> UdpSocket {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s
}

/// A UDP address nobody listens on (bound, then closed).
fn closed_port() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

#[aloop::test]
async fn selector_events_selector_datagram_transport_read_ready() {
    let rec = DRec::default();
    let (t, local) = endpoint(&rec, None).await;
    let p = peer();
    p.send_to(b"data", local).unwrap();
    until(|| !rec.got.borrow().is_empty()).await;
    let (data, from) = rec.got.borrow()[0].clone();
    assert_eq!(data, b"data");
    assert_eq!(from, DatagramAddr::Inet(p.local_addr().unwrap()));
    t.close();
}

/// A receive error (the ICMP "port unreachable" a connected endpoint gets after sending
/// to a closed port) goes to `error_received`; the transport stays open and receives
/// what comes next.
#[aloop::test]
async fn selector_events_selector_datagram_transport_read_ready_oserr() {
    let rec = DRec::default();
    let remote = closed_port();
    let (t, local) = endpoint(&rec, Some(remote)).await;
    t.sendto(b"data", None).unwrap();
    until(|| !rec.log.is_empty()).await;
    rec.log.assert_eq(&["error: ConnectionRefused"]);
    assert!(!t.is_closing());
    // The remote port comes to life: its datagrams are received.
    let revived = UdpSocket::bind(remote).unwrap();
    revived.send_to(b"back", local).unwrap();
    until(|| !rec.got.borrow().is_empty()).await;
    assert_eq!(rec.got.borrow()[0].0, b"back");
    t.close();
}

#[aloop::test]
async fn selector_events_selector_datagram_transport_sendto() {
    let rec = DRec::default();
    let (t, local) = endpoint(&rec, None).await;
    let p = peer();
    let to = DatagramAddr::Inet(p.local_addr().unwrap());
    t.sendto(b"data", Some(to)).unwrap();
    let got = bounded(aloop::to_thread(move || {
        let mut buf = [0u8; 16];
        let (n, from) = p.recv_from(&mut buf).unwrap();
        (buf[..n].to_vec(), from)
    }))
    .await
    .unwrap();
    assert_eq!(got, (b"data".to_vec(), local));
    t.close();
}

/// An empty datagram is sent as one.
#[aloop::test]
async fn selector_events_selector_datagram_transport_sendto_no_data() {
    let rec = DRec::default();
    let (t, local) = endpoint(&rec, None).await;
    let p = peer();
    t.sendto(b"", Some(DatagramAddr::Inet(p.local_addr().unwrap())))
        .unwrap();
    let got = bounded(aloop::to_thread(move || {
        let mut buf = [0u8; 16];
        p.recv_from(&mut buf).unwrap()
    }))
    .await
    .unwrap();
    assert_eq!(got, (0, local));
    t.close();
}

/// A connected endpoint whose peer is gone: the refusal goes to `error_received`, not
/// to a fatal error; the transport stays open and can send again.
#[aloop::test]
async fn selector_events_selector_datagram_transport_sendto_error_received_connected() {
    let rec = DRec::default();
    let (t, _) = endpoint(&rec, Some(closed_port())).await;
    t.sendto(b"data", None).unwrap();
    until(|| !rec.log.is_empty()).await;
    for _ in 0..10 {
        // Some of these meet the next ICMP error; none is fatal.
        let _ = t.sendto(b"data", None);
        aloop::sleep(Duration::from_millis(1)).await;
    }
    ticks(3).await;
    assert!(!t.is_closing());
    assert!(rec
        .log
        .events()
        .iter()
        .all(|e| e == "error: ConnectionRefused"));
    t.close();
}

/// On a connected endpoint, an address other than the peer's is refused (ValueError).
#[aloop::test]
async fn selector_events_selector_datagram_transport_sendto_connected_addr() {
    let rec = DRec::default();
    let remote = peer();
    let (t, _) = endpoint(&rec, Some(remote.local_addr().unwrap())).await;
    let other = DatagramAddr::Inet(closed_port());
    assert!(matches!(
        t.sendto(b"str", Some(other)),
        Err(SendtoError::WrongPeer { .. })
    ));
    t.close();
}

/// Difference (asyncio-mapping, datagrams: `sendto` after `close()` is
/// `SendtoError::Closing`): asyncio ignores the datagram (and counts it).
#[aloop::test]
async fn selector_events_selector_datagram_transport_sendto_closing() {
    let rec = DRec::default();
    let remote = peer();
    let (t, _) = endpoint(&rec, Some(remote.local_addr().unwrap())).await;
    t.close();
    assert!(matches!(t.sendto(b"data", None), Err(SendtoError::Closing)));
}
