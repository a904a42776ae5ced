//! Transports and protocols (asyncio's lower layer): the order of the callbacks,
//! `connection_lost` exactly once (also on a reset), pausing reading without losing a
//! byte, the write-buffer water marks, abort, buffered protocols, half-close, Unix
//! sockets, accepted sockets, panics, and servers that start serving later.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::time::{Duration, Instant};

use aloop::{Buffered, BufferedProtocol, Protocol, ServerOptions, Transport};

type Log = Rc<RefCell<Vec<String>>>;

/// Records every callback; answers "pong" to a "ping" and keeps the transport.
struct Recorder {
    log: Log,
    transport: Option<Transport>,
    received: Vec<u8>,
    keep_open_on_eof: bool,
}

impl Recorder {
    fn new(log: &Log) -> Recorder {
        Recorder {
            log: log.clone(),
            transport: None,
            received: Vec::new(),
            keep_open_on_eof: false,
        }
    }
}

impl Protocol for Recorder {
    fn connection_made(&mut self, transport: Transport) {
        self.log.borrow_mut().push("made".into());
        self.transport = Some(transport);
    }
    fn data_received(&mut self, data: &[u8]) {
        if self.log.borrow().last().map(String::as_str) != Some("data") {
            self.log.borrow_mut().push("data".into());
        }
        self.received.extend_from_slice(data);
    }
    fn eof_received(&mut self) -> bool {
        self.log.borrow_mut().push("eof".into());
        if self.keep_open_on_eof {
            let t = self.transport.as_ref().unwrap();
            t.write(format!("got {} bytes\n", self.received.len()).as_bytes())
                .unwrap();
            t.close();
        }
        self.keep_open_on_eof
    }
    fn connection_lost(&mut self, error: Option<io::Error>) {
        let what = match error {
            None => "lost".to_owned(),
            Some(e) => format!("lost {:?}", e.kind()),
        };
        self.log.borrow_mut().push(what);
    }
    fn pause_writing(&mut self) {
        self.log.borrow_mut().push("pause".into());
    }
    fn resume_writing(&mut self) {
        self.log.borrow_mut().push("resume".into());
    }
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        aloop::sleep(Duration::from_millis(5)).await;
    }
}

fn lost(log: &Log) -> bool {
    log.borrow().iter().any(|e| e.starts_with("lost"))
}

#[test]
fn callbacks_come_in_order_and_connection_lost_once() {
    aloop::run(async {
        let log: Log = Rc::default();
        let l = log.clone();
        let lp = aloop::get_running_loop().unwrap();
        let server = lp
            .create_server(
                move || Recorder::new(&l),
                "127.0.0.1",
                0,
                Default::default(),
            )
            .await
            .unwrap();
        let addr = server.sockets()[0];
        // A blocking client, on a thread of its own: the loop must run meanwhile.
        let client = std::thread::spawn(move || {
            let mut client = TcpStream::connect(addr).unwrap();
            client.write_all(&vec![b'x'; 300_000]).unwrap();
            client.shutdown(std::net::Shutdown::Write).unwrap();
            let mut rest = Vec::new();
            client.read_to_end(&mut rest).unwrap(); // the server closes after EOF
            rest
        });
        until("connection_lost", || lost(&log)).await;
        assert!(client.join().unwrap().is_empty());
        aloop::sleep(Duration::from_millis(50)).await;
        assert_eq!(*log.borrow(), ["made", "data", "eof", "lost"]);
        server.close();
        server.wait_closed().await; // the lost connection no longer counts
    });
}

