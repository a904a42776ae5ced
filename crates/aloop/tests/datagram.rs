//! Datagram endpoints (asyncio's `create_datagram_endpoint`): 10,000 UDP datagrams
//! paced by acks, each checked; `error_received` for a refused datagram; `close`
//! flushing the queue before `connection_lost`; `abort` dropping it; flow control;
//! `sendto`'s address checks; a panicking callback; `SO_BROADCAST` and
//! `SO_REUSEPORT`; Unix datagrams; `localhost`; large datagrams; the loop closing.
//! Every wait is under a watchdog, so a hang fails the test instead of hanging it.

use std::cell::RefCell;
use std::io;
use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::os::unix::net::UnixDatagram as StdUnixDatagram;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

use aloop::{DatagramAddr, DatagramOptions, DatagramProtocol, DatagramTransport, SendtoError};

const WATCHDOG: Duration = Duration::from_secs(30);

/// Waits until `pred` holds for the protocol, failing the test after `WATCHDOG`.
async fn until<P>(p: &Rc<RefCell<P>>, what: &str, pred: impl Fn(&P) -> bool) {
    let deadline = Instant::now() + WATCHDOG;
    while !pred(&p.borrow()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        aloop::sleep(Duration::from_millis(1)).await;
    }
}

/// A protocol that records every callback, optionally echoing datagrams back and
/// panicking on one payload.
#[derive(Default)]
struct Recorder {
    transport: Option<DatagramTransport>,
    made: u32,
    got: Vec<(Vec<u8>, DatagramAddr)>,
    errors: Vec<io::Error>,
    /// `connection_lost` calls: whether each had an error.
    lost: Vec<Option<io::ErrorKind>>,
    /// "pause", "resume", "lost", in the order they came.
    events: Vec<&'static str>,
    echo: bool,
    panic_on: Option<Vec<u8>>,
}

impl Recorder {
    fn echo() -> Recorder {
        Recorder {
            echo: true,
            ..Recorder::default()
        }
    }
}

impl DatagramProtocol for Recorder {
    fn connection_made(&mut self, transport: DatagramTransport) {
        self.made += 1;
        self.transport = Some(transport);
    }
    fn datagram_received(&mut self, data: &[u8], addr: DatagramAddr) {
        if self.panic_on.as_deref() == Some(data) {
            panic!(
                "datagram_received panics on {:?}",
                String::from_utf8_lossy(data)
            );
        }
        if self.echo {
            self.transport
                .as_ref()
                .unwrap()
                .sendto(data, Some(addr.clone()))
                .unwrap();
        }
        self.got.push((data.to_vec(), addr));
    }
    fn error_received(&mut self, error: io::Error) {
        self.errors.push(error);
    }
    fn connection_lost(&mut self, error: Option<io::Error>) {
        self.lost.push(error.map(|e| e.kind()));
        self.events.push("lost");
    }
    fn pause_writing(&mut self) {
        self.events.push("pause");
    }
    fn resume_writing(&mut self) {
        self.events.push("resume");
    }
}

async fn udp<P: DatagramProtocol + 'static>(
    factory: impl FnOnce() -> P + 'static,
    local: Option<(&str, u16)>,
    remote: Option<(&str, u16)>,
) -> (DatagramTransport, Rc<RefCell<P>>) {
    aloop::create_datagram_endpoint(factory, local, remote, DatagramOptions::default())
        .await
        .expect("create_datagram_endpoint")
}

fn port_of(t: &DatagramTransport) -> u16 {
    t.sockname().unwrap().as_inet().unwrap().port()
}

/// A fresh directory for Unix socket paths, removed by the caller.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("aloop-dgram-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

// --- 10,000 datagrams, paced by acks -------------------------------------------------

const COUNT: u32 = 10_000;
/// Datagrams in flight: few enough that the receiver's socket buffer never fills, so
/// none is dropped on loopback and the test can demand every one.
const WINDOW: u32 = 32;

