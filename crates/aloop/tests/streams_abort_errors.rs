//! `StreamWriter::abort` and what connections keep: the peer address captured at
//! accept, OS errors as the OS gave them, name lookups with their own error, and
//! `start_server` callbacks that return `Result`. (`streams_abort.rs` counts
//! descriptors for `Server::abort_clients`, in a process of its own.)

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::rc::Rc;
use std::time::{Duration, Instant};

use aloop::{GaiError, GaiErrorKind, StreamReader, StreamWriter};

/// A stream connection to a plain std socket accepted on 127.0.0.1.
async fn connected_to_a_std_peer() -> (StreamReader, StreamWriter, TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (reader, writer) = aloop::open_connection("127.0.0.1", addr.port())
        .await
        .unwrap();
    let (peer, _) = listener.accept().unwrap();
    (reader, writer, peer)
}

/// Reads `peer` until the connection is reset (an orderly end fails the test);
/// returns how many bytes came first.
fn bytes_before_the_reset(mut peer: TcpStream) -> usize {
    peer.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut buf = vec![0; 1 << 16];
    let mut got = 0;
    let err = loop {
        match peer.read(&mut buf) {
            Ok(0) => panic!("an orderly end after {got} bytes, not a reset"),
            Ok(n) => got += n,
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
    got
}

#[test]
fn abort_drops_the_queue_ends_our_reads_and_resets_the_peer() {
    aloop::run(async {
        let (reader, writer, peer) = connected_to_a_std_peer().await;
        writer.write(&vec![1u8; 4 << 20]).unwrap();
        // A read pending on our side when abort comes ends with end-of-stream.
        let pending_read = aloop::create_task(async move { reader.read(100).await });
        aloop::sleep(Duration::from_millis(20)).await;
        writer.abort();
        writer.abort(); // idempotent
        assert!(writer.is_closing());
        let err = writer.write(b"x").unwrap_err();
        assert!(err.to_string().contains("abort()"), "{err}");
        writer.drain().await.unwrap();
        writer.wait_closed().await.unwrap();
        assert_eq!(pending_read.await.unwrap().unwrap(), b"");
        drop(writer);
        let got = bytes_before_the_reset(peer);
        assert!(got < 4 << 20);
    });
}

/// `abort()` closes the socket at once, as asyncio's does, although the reader and
/// the writer are still held (a protocol usually keeps its transport): the peer sees
/// the reset while they live, and the fd stays reserved, not reused, until they drop.
#[test]
fn abort_resets_the_peer_while_our_handles_are_still_held() {
    aloop::run(async {
        let (reader, writer, peer) = connected_to_a_std_peer().await;
        writer.write(b"hello").unwrap();
        writer.drain().await.unwrap();
        writer.abort();
        // What was sent before the abort may come first; then the reset.
        bytes_before_the_reset(peer);
        // Still held: our reader ends, our writer refuses, nothing hangs.
        assert_eq!(reader.read(10).await.unwrap(), b"");
        assert!(reader.at_eof());
        assert!(writer.write(b"x").is_err());
        writer.wait_closed().await.unwrap();
        drop((reader, writer));
    });
}

#[test]
fn peername_of_a_connection_reset_right_after_accept_is_the_accepted_address() {
    aloop::run(async {
        let seen = Rc::new(RefCell::new(None));
        let s = seen.clone();
        let server = aloop::start_server(
            move |_r: StreamReader, w: StreamWriter| {
                let s = s.clone();
                async move {
                    // By now the client has reset the connection.
                    aloop::sleep(Duration::from_millis(100)).await;
                    *s.borrow_mut() = Some(w.peername());
                }
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let client =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        client.connect(&server.sockets()[0].into()).unwrap();
        let local = client.local_addr().unwrap().as_socket().unwrap();
        client.set_linger(Some(Duration::ZERO)).unwrap();
        drop(client); // RST
        let deadline = Instant::now() + Duration::from_secs(30);
        while seen.borrow().is_none() {
            assert!(Instant::now() < deadline);
            aloop::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(*seen.borrow(), Some(Some(local)));
        server.close();
    });
}

#[test]
fn a_callback_returning_err_is_reported_with_the_peer_and_the_server_goes_on() {
    let lp = aloop::new_event_loop();
    let reports = Rc::new(RefCell::new(Vec::<String>::new()));
    let r = reports.clone();
    lp.set_exception_handler(Some(move |ctx: &aloop::ExceptionContext| {
        r.borrow_mut().push(ctx.message.clone());
    }));
    let seen = reports.clone();
    lp.run_until_complete(async move {
        let reports = seen;
        async fn handle(r: StreamReader, w: StreamWriter) -> io::Result<()> {
            let line = r.readline().await.map_err(io::Error::other)?;
            if line == b"bad\n" {
                return Err(io::Error::new(io::ErrorKind::InvalidData, "a bad request"));
            }
            w.write(b"good\n")?;
            Ok(())
        }
        let server = aloop::start_server(handle, "127.0.0.1", 0).await.unwrap();
        let addr = server.sockets()[0];
        let mut bad = TcpStream::connect(addr).unwrap();
        bad.write_all(b"bad\n").unwrap();
        let bad_local = bad.local_addr().unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while reports.borrow().is_empty() {
            assert!(Instant::now() < deadline);
            aloop::sleep(Duration::from_millis(10)).await;
        }
        let (r, w) = aloop::open_connection("127.0.0.1", addr.port())
            .await
            .unwrap();
        w.write(b"ok\n").unwrap();
        assert_eq!(r.readline().await.unwrap(), b"good\n");
        server.close();
        let msg = reports.borrow()[0].clone();
        assert!(msg.contains("a bad request"), "{msg}");
        assert!(
            msg.contains(&bad_local.to_string()),
            "names the peer: {msg}"
        );
    })
    .unwrap();
}

#[test]
fn a_failed_lookup_has_its_own_error_and_os_errors_keep_their_numbers() {
    aloop::run(async {
        let err = aloop::open_connection("no-such-host.invalid", 80)
            .await
            .unwrap_err();
        let gai = GaiError::of(&err).unwrap_or_else(|| panic!("not a lookup error: {err:?}"));
        assert!(
            matches!(
                gai.kind(),
                GaiErrorKind::NoName | GaiErrorKind::NoData | GaiErrorKind::Again
            ),
            "{gai}"
        );
        assert_eq!(gai.host(), "no-such-host.invalid");

        let lp = aloop::get_running_loop().unwrap();
        let found = lp
            .getaddrinfo("127.0.0.1", Some(9), aloop::AddrInfoHints::default())
            .await
            .unwrap();
        assert!(found
            .iter()
            .any(|a| a.addr == "127.0.0.1:9".parse().unwrap()));
        let (host, service) = lp
            .getnameinfo(
                "127.0.0.1:22".parse().unwrap(),
                libc::NI_NUMERICHOST | libc::NI_NUMERICSERV,
            )
            .await
            .unwrap();
        assert_eq!((host.as_str(), service.as_str()), ("127.0.0.1", "22"));

        // A refused connect and a taken port: the OS's own numbers.
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let err = aloop::open_connection("127.0.0.1", port).await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED));
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = taken.local_addr().unwrap().port();
        let err = aloop::start_server(
            |_r: StreamReader, _w: StreamWriter| async {},
            "127.0.0.1",
            port,
        )
        .await
        .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EADDRINUSE));
    });
}