/// A protocol need not keep its transport (asyncio's are kept alive by the loop): it
/// still hears `connection_lost` once the peer's end-of-stream closed the connection.
#[test]
fn a_protocol_that_drops_its_transport_still_hears_connection_lost() {
    struct Forgetful(Log);
    impl Protocol for Forgetful {
        fn connection_made(&mut self, _transport: Transport) {
            self.0.borrow_mut().push("made".into());
        }
        fn data_received(&mut self, _data: &[u8]) {}
        fn eof_received(&mut self) -> bool {
            self.0.borrow_mut().push("eof".into());
            false
        }
        fn connection_lost(&mut self, _error: Option<io::Error>) {
            self.0.borrow_mut().push("lost".into());
        }
    }
    aloop::run(async {
        let log: Log = Rc::default();
        let l = log.clone();
        let lp = aloop::get_running_loop().unwrap();
        let server = lp
            .create_server(
                move || Forgetful(l.clone()),
                "127.0.0.1",
                0,
                Default::default(),
            )
            .await
            .unwrap();
        let addr = server.sockets()[0];
        let client = std::thread::spawn(move || {
            let mut client = TcpStream::connect(addr).unwrap();
            client.write_all(b"hello").unwrap();
            client.shutdown(std::net::Shutdown::Write).unwrap();
            let mut rest = Vec::new();
            client.read_to_end(&mut rest).unwrap();
        });
        until("connection_lost", || lost(&log)).await;
        client.join().unwrap();
        assert_eq!(*log.borrow(), ["made", "eof", "lost"]);
        server.close();
        server.wait_closed().await;
    });
}

#[test]
fn a_reset_is_connection_lost_with_the_error_once() {
    aloop::run(async {
        let log: Log = Rc::default();
        let l = log.clone();
        let lp = aloop::get_running_loop().unwrap();
        let server = lp
            .create_server(
                move || Recorder::new(&l),
                "127.0.0.1",
                0,
                Default::default(),
            )
            .await
            .unwrap();
        let client =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        client.connect(&server.sockets()[0].into()).unwrap();
        (&client).write_all(b"hi").unwrap();
        until("data", || log.borrow().len() >= 2).await;
        client.set_linger(Some(Duration::ZERO)).unwrap();
        drop(client);
        until("connection_lost", || lost(&log)).await;
        aloop::sleep(Duration::from_millis(50)).await;
        assert_eq!(*log.borrow(), ["made", "data", "lost ConnectionReset"]);
        server.close();
    });
}

#[test]
fn pause_reading_holds_data_back_and_resume_delivers_every_byte() {
    aloop::run(async {
        let log: Log = Rc::default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let lp = aloop::get_running_loop().unwrap();
        let l = log.clone();
        let (transport, protocol) = lp
            .create_connection(move || Recorder::new(&l), "127.0.0.1", port)
            .await
            .unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        transport.pause_reading();
        assert!(!transport.is_reading());
        let data: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
        let sent = data.clone();
        let writer = std::thread::spawn(move || {
            peer.write_all(&sent).unwrap();
            peer
        });
        aloop::sleep(Duration::from_millis(200)).await;
        assert!(
            protocol.borrow().received.is_empty(),
            "nothing while paused"
        );
        transport.resume_reading();
        assert!(transport.is_reading());
        until("all data", || {
            protocol.borrow().received.len() == data.len()
        })
        .await;
        assert!(protocol.borrow().received == data, "every byte, in order");
        drop(writer.join().unwrap());
        until("connection_lost", || lost(&log)).await;
    });
}

#[test]
fn pause_and_resume_writing_follow_the_water_marks() {
    aloop::run(async {
        let log: Log = Rc::default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let lp = aloop::get_running_loop().unwrap();
        let l = log.clone();
        let (transport, _p) = lp
            .create_connection(move || Recorder::new(&l), "127.0.0.1", port)
            .await
            .unwrap();
        let (peer, _) = listener.accept().unwrap();
        transport
            .set_write_buffer_limits(Some(256 * 1024), Some(64 * 1024))
            .unwrap();
        assert_eq!(transport.get_write_buffer_limits(), (64 * 1024, 256 * 1024));
        // 16 MiB: more than the socket takes, even after loopback's buffers grow.
        for _ in 0..256 {
            transport.write(&[9u8; 64 * 1024]).unwrap();
        }
        until("pause_writing", || {
            log.borrow().iter().any(|e| e == "pause")
        })
        .await;
        assert!(transport.get_write_buffer_size() > 256 * 1024);
        let reader = std::thread::spawn(move || {
            let mut peer = peer;
            let mut buf = vec![0; 1 << 16];
            let mut total = 0;
            while total < 256 * 64 * 1024 {
                total += peer.read(&mut buf).unwrap();
            }
            total
        });
        until("resume_writing", || {
            log.borrow().iter().any(|e| e == "resume")
        })
        .await;
        // Below the low-water mark is not empty: the loop must keep running (and
        // writing) until the peer has read everything, not block in `join`.
        until("the peer reading every byte", || reader.is_finished()).await;
        assert_eq!(reader.join().unwrap(), 256 * 64 * 1024);
        assert_eq!(
            log.borrow()
                .iter()
                .filter(|e| *e == "pause" || *e == "resume")
                .collect::<Vec<_>>(),
            ["pause", "resume"]
        );
        transport.close();
        until("connection_lost", || lost(&log)).await;
    });
}