fn payload(seq: u32) -> Vec<u8> {
    let len = 4 + (seq as usize * 7919) % 1400;
    let mut p = seq.to_be_bytes().to_vec();
    p.extend((4..len).map(|i| (seq as u8).wrapping_mul(31).wrapping_add(i as u8)));
    p
}

/// Checks each datagram against `payload(seq)` and acks it with its sequence number.
#[derive(Default)]
struct Sink {
    transport: Option<DatagramTransport>,
    seen: Vec<bool>,
    received: u32,
    problems: Vec<String>,
}

impl DatagramProtocol for Sink {
    fn connection_made(&mut self, transport: DatagramTransport) {
        self.transport = Some(transport);
        self.seen = vec![false; COUNT as usize];
    }
    fn datagram_received(&mut self, data: &[u8], addr: DatagramAddr) {
        let seq = u32::from_be_bytes(data[..4].try_into().unwrap());
        if seq >= COUNT || data != payload(seq).as_slice() {
            self.problems
                .push(format!("bad datagram, seq {seq}, {} bytes", data.len()));
            return;
        }
        if std::mem::replace(&mut self.seen[seq as usize], true) {
            self.problems.push(format!("duplicate {seq}"));
        }
        self.received += 1;
        let ack = seq.to_be_bytes();
        self.transport
            .as_ref()
            .unwrap()
            .sendto(&ack, Some(addr))
            .unwrap();
    }
}

/// Sends `payload(0..COUNT)`, one more for each ack, `WINDOW` in flight.
#[derive(Default)]
struct Source {
    transport: Option<DatagramTransport>,
    next: u32,
    acked: Vec<bool>,
    acks: u32,
    errors: Vec<io::Error>,
}

impl Source {
    fn send_next(&mut self) {
        if self.next < COUNT {
            let p = payload(self.next);
            self.transport.as_ref().unwrap().sendto(&p, None).unwrap();
            self.next += 1;
        }
    }
}

impl DatagramProtocol for Source {
    fn connection_made(&mut self, transport: DatagramTransport) {
        self.transport = Some(transport);
        self.acked = vec![false; COUNT as usize];
    }
    fn datagram_received(&mut self, data: &[u8], _addr: DatagramAddr) {
        let seq = u32::from_be_bytes(data.try_into().unwrap()) as usize;
        assert!(
            !std::mem::replace(&mut self.acked[seq], true),
            "ack {seq} twice"
        );
        self.acks += 1;
        self.send_next();
    }
    fn error_received(&mut self, error: io::Error) {
        self.errors.push(error);
    }
}

#[test]
fn ten_thousand_udp_datagrams_arrive_each_once_and_intact() {
    aloop::run(async {
        let (server, sink) = udp(Sink::default, Some(("127.0.0.1", 0)), None).await;
        let port = port_of(&server);
        let (client, source) = udp(Source::default, None, Some(("127.0.0.1", port))).await;
        for _ in 0..WINDOW {
            source.borrow_mut().send_next();
        }
        until(&source, "every ack", |s| s.acks == COUNT).await;
        let sink = sink.borrow();
        assert_eq!(sink.problems, Vec::<String>::new());
        assert_eq!(sink.received, COUNT);
        assert!(sink.seen.iter().all(|&s| s));
        let source = source.borrow();
        assert!(source.acked.iter().all(|&a| a));
        assert!(source.errors.is_empty(), "{:?}", source.errors);
        client.close();
        server.close();
    });
}

// --- errors ----------------------------------------------------------------------------

