//! The stream-socket client methods: `sock_connect`, `sock_sendall`, `sock_recv`,
//! `sock_recv_into` against the test HTTP server, with pending calls cancelled in the
//! middle, large bodies, a refused connection, and a connected socket handed to a
//! protocol. Neighbour: `accept_datagram.rs`.

use std::cell::RefCell;
use std::io;
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;

use aloop::{create_task, get_running_loop, AddrInfoHints, Event, LoopRef, Protocol, Transport};
use aloop_tests::cpython::tick;
use socket2::{SockRef, Socket};

use super::{bounded, start_http, start_unix_http, tcp_socket, GET};

const OK: &[u8] = b"HTTP/1.0 200 OK";

/// CPython's `_basetest_sock_client_ops` after the connect: send the request, receive
/// the answer's start, consume the rest.
async fn send_get_and_recv(lp: &LoopRef, sock: &impl std::os::fd::AsFd) {
    bounded(lp.sock_sendall(sock, GET)).await.unwrap();
    let data = bounded(lp.sock_recv(sock, 1024)).await.unwrap();
    bounded(lp.sock_recv(sock, 1024)).await.unwrap();
    assert!(data.starts_with(OK), "{:?}", String::from_utf8_lossy(&data));
}

/// CPython's `_basetest_sock_recv_into` after the connect.
async fn send_get_and_recv_into(lp: &LoopRef, sock: &impl std::os::fd::AsFd) {
    bounded(lp.sock_sendall(sock, GET)).await.unwrap();
    let mut data = vec![0u8; 1024];
    let nbytes = bounded(lp.sock_recv_into(sock, &mut data[..1024]))
        .await
        .unwrap();
    bounded(lp.sock_recv_into(sock, &mut data[nbytes..]))
        .await
        .unwrap();
    assert!(data.starts_with(OK), "{:?}", String::from_utf8_lossy(&data));
}

/// Difference (docs/asyncio-mapping.md, the `sock_*` calls): a blocking socket is not
/// refused in debug mode (asyncio: ValueError); it is switched to non-blocking mode and
/// used. Then the client round trip with `sock_recv`, and again with `sock_recv_into`.
#[aloop::test]
async fn sock_lowlevel_base_sock_sock_client_ops() {
    let lp = get_running_loop().unwrap();
    let (srv, addr) = start_http().await;
    lp.set_debug(true);
    let sock = tcp_socket();
    assert!(!SockRef::from(&sock).nonblocking().unwrap());
    bounded(lp.sock_connect(&sock, addr)).await.unwrap();
    assert!(SockRef::from(&sock).nonblocking().unwrap());
    send_get_and_recv(&lp, &sock).await;

    let sock = tcp_socket();
    bounded(lp.sock_connect(&sock, addr)).await.unwrap();
    send_get_and_recv_into(&lp, &sock).await;
    srv.close();
}

/// The same over a Unix socket, with the same difference (the blocking socket is
/// switched to non-blocking mode and used). The connection is made by std:
/// `sock_connect` takes an IP address (see the findings in docs/conformance.md); the
/// rest is the loop's.
#[aloop::test]
async fn sock_lowlevel_base_sock_unix_sock_client_ops() {
    let lp = get_running_loop().unwrap();
    let (srv, path) = start_unix_http("client-ops").await;
    lp.set_debug(true);
    let sock = std::os::unix::net::UnixStream::connect(&path).unwrap();
    assert!(!SockRef::from(&sock).nonblocking().unwrap());
    send_get_and_recv(&lp, &sock).await;
    assert!(SockRef::from(&sock).nonblocking().unwrap());
    let sock = std::os::unix::net::UnixStream::connect(&path).unwrap();
    send_get_and_recv_into(&lp, &sock).await;
    srv.close();
}

/// A `sock_recv` / `sock_recv_into` cancelled while waiting does not disturb the next
/// one on the same socket; a `sock_sendall` cancelled while the send buffer is full does
/// not disturb the next `sock_sendall`.
/// The next call is made at once, in the same pass of the loop as the `cancel()`,
/// while the cancelled task still holds its registration of the fd: the new call
/// yields once for that task's cancellation step to let go of it.
#[aloop::test]
async fn sock_lowlevel_base_sock_sock_client_racing() {
    let lp = get_running_loop().unwrap();
    let (srv, addr) = start_http().await;

    // _basetest_sock_recv_racing
    let sock = Rc::new(tcp_socket());
    bounded(lp.sock_connect(&*sock, addr)).await.unwrap();
    let (l, s) = (lp.clone(), sock.clone());
    let pending = create_task(async move { l.sock_recv(&*s, 1024).await });
    tick().await;
    pending.cancel();
    let (l, s) = (lp.clone(), sock.clone());
    let _send = create_task(async move { l.sock_sendall(&*s, GET).await });
    let data = bounded(lp.sock_recv(&*sock, 1024)).await.unwrap();
    bounded(lp.sock_recv(&*sock, 1024)).await.unwrap();
    assert!(data.starts_with(OK), "{:?}", String::from_utf8_lossy(&data));

    // _basetest_sock_recv_into_racing
    let sock = Rc::new(tcp_socket());
    bounded(lp.sock_connect(&*sock, addr)).await.unwrap();
    let (l, s) = (lp.clone(), sock.clone());
    let pending = create_task(async move {
        let mut buf = vec![0u8; 1024];
        l.sock_recv_into(&*s, &mut buf).await
    });
    tick().await;
    pending.cancel();
    let (l, s) = (lp.clone(), sock.clone());
    let send = create_task(async move { l.sock_sendall(&*s, GET).await });
    let mut data = vec![0u8; 1024];
    let nbytes = bounded(lp.sock_recv_into(&*sock, &mut data)).await.unwrap();
    bounded(lp.sock_recv_into(&*sock, &mut data[nbytes..]))
        .await
        .unwrap();
    assert!(data.starts_with(OK), "{:?}", String::from_utf8_lossy(&data));
    bounded(send).await.unwrap().unwrap();
    srv.close();

    send_racing(&lp).await;
}