#[test]
fn abort_drops_the_queue_resets_the_peer_and_loses_the_connection_once() {
    aloop::run(async {
        let log: Log = Rc::default();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let lp = aloop::get_running_loop().unwrap();
        let l = log.clone();
        let (transport, protocol) = lp
            .create_connection(move || Recorder::new(&l), "127.0.0.1", port)
            .await
            .unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        transport.write(&vec![1u8; 8 << 20]).unwrap();
        transport.abort();
        transport.abort();
        assert!(transport.is_closing());
        until("connection_lost", || lost(&log)).await;
        drop(protocol); // the protocol held the last transport
        drop(transport);
        let mut buf = vec![0; 1 << 16];
        let mut got = 0;
        let err = loop {
            match peer.read(&mut buf) {
                Ok(0) => panic!("an orderly end after {got} bytes"),
                Ok(n) => got += n,
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
        assert!(got < 8 << 20);
        aloop::sleep(Duration::from_millis(20)).await;
        assert_eq!(*log.borrow(), ["made", "lost"]);
    });
}

/// Echoes through its own buffer.
struct BufEcho {
    buf: Vec<u8>,
    transport: Option<Transport>,
    calls: usize,
}

impl BufferedProtocol for BufEcho {
    fn connection_made(&mut self, transport: Transport) {
        self.transport = Some(transport);
    }
    fn get_buffer(&mut self, _hint: usize) -> &mut [u8] {
        &mut self.buf
    }
    fn buffer_updated(&mut self, n: usize) {
        self.calls += 1;
        self.transport
            .as_ref()
            .unwrap()
            .write(&self.buf[..n])
            .unwrap();
    }
}

#[test]
fn a_buffered_protocol_reads_into_its_own_buffer() {
    aloop::run(async {
        let lp = aloop::get_running_loop().unwrap();
        let server = lp
            .create_server(
                || {
                    Buffered(BufEcho {
                        buf: vec![0; 4096],
                        transport: None,
                        calls: 0,
                    })
                },
                "127.0.0.1",
                0,
                Default::default(),
            )
            .await
            .unwrap();
        let port = server.sockets()[0].port();
        let (r, w) = aloop::open_connection("127.0.0.1", port).await.unwrap();
        let data: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 241) as u8).collect();
        w.write(&data).unwrap();
        w.write_eof().unwrap();
        assert!(r.read_to_eof().await.unwrap() == data);
        server.close();
        server.wait_closed().await;
    });
}

#[test]
fn eof_received_true_keeps_the_connection_open_to_answer() {
    aloop::run(async {
        let log: Log = Rc::default();
        let l = log.clone();
        let lp = aloop::get_running_loop().unwrap();
        let server = lp
            .create_server(
                move || Recorder {
                    keep_open_on_eof: true,
                    ..Recorder::new(&l)
                },
                "127.0.0.1",
                0,
                Default::default(),
            )
            .await
            .unwrap();
        let port = server.sockets()[0].port();
        let (r, w) = aloop::open_connection("127.0.0.1", port).await.unwrap();
        w.write(b"12345").unwrap();
        w.write_eof().unwrap();
        assert_eq!(r.read_to_eof().await.unwrap(), b"got 5 bytes\n");
        until("connection_lost", || lost(&log)).await;
        assert_eq!(*log.borrow(), ["made", "data", "eof", "lost"]);
        server.close();
    });
}