#[test]
fn a_refused_datagram_on_a_connected_endpoint_is_error_received_and_the_endpoint_runs_on() {
    aloop::run(async {
        // Bind then drop a socket: its port is free, so nothing listens there.
        let port = StdUdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let (t, p) = udp(Recorder::default, None, Some(("127.0.0.1", port))).await;
        t.sendto(b"anyone?", None).unwrap();
        until(&p, "error_received", |p| !p.errors.is_empty()).await;
        {
            let e = &p.borrow().errors[0];
            assert_eq!(e.raw_os_error(), Some(libc::ECONNREFUSED), "{e}");
            assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        }
        assert!(!t.is_closing());
        assert!(p.borrow().lost.is_empty());
        // Still running: a peer appears on that port, and both directions work.
        let peer = StdUdpSocket::bind(("127.0.0.1", port)).unwrap();
        peer.set_read_timeout(Some(WATCHDOG)).unwrap();
        t.sendto(b"now?", None).unwrap();
        let mut buf = [0u8; 16];
        let (n, from) = peer.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"now?");
        peer.send_to(b"yes", from).unwrap();
        until(&p, "the reply", |p| !p.got.is_empty()).await;
        assert_eq!(p.borrow().got[0].0, b"yes");
        t.close();
        until(&p, "connection_lost", |p| !p.lost.is_empty()).await;
        assert_eq!(p.borrow().lost, [None]);
    });
}

#[test]
fn sendto_checks_the_address() {
    aloop::run(async {
        let (server, got) = udp(Recorder::default, Some(("127.0.0.1", 0)), None).await;
        let server_addr = server.sockname().unwrap();
        let (client, _) = udp(|| (), None, Some(("127.0.0.1", port_of(&server)))).await;
        assert_eq!(client.peername(), Some(server_addr.clone()));

        let elsewhere: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let e = client.sendto(b"x", Some(elsewhere.into())).unwrap_err();
        assert_eq!(
            e,
            SendtoError::WrongPeer {
                given: elsewhere.into(),
                peer: server_addr.clone()
            }
        );
        let io_error = io::Error::from(e);
        assert_eq!(io_error.kind(), io::ErrorKind::InvalidInput);
        assert!(io_error
            .get_ref()
            .unwrap()
            .downcast_ref::<SendtoError>()
            .is_some());
        // None and the peer's own address are both fine.
        client.sendto(b"none", None).unwrap();
        client.sendto(b"peer", Some(server_addr.clone())).unwrap();
        until(&got, "both datagrams", |p| p.got.len() == 2).await;
        assert_eq!(got.borrow().got[0].0, b"none");
        assert_eq!(got.borrow().got[1].0, b"peer");

        // An unconnected endpoint needs an address, of its own family.
        assert_eq!(server.sendto(b"x", None), Err(SendtoError::NoAddress));
        let path = DatagramAddr::from("/tmp/nowhere.sock");
        assert_eq!(
            server.sendto(b"x", Some(path.clone())),
            Err(SendtoError::Unreachable(path))
        );
        client.close();
        assert_eq!(client.sendto(b"late", None), Err(SendtoError::Closing));
        server.close();
    });
}

#[test]
fn a_panicking_datagram_received_is_reported_and_the_next_datagram_arrives() {
    let lp = aloop::new_event_loop();
    let reports = Rc::new(RefCell::new(Vec::new()));
    let r = reports.clone();
    lp.set_exception_handler(Some(move |ctx: &aloop::ExceptionContext| {
        let panic = ctx.panic.as_ref().map(|p| p.message().to_string());
        r.borrow_mut().push((ctx.message.clone(), panic));
    }));
    lp.run_until_complete(async {
        let factory = || Recorder {
            panic_on: Some(b"boom".to_vec()),
            ..Recorder::default()
        };
        let (server, p) = udp(factory, Some(("127.0.0.1", 0)), None).await;
        let (client, _) = udp(|| (), None, Some(("127.0.0.1", port_of(&server)))).await;
        client.sendto(b"boom", None).unwrap();
        client.sendto(b"after", None).unwrap();
        until(&p, "the datagram after the panic", |p| !p.got.is_empty()).await;
        assert_eq!(p.borrow().got.len(), 1);
        assert_eq!(p.borrow().got[0].0, b"after");
        assert!(!server.is_closing());
        client.close();
        server.close();
    })
    .unwrap();
    let reports = reports.borrow();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].0, "Exception in callback");
    assert!(
        reports[0].1.as_deref().unwrap().contains("boom"),
        "{reports:?}"
    );
}

// --- closing, aborting, flow control (Unix datagrams: a full peer blocks the sender) --

const QUEUED_SIZE: usize = 1024;
const SENT: u32 = 400;