/// CPython's `_basetest_sock_send_racing`.
async fn send_racing(lp: &LoopRef) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let sock = Rc::new(tcp_socket());
    sock.set_send_buffer_size(1024).unwrap();
    let (l, s) = (lp.clone(), sock.clone());
    let addr = listener.local_addr().unwrap();
    let connecting = create_task(async move { l.sock_connect(&*s, addr).await });
    tick().await;
    let (server, _) = listener.accept().unwrap();
    server.set_nonblocking(true).unwrap();
    let server = Rc::new(server);
    bounded(connecting).await.unwrap().unwrap();

    // Fill the send buffer until even 4 bytes would block.
    let mut size = 8192;
    while size >= 4 {
        loop {
            match sock.send(&vec![b' '; size]) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e:?}"),
            }
        }
        size /= 2;
    }

    // Cancel a blocked sock_sendall.
    let (l, s) = (lp.clone(), sock.clone());
    let blocked = create_task(async move { l.sock_sendall(&*s, b"hello").await });
    tick().await;
    blocked.cancel();

    // Receive everything that is not a space.
    let (l, srv) = (lp.clone(), server.clone());
    let receiving = create_task(async move {
        let mut rv = Vec::new();
        loop {
            let buf = l.sock_recv(&*srv, 8192).await?;
            if buf.is_empty() {
                return Ok::<_, io::Error>(rv);
            }
            rv.extend(buf.iter().filter(|&&b| b != b' '));
        }
    });
    bounded(lp.sock_sendall(&*sock, b"world")).await.unwrap();
    sock.shutdown(Shutdown::Write).unwrap();
    let data = bounded(receiving).await.unwrap().unwrap();
    assert!(
        data.ends_with(b"world"),
        "{:?}",
        String::from_utf8_lossy(&data)
    );
}

/// A `sock_connect` started before the listener listens and cancelled; once it listens,
/// connecting the same socket succeeds within a few retries. CPython retries on
/// ConnectionRefused and skips the test if the socket never recovers (some systems need
/// time). Here the first attempt usually has already failed when it is cancelled (aloop
/// reads the socket's error before waiting, and a refusal on loopback is immediate), so
/// Linux reports the failed attempt once more as ConnectionAborted on the next
/// `connect`: retried as well. On Linux the connection must come; elsewhere the test
/// skips as CPython's does, saying why on stderr.
#[aloop::test]
async fn sock_lowlevel_base_sock_sock_client_connect_racing() {
    let lp = get_running_loop().unwrap();
    let listener = tcp_socket();
    listener
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let sock = Rc::new(tcp_socket());
    let (l, s) = (lp.clone(), sock.clone());
    let first = create_task(async move { l.sock_connect(&*s, addr).await });
    tick().await;
    first.cancel();
    match bounded(first).await {
        Ok(Err(e)) => assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e:?}"),
        Ok(Ok(())) => panic!("connected to a socket that does not listen"),
        Err(e) => assert!(e.is_cancelled(), "{e:?}"),
    }
    listener.listen(1).unwrap();
    let mut last = None;
    for _ in 0..128 {
        match bounded(lp.sock_connect(&*sock, addr)).await {
            Ok(()) => return,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted
                ) =>
            {
                last = Some(e)
            }
            Err(e) => {
                last = Some(e);
                break;
            }
        }
    }
    let reason = format!("the socket did not connect after the cancelled attempt: {last:?}");
    if cfg!(target_os = "linux") {
        panic!("{reason}");
    }
    eprintln!("skipped: {reason}");
}

