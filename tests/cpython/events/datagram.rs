//! `EventLoopTestsMixin` of test_events.py on UDP endpoints: an echoing server endpoint
//! and a connected client endpoint (IPv4 and IPv6), and an endpoint that still
//! receives after sending to a port nobody listens on. Neighbours: `connections.rs`.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use aloop::{get_running_loop, DatagramAddr, DatagramOptions, DatagramProtocol, DatagramTransport};

use super::wait_until;

/// CPython's `MyDatagramProto` (with `echo`: its test's server, which answers
/// `b'resp:' + data`). Asserts the order of the calls it gets.
struct DgProto {
    state: &'static str,
    nbytes: usize,
    transport: Option<DatagramTransport>,
    echo: bool,
}

impl DgProto {
    fn new(echo: bool) -> DgProto {
        DgProto {
            state: "INITIAL",
            nbytes: 0,
            transport: None,
            echo,
        }
    }
}

impl DatagramProtocol for DgProto {
    fn connection_made(&mut self, transport: DatagramTransport) {
        assert_eq!(self.state, "INITIAL");
        self.state = "INITIALIZED";
        self.transport = Some(transport);
    }
    fn datagram_received(&mut self, data: &[u8], addr: DatagramAddr) {
        assert_eq!(self.state, "INITIALIZED");
        self.nbytes += data.len();
        if self.echo {
            let reply = [b"resp:", data].concat();
            self.transport
                .as_ref()
                .unwrap()
                .sendto(&reply, Some(addr))
                .unwrap();
        }
    }
    fn error_received(&mut self, _error: io::Error) {
        assert_eq!(self.state, "INITIALIZED");
    }
    fn connection_lost(&mut self, _error: Option<io::Error>) {
        assert_eq!(self.state, "INITIALIZED");
        self.state = "CLOSED";
        self.transport = None;
    }
}

/// `_test_create_datagram_endpoint`: the client's 3 bytes reach the server, its 8-byte
/// answer reaches the client; closing calls `connection_lost`.
async fn echo_round_trip(host: &str) {
    let lp = get_running_loop().unwrap();
    let server = match lp
        .create_datagram_endpoint(
            || DgProto::new(true),
            Some((host, 0)),
            None,
            DatagramOptions::default(),
        )
        .await
    {
        Ok(server) => server,
        Err(e) if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) => {
            eprintln!("skipped: cannot bind {host} ({e})");
            return;
        }
        Err(e) => panic!("{e}"),
    };
    let (s_transport, s_proto) = server;
    let sockname = s_transport.sockname().unwrap().as_inet().unwrap();
    assert_eq!(s_proto.borrow().state, "INITIALIZED");
    let remote = sockname.ip().to_string();
    let (transport, client) = lp
        .create_datagram_endpoint(
            || DgProto::new(false),
            None,
            Some((remote.as_str(), sockname.port())),
            DatagramOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(client.borrow().state, "INITIALIZED");
    transport.sendto(b"xxx", None).unwrap();
    wait_until(|| s_proto.borrow().nbytes > 0).await;
    assert_eq!(s_proto.borrow().nbytes, 3);
    wait_until(|| client.borrow().nbytes > 0).await;
    assert_eq!(client.borrow().nbytes, 8);
    assert!(transport.sockname().is_some());
    transport.close();
    wait_until(|| client.borrow().state == "CLOSED").await;
    s_transport.close();
}

#[aloop::test]
async fn events_event_loop_create_datagram_endpoint() {
    echo_round_trip("127.0.0.1").await;
}

#[aloop::test]
async fn events_event_loop_create_datagram_endpoint_ipv6() {
    echo_round_trip("::1").await;
}

/// Records each datagram, for the next test.
struct Recorder(Rc<RefCell<Vec<Vec<u8>>>>);

impl DatagramProtocol for Recorder {
    fn datagram_received(&mut self, data: &[u8], _addr: DatagramAddr) {
        self.0.borrow_mut().push(data.to_vec());
    }
}

/// After sending to a port nobody listens on (an endpoint opened and aborted), an
/// endpoint still receives. CPython's endpoints are made on bound sockets (`sock=`);
/// here from `local_addr`.
#[aloop::test]
async fn events_event_loop_datagram_send_to_non_listening_address() {
    let endpoint = || async {
        let got = Rc::new(RefCell::new(Vec::new()));
        let shared = got.clone();
        let (t, _p) = get_running_loop()
            .unwrap()
            .create_datagram_endpoint(
                move || Recorder(shared),
                Some(("127.0.0.1", 0)),
                None,
                DatagramOptions::default(),
            )
            .await
            .unwrap();
        let addr: DatagramAddr = t.sockname().unwrap();
        (t, got, addr)
    };
    let (transport_1, got_1, addr_1) = endpoint().await;
    let (transport_2, got_2, addr_2) = endpoint().await;
    let (transport_3, _got_3, addr_3) = endpoint().await;
    transport_3.abort();

    transport_1.sendto(b"a", Some(addr_2.clone())).unwrap();
    wait_until(|| got_2.borrow().len() == 1).await;
    assert_eq!(got_2.borrow()[0], b"a");
    transport_2.sendto(b"b", Some(addr_1.clone())).unwrap();
    wait_until(|| got_1.borrow().len() == 1).await;
    assert_eq!(got_1.borrow()[0], b"b");

    transport_1.sendto(b"c", Some(addr_3)).unwrap();
    aloop::sleep(std::time::Duration::ZERO).await;
    transport_2.sendto(b"d", Some(addr_1)).unwrap();
    wait_until(|| got_1.borrow().len() == 2).await;
    assert_eq!(got_1.borrow()[1], b"d");
    transport_1.close();
    transport_2.close();
}