fn numbered(seq: u32) -> Vec<u8> {
    let mut d = vec![(seq % 251) as u8; QUEUED_SIZE];
    d[..4].copy_from_slice(&seq.to_be_bytes());
    d
}

/// A plain Unix datagram socket at `dir/peer.sock` that nobody reads yet, and an
/// endpoint connected to it that has sent `SENT` datagrams, so that some are queued
/// (the peer's receive queue fills long before).
async fn unix_sender_with_a_queue(
    dir: &std::path::Path,
    limits: Option<(usize, usize)>,
) -> (StdUnixDatagram, DatagramTransport, Rc<RefCell<Recorder>>) {
    let peer_path = dir.join("peer.sock");
    let peer = StdUnixDatagram::bind(&peer_path).unwrap();
    let (t, p) =
        aloop::create_unix_datagram_endpoint(Recorder::default, None, Some(peer_path.as_path()))
            .await
            .unwrap();
    if let Some((high, low)) = limits {
        t.set_write_buffer_limits(Some(high), Some(low)).unwrap();
    }
    for seq in 0..SENT {
        t.sendto(&numbered(seq), None).unwrap();
    }
    let queued = t.get_write_buffer_size();
    assert!(
        queued > 0,
        "nothing was queued: the test cannot see the queue"
    );
    assert_eq!(queued % QUEUED_SIZE, 0);
    (peer, t, p)
}

/// Reads `n` datagrams from `peer` on another thread (the loop must keep running).
fn read_on_a_thread(peer: StdUnixDatagram, n: u32) -> std::thread::JoinHandle<Vec<Vec<u8>>> {
    std::thread::spawn(move || {
        peer.set_read_timeout(Some(WATCHDOG)).unwrap();
        let mut buf = vec![0u8; 4 * QUEUED_SIZE];
        (0..n)
            .map(|_| {
                let len = peer.recv(&mut buf).expect("a datagram within the watchdog");
                buf[..len].to_vec()
            })
            .collect()
    })
}