#[test]
fn unix_sockets_and_accepted_sockets_work_as_tcp_does() {
    aloop::run(async {
        let dir = std::env::temp_dir().join(format!("aloop-proto-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let log: Log = Rc::default();
        let l = log.clone();
        let lp = aloop::get_running_loop().unwrap();
        let server = lp
            .create_unix_server(move || Recorder::new(&l), &path, Default::default())
            .await
            .unwrap();
        let client_log: Log = Rc::default();
        let cl = client_log.clone();
        let (t, _p) = lp
            .create_unix_connection(move || Recorder::new(&cl), &path)
            .await
            .unwrap();
        t.write(b"over unix").unwrap();
        t.close();
        until("server lost", || lost(&log)).await;
        assert_eq!(*log.borrow(), ["made", "data", "eof", "lost"]);
        server.close();
        assert!(!path.exists(), "close removes the socket file");

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, from) = listener.accept().unwrap();
        let al: Log = Rc::default();
        let a2 = al.clone();
        let (t, p) = lp
            .connect_accepted_socket(move || Recorder::new(&a2), accepted)
            .unwrap();
        assert_eq!(t.peername(), Some(from));
        peer.write_all(b"accepted").unwrap();
        drop(peer);
        until("accepted socket lost", || lost(&al)).await;
        assert_eq!(p.borrow().received, b"accepted");
        let _ = std::fs::remove_dir_all(&dir);
    });
}

struct Panicky;

impl Protocol for Panicky {
    fn data_received(&mut self, _data: &[u8]) {
        panic!("data_received failed");
    }
}

#[test]
fn a_panicking_callback_is_reported_and_ends_only_its_connection() {
    let lp = aloop::new_event_loop();
    let reports = Rc::new(RefCell::new(0));
    let r = reports.clone();
    lp.set_exception_handler(Some(move |_: &aloop::ExceptionContext| {
        *r.borrow_mut() += 1
    }));
    let seen = reports.clone();
    lp.run_until_complete(async move {
        let lp = aloop::get_running_loop().unwrap();
        let server = lp
            .create_server(|| Panicky, "127.0.0.1", 0, Default::default())
            .await
            .unwrap();
        let (r1, w1) = aloop::open_connection("127.0.0.1", server.sockets()[0].port())
            .await
            .unwrap();
        w1.write(b"boom").unwrap();
        assert!(
            r1.read_to_eof().await.is_err() || r1.at_eof(),
            "the connection ended"
        );
        until("the report", || *seen.borrow() == 1).await;
        // The server still accepts.
        let (r2, w2) = aloop::open_connection("127.0.0.1", server.sockets()[0].port())
            .await
            .unwrap();
        w2.close();
        let _ = r2.read_to_eof().await;
        server.close();
    })
    .unwrap();
}

#[test]
fn start_serving_false_accepts_nothing_until_started_and_clients_can_be_aborted() {
    aloop::run(async {
        let log: Log = Rc::default();
        let l = log.clone();
        let lp = aloop::get_running_loop().unwrap();
        let options = ServerOptions {
            start_serving: false,
            ..Default::default()
        };
        let server = lp
            .create_server(move || Recorder::new(&l), "127.0.0.1", 0, options)
            .await
            .unwrap();
        assert!(!server.is_serving());
        let mut client = TcpStream::connect(server.sockets()[0]).unwrap(); // in the backlog
        aloop::sleep(Duration::from_millis(100)).await;
        assert!(log.borrow().is_empty(), "not accepted yet");
        server.start_serving().unwrap();
        assert!(server.is_serving());
        until("accepted", || !log.borrow().is_empty()).await;
        server.abort_clients();
        until("connection_lost", || lost(&log)).await;
        let mut buf = [0u8; 8];
        let end = client.read(&mut buf);
        assert!(matches!(end, Ok(0)) || end.is_err());
        server.close();
        server.wait_closed().await;
    });
}

#[test]
fn closing_the_loop_ends_open_connections_and_frees_their_protocols() {
    let log: Log = Rc::default();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let lp = aloop::new_event_loop();
    let l = log.clone();
    let (transport, protocol) = lp
        .run_until_complete(async move {
            let lp = aloop::get_running_loop().unwrap();
            lp.create_connection(move || Recorder::new(&l), "127.0.0.1", port)
                .await
                .unwrap()
        })
        .unwrap();
    let (_peer, _) = listener.accept().unwrap();
    transport.write(&vec![1u8; 8 << 20]).unwrap(); // a flusher is left waiting too
    let weak = Rc::downgrade(&protocol);
    drop((transport, protocol));
    assert!(
        weak.upgrade().is_some(),
        "the open connection keeps its protocol"
    );
    lp.close().unwrap();
    assert_eq!(
        *log.borrow(),
        ["made", "lost Other"],
        "connection_lost once, with the loop's closing as the error"
    );
    assert!(
        weak.upgrade().is_none(),
        "and then nothing holds the protocol any more"
    );
}