/// CPython's `_basetest_huge_content` and `..._recvinto`: a million bytes posted while
/// the echo is read, `recv_into` choosing between the two receive calls.
async fn huge_content(recv_into: bool) {
    const DATA_SIZE: usize = 1_000_000;
    let lp = get_running_loop().unwrap();
    let (srv, addr) = start_http().await;
    let sock = Rc::new(tcp_socket());
    bounded(lp.sock_connect(&*sock, addr)).await.unwrap();
    let head = format!("POST /loop HTTP/1.0\r\nContent-Length: {DATA_SIZE}\r\n\r\n");
    bounded(lp.sock_sendall(&*sock, head.as_bytes()))
        .await
        .unwrap();
    let chunk: Vec<u8> = (0..DATA_SIZE).map(|i| b'0' + (i % 10) as u8).collect();
    let (l, s) = (lp.clone(), sock.clone());
    let sending = create_task(async move { l.sock_sendall(&*s, &chunk).await });

    let mut buf = vec![0u8; DATA_SIZE];
    let mut recv = async || {
        if recv_into {
            let n = lp.sock_recv_into(&*sock, &mut buf).await.unwrap();
            buf[..n].to_vec()
        } else {
            lp.sock_recv(&*sock, DATA_SIZE).await.unwrap()
        }
    };
    let mut data = bounded(recv()).await;
    // The headers are smaller than a packet, so they come in the first read.
    assert!(data.starts_with(OK), "{:?}", String::from_utf8_lossy(&data));
    while !data.windows(4).any(|w| w == b"\r\n\r\n") {
        data.extend(bounded(recv()).await);
    }
    let body_at = data.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let mut offset = 0;
    let mut check = |part: &[u8]| {
        for (i, &b) in part.iter().enumerate() {
            assert_eq!(b, b'0' + ((offset + i) % 10) as u8, "byte {}", offset + i);
        }
        offset += part.len();
    };
    check(&data[body_at..]);
    loop {
        let part = bounded(recv()).await;
        if part.is_empty() {
            break;
        }
        check(&part);
    }
    assert_eq!(offset, DATA_SIZE);
    bounded(sending).await.unwrap().unwrap();
    srv.close();
}

#[aloop::test]
async fn sock_lowlevel_base_sock_huge_content() {
    huge_content(false).await;
}

#[aloop::test]
async fn sock_lowlevel_base_sock_huge_content_recvinto() {
    huge_content(true).await;
}

/// Connecting to a port nobody listens on is ConnectionRefused.
#[aloop::test]
async fn sock_lowlevel_base_sock_sock_client_fail() {
    let lp = get_running_loop().unwrap();
    let address = {
        let s = tcp_socket();
        s.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
            .unwrap();
        s.local_addr().unwrap().as_socket().unwrap()
    };
    let sock = tcp_socket();
    let err = bounded(lp.sock_connect(&sock, address)).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err:?}");
    assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED));
}

/// CPython's `MyProto`: sends a request on connection, counts the answer's bytes, and
/// checks its callbacks come in order.
struct MyProto {
    state: &'static str,
    nbytes: usize,
    done: Rc<Event>,
}

impl Protocol for MyProto {
    fn connection_made(&mut self, transport: Transport) {
        assert_eq!(self.state, "INITIAL");
        self.state = "CONNECTED";
        transport
            .write(b"GET / HTTP/1.0\r\nHost: example.com\r\n\r\n")
            .unwrap();
    }

    fn data_received(&mut self, data: &[u8]) {
        assert_eq!(self.state, "CONNECTED");
        self.nbytes += data.len();
    }

    fn eof_received(&mut self) -> bool {
        assert_eq!(self.state, "CONNECTED");
        self.state = "EOF";
        false
    }

    fn connection_lost(&mut self, _error: Option<io::Error>) {
        assert!(matches!(self.state, "CONNECTED" | "EOF"), "{}", self.state);
        self.state = "CLOSED";
        self.done.set();
    }
}

/// A socket connected with `sock_connect` (the first address `getaddrinfo` gives that
/// connects) handed to a protocol: `connect_accepted_socket`, aloop's form of
/// `create_connection(sock=)`.
#[aloop::test]
async fn sock_lowlevel_base_sock_create_connection_sock() {
    let lp = get_running_loop().unwrap();
    let (srv, addr) = start_http().await;
    let hints = AddrInfoHints {
        socktype: libc::SOCK_STREAM,
        ..Default::default()
    };
    let infos = bounded(lp.getaddrinfo("127.0.0.1", Some(addr.port()), hints))
        .await
        .unwrap();
    let mut connected: Option<Socket> = None;
    for info in infos {
        let sock = Socket::new(info.family.into(), info.socktype.into(), None).unwrap();
        if bounded(lp.sock_connect(&sock, info.addr)).await.is_ok() {
            connected = Some(sock);
            break;
        }
    }
    let sock = connected.expect("could not connect to the test server");
    let done = Rc::new(Event::new());
    let proto_done = done.clone();
    let (tr, pr) = lp
        .connect_accepted_socket(
            move || MyProto {
                state: "INITIAL",
                nbytes: 0,
                done: proto_done,
            },
            sock.into(),
        )
        .unwrap();
    bounded(done.wait()).await;
    let pr: Rc<RefCell<MyProto>> = pr;
    assert!(pr.borrow().nbytes > 0);
    assert_eq!(pr.borrow().state, "CLOSED");
    tr.close();
    srv.close();
}