#[test]
fn close_sends_every_queued_datagram_then_calls_connection_lost_once() {
    let dir = temp_dir("close");
    let d = dir.clone();
    aloop::run(async move {
        let (peer, t, p) = unix_sender_with_a_queue(&d, None).await;
        t.close();
        assert!(t.is_closing());
        assert_eq!(t.sendto(b"late", None), Err(SendtoError::Closing));
        // Let the endpoint run a while: with the peer full, it must not end.
        aloop::sleep(Duration::from_millis(20)).await;
        assert!(
            p.borrow().lost.is_empty(),
            "connection_lost before the queue was sent"
        );
        assert!(t.get_write_buffer_size() > 0);
        let reader = read_on_a_thread(peer, SENT);
        until(&p, "connection_lost", |p| !p.lost.is_empty()).await;
        assert_eq!(t.get_write_buffer_size(), 0);
        let got = reader.join().unwrap();
        assert_eq!(got.len(), SENT as usize);
        for (seq, d) in got.iter().enumerate() {
            assert_eq!(d, &numbered(seq as u32), "datagram {seq}");
        }
        aloop::sleep(Duration::from_millis(10)).await;
        assert_eq!(p.borrow().lost, [None]);
        assert!(p.borrow().errors.is_empty(), "{:?}", p.borrow().errors);
        assert!(t.socket().is_none(), "the socket outlived connection_lost");
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn abort_drops_the_queued_datagrams() {
    let dir = temp_dir("abort");
    let d = dir.clone();
    aloop::run(async move {
        let (peer, t, p) = unix_sender_with_a_queue(&d, None).await;
        let queued = (t.get_write_buffer_size() / QUEUED_SIZE) as u32;
        let sent_at_once = SENT - queued;
        t.abort();
        assert!(t.is_closing());
        assert_eq!(t.get_write_buffer_size(), 0);
        assert_eq!(t.sendto(b"late", None), Err(SendtoError::Closing));
        until(&p, "connection_lost", |p| !p.lost.is_empty()).await;
        aloop::sleep(Duration::from_millis(10)).await;
        assert_eq!(p.borrow().lost, [None]);
        // The peer holds exactly the datagrams that left before the queue began.
        peer.set_nonblocking(true).unwrap();
        let mut buf = vec![0u8; 4 * QUEUED_SIZE];
        let mut seq = 0;
        while let Ok(len) = peer.recv(&mut buf) {
            assert_eq!(&buf[..len], numbered(seq).as_slice());
            seq += 1;
        }
        assert_eq!(seq, sent_at_once);
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_queue_past_the_high_water_mark_pauses_writing_and_resumes_at_the_low() {
    let dir = temp_dir("flow");
    let d = dir.clone();
    aloop::run(async move {
        let (high, low) = (8 * QUEUED_SIZE, 2 * QUEUED_SIZE);
        let (peer, t, p) = unix_sender_with_a_queue(&d, Some((high, low))).await;
        assert!(t.get_write_buffer_size() > high);
        assert_eq!(t.get_write_buffer_limits(), (low, high));
        until(&p, "pause_writing", |p| !p.events.is_empty()).await;
        let reader = read_on_a_thread(peer, SENT);
        until(&p, "resume_writing", |p| p.events.len() >= 2).await;
        assert_eq!(p.borrow().events, ["pause", "resume"]);
        assert!(t.get_write_buffer_size() <= low);
        t.close();
        until(&p, "connection_lost", |p| !p.lost.is_empty()).await;
        assert_eq!(reader.join().unwrap().len(), SENT as usize);
        assert_eq!(p.borrow().events, ["pause", "resume", "lost"]);
        assert!(t.set_write_buffer_limits(Some(1), Some(2)).is_err());
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn connection_lost_is_called_once_when_the_loop_closes_with_the_endpoint_open() {
    let lp = aloop::new_event_loop();
    let (t, p) = lp
        .run_until_complete(udp(Recorder::default, Some(("127.0.0.1", 0)), None))
        .unwrap();
    assert_eq!(p.borrow().made, 1);
    assert!(p.borrow().lost.is_empty());
    lp.close().unwrap();
    assert_eq!(p.borrow().lost, [None]);
    assert!(t.is_closing());
    assert!(t.socket().is_none());
}

// --- socket options ----------------------------------------------------------------------

#[test]
fn allow_broadcast_sets_so_broadcast_and_leaves_the_socket_unconnected() {
    aloop::run(async {
        let (server, got) = udp(Recorder::default, Some(("127.0.0.1", 0)), None).await;
        let options = DatagramOptions {
            allow_broadcast: true,
            ..Default::default()
        };
        let remote = Some(("127.0.0.1", port_of(&server)));
        let (t, _) = aloop::create_datagram_endpoint(|| (), None, remote, options)
            .await
            .unwrap();
        let sock = t.socket().unwrap();
        assert!(socket2::SockRef::from(&sock).broadcast().unwrap());
        assert!(!socket2::SockRef::from(&server.socket().unwrap())
            .broadcast()
            .unwrap());
        // As asyncio: not connected, but `sendto(data, None)` goes to remote_addr.
        assert_eq!(t.peername(), None);
        t.sendto(b"to remote_addr", None).unwrap();
        until(&got, "the datagram", |p| !p.got.is_empty()).await;
        assert_eq!(got.borrow().got[0].0, b"to remote_addr");
        t.close();
        server.close();
    });
}

#[test]
fn reuse_port_lets_two_endpoints_bind_one_port() {
    aloop::run(async {
        let options = DatagramOptions {
            reuse_port: true,
            ..Default::default()
        };
        let (a, _) = aloop::create_datagram_endpoint(|| (), Some(("127.0.0.1", 0)), None, options)
            .await
            .unwrap();
        let port = port_of(&a);
        let local = Some(("127.0.0.1", port));
        let (b, _) = aloop::create_datagram_endpoint(|| (), local, None, options)
            .await
            .unwrap();
        assert_eq!(port_of(&b), port);
        assert!(socket2::SockRef::from(&b.socket().unwrap())
            .reuse_port()
            .unwrap());
        // Without it, the port is taken (the OS error comes back as it is).
        let e = aloop::create_datagram_endpoint(|| (), local, None, DatagramOptions::default())
            .await
            .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EADDRINUSE), "{e}");
        a.close();
        b.close();
    });
}

// --- Unix datagrams, names, sizes -----------------------------------------------------

#[test]
fn unix_datagram_endpoints_round_trip() {
    let dir = temp_dir("round-trip");
    let (server_path, client_path) = (dir.join("server.sock"), dir.join("client.sock"));
    let (s, c) = (server_path.clone(), client_path.clone());
    aloop::run(async move {
        let (server, sp) =
            aloop::create_unix_datagram_endpoint(Recorder::echo, Some(s.as_path()), None)
                .await
                .unwrap();
        let (client, cp) = aloop::create_unix_datagram_endpoint(
            Recorder::default,
            Some(c.as_path()),
            Some(s.as_path()),
        )
        .await
        .unwrap();
        assert_eq!(server.sockname(), Some(DatagramAddr::from(s.as_path())));
        assert_eq!(client.peername(), Some(DatagramAddr::from(s.as_path())));
        client.sendto(b"ping", None).unwrap();
        until(&cp, "the echo", |p| !p.got.is_empty()).await;
        assert_eq!(
            sp.borrow().got,
            [(b"ping".to_vec(), DatagramAddr::from(c.as_path()))]
        );
        assert_eq!(
            cp.borrow().got,
            [(b"ping".to_vec(), DatagramAddr::from(s.as_path()))]
        );
        client.close();
        server.close();
        until(&sp, "connection_lost", |p| !p.lost.is_empty()).await;
    });
    // A stale socket file left at the path is replaced, as asyncio does.
    assert!(server_path.exists());
    aloop::run(async move {
        let (t, _) = aloop::create_unix_datagram_endpoint(|| (), Some(server_path.as_path()), None)
            .await
            .unwrap();
        t.close();
    });
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn localhost_is_resolved_for_both_addresses() {
    aloop::run(async {
        let (server, sp) = udp(Recorder::echo, Some(("localhost", 0)), None).await;
        let port = port_of(&server);
        let (client, cp) = udp(Recorder::default, None, Some(("localhost", port))).await;
        assert!(client
            .peername()
            .unwrap()
            .as_inet()
            .unwrap()
            .ip()
            .is_loopback());
        client.sendto(b"hello localhost", None).unwrap();
        until(&cp, "the echo", |p| !p.got.is_empty()).await;
        assert_eq!(cp.borrow().got[0].0, b"hello localhost");
        assert_eq!(sp.borrow().got[0].0, b"hello localhost");
        // A failed lookup is asyncio's gaierror, not a bare message.
        let unknown = Some(("no-such-host.invalid", 0));
        let e = aloop::create_datagram_endpoint(|| (), unknown, None, DatagramOptions::default())
            .await
            .unwrap_err();
        assert!(aloop::GaiError::of(&e).is_some(), "{e:?}");
        client.close();
        server.close();
    });
}

#[test]
fn datagrams_larger_than_9_kib_arrive_whole() {
    // 65,507 bytes is the largest UDP payload over IPv4.
    let sizes = [9 * 1024 + 1, 32 * 1024, 60_000, 65_507];
    aloop::run(async move {
        let (server, got) = udp(Recorder::default, Some(("127.0.0.1", 0)), None).await;
        let (client, _) = udp(|| (), None, Some(("127.0.0.1", port_of(&server)))).await;
        let data = |n: usize| (0..n).map(|i| (i % 253) as u8).collect::<Vec<u8>>();
        for n in sizes {
            client.sendto(&data(n), None).unwrap();
        }
        until(&got, "every datagram", |p| p.got.len() == sizes.len()).await;
        for (n, (d, _)) in sizes.iter().zip(&got.borrow().got) {
            assert_eq!(d.len(), *n);
            assert_eq!(d, &data(*n));
        }
        client.close();
        server.close();
    });
}
