//! `SendfileMixin` over plain TCP: `loop.sendfile` on a protocol's transport
//! (`sendfile_transport`), between a client protocol and a server protocol; CPython's
//! forced fallback is the one a child's stdin pipe takes. Neighbours: `sock.rs`,
//! `tls.rs`.

use std::cell::RefCell;
use std::io;
use std::rc::Rc;

use aloop::subprocess::Stdio;
use aloop::{create_task, get_running_loop, Event, Transport};
use socket2::SockRef;

use super::{
    bounded, data, data_file, one_server, tell, MySendfileProto, OneServer, Seen, BUF_SIZE,
};

/// The client side of CPython's `prepare_sendfile`.
pub(super) struct Client {
    pub(super) transport: Transport,
    pub(super) seen: Rc<RefCell<Seen>>,
    pub(super) done: Rc<Event>,
}

impl Client {
    /// CPython's cleanup: close the client, wait for both ends to see the end.
    pub(super) async fn close_and_finish(&self, srv: &OneServer) {
        self.transport.close();
        bounded(self.done.wait()).await;
        assert_eq!(self.seen.borrow().state, "CLOSED");
        srv.finish().await;
    }
}

/// CPython's `prepare_sendfile`: a server protocol (closing after `close_after` bytes
/// if not 0), and a client protocol on a socket whose send buffer and transport
/// high-water mark are reduced. With `tls`, the server speaks TLS and the client
/// upgrades with `loop.start_tls` (so its socket is the one with the small buffer).
pub(super) async fn prepare_sendfile(
    close_after: usize,
    tls: Option<(aloop::tls::ServerConfig, aloop::tls::ClientConfig)>,
) -> (OneServer, Client) {
    let lp = get_running_loop().unwrap();
    let (server_tls, client_tls) = tls.unzip();
    let srv = one_server(&lp, close_after, server_tls).await;
    let sock = std::net::TcpStream::connect(srv.addr).unwrap();
    SockRef::from(&sock).set_send_buffer_size(BUF_SIZE).unwrap();
    let (seen, done, proto) = MySendfileProto::new(0);
    let (mut transport, _) = lp.connect_accepted_socket(move || proto, sock).unwrap();
    if let Some(config) = client_tls {
        transport = bounded(lp.start_tls(&transport, config)).await.unwrap();
    }
    transport
        .set_write_buffer_limits(Some(BUF_SIZE), None)
        .unwrap();
    let client = Client {
        transport,
        seen,
        done,
    };
    (srv, client)
}

/// The whole file. Difference (the rustdoc of `sock_sendfile`, which `sendfile` shares):
/// the file's own position is not moved (asyncio leaves it after the last byte sent).
#[aloop::test]
async fn sendfile_sendfile_sendfile() {
    let lp = get_running_loop().unwrap();
    let file = data_file();
    let (srv, cli) = prepare_sendfile(0, None).await;
    let ret = bounded(lp.sendfile_transport(&cli.transport, &file, 0, None))
        .await
        .unwrap();
    cli.close_and_finish(&srv).await;
    assert_eq!(ret, data().len() as u64);
    assert!(srv.received() == data(), "the file did not arrive as it is");
    assert_eq!(tell(&file), 0);
}

/// The fallback (read the file, write the bytes), which CPython forces by patching the
/// private `_sendfile_native`: here taken because the destination is a child's stdin
/// pipe (`cat`, whose stdout is read back).
#[aloop::test]
async fn sendfile_sendfile_sendfile_force_fallback() {
    let lp = get_running_loop().unwrap();
    let file = data_file();
    let mut cat = aloop::create_subprocess_exec("cat", [] as [&str; 0])
        .stdin(Stdio::Pipe)
        .stdout(Stdio::Pipe)
        .await
        .unwrap();
    let stdout = cat.stdout.take().unwrap();
    let reading = create_task(stdout.read_to_eof());
    let stdin = cat.stdin.take().unwrap();
    let ret = bounded(lp.sendfile(&stdin, &file, 0, None)).await.unwrap();
    stdin.close();
    let got = bounded(reading).await.unwrap().unwrap();
    assert_eq!(bounded(cat.wait()).await.unwrap(), 0);
    assert_eq!(ret, data().len() as u64);
    assert!(got == data(), "the file did not arrive as it is");
    assert_eq!(tell(&file), 0);
}

/// `sendfile` on a transport already closing is refused, and nothing is sent.
/// Difference: refused with `BrokenPipe`, aloop's error for writing after `close()`
/// (see test_streams.py's `test_async_writer_api_exception_after_close`); asyncio
/// raises RuntimeError("... is closing").
#[aloop::test]
async fn sendfile_sendfile_sendfile_for_closing_transp() {
    let lp = get_running_loop().unwrap();
    let file = data_file();
    let (srv, cli) = prepare_sendfile(0, None).await;
    cli.transport.close();
    let err = bounded(lp.sendfile_transport(&cli.transport, &file, 0, None))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err:?}");
    bounded(cli.done.wait()).await;
    srv.finish().await;
    assert!(srv.received().is_empty());
    assert_eq!(tell(&file), 0);
}

/// A write before and a write after the `sendfile`: the bytes arrive in order.
#[aloop::test]
async fn sendfile_sendfile_sendfile_pre_and_post_data() {
    let (prefix, suffix) = (b"PREFIX__".repeat(1024), b"--SUFFIX".repeat(1024));
    pre_and_post_data(None, prefix, suffix).await;
}

/// Writes `prefix`, sends the whole file, writes `suffix` (over TLS with `tls`): the
/// server gets the three in order, and the file's position is not moved.
pub(super) async fn pre_and_post_data(
    tls: Option<(aloop::tls::ServerConfig, aloop::tls::ClientConfig)>,
    prefix: Vec<u8>,
    suffix: Vec<u8>,
) {
    let lp = get_running_loop().unwrap();
    let file = data_file();
    let (srv, cli) = prepare_sendfile(0, tls).await;
    cli.transport.write(&prefix).unwrap();
    let ret = bounded(lp.sendfile_transport(&cli.transport, &file, 0, None))
        .await
        .unwrap();
    cli.transport.write(&suffix).unwrap();
    cli.close_and_finish(&srv).await;
    assert_eq!(ret, data().len() as u64);
    let expected = [prefix, data(), suffix].concat();
    assert!(srv.received() == expected, "the bytes arrived out of order");
    assert_eq!(tell(&file), 0);
}

/// 100 bytes from offset 1000. Difference: the file's position is not moved.
#[aloop::test]
async fn sendfile_sendfile_sendfile_partial() {
    let lp = get_running_loop().unwrap();
    let file = data_file();
    let (srv, cli) = prepare_sendfile(0, None).await;
    let ret = bounded(lp.sendfile_transport(&cli.transport, &file, 1000, Some(100)))
        .await
        .unwrap();
    cli.close_and_finish(&srv).await;
    assert_eq!(ret, 100);
    assert_eq!(srv.received(), data()[1000..1100]);
    assert_eq!(tell(&file), 0);
}

/// The server closes as soon as it has the whole file: the `sendfile` still succeeds.
#[aloop::test]
async fn sendfile_sendfile_sendfile_close_peer_after_receiving() {
    let lp = get_running_loop().unwrap();
    let file = data_file();
    let (srv, cli) = prepare_sendfile(data().len(), None).await;
    let ret = bounded(lp.sendfile_transport(&cli.transport, &file, 0, None))
        .await
        .unwrap();
    cli.close_and_finish(&srv).await;
    assert_eq!(ret, data().len() as u64);
    assert!(srv.received() == data(), "the file did not arrive as it is");
    assert_eq!(tell(&file), 0);
}

/// Whether `e` is one of Python's ConnectionError kinds.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionRefused
    )
}

/// The server closes after 1024 bytes: the `sendfile` fails with a connection error,
/// the server got part of the file, and the client's transport is closing.
#[aloop::test]
async fn sendfile_sendfile_sendfile_close_peer_in_the_middle_of_receiving() {
    let lp = get_running_loop().unwrap();
    let file = data_file();
    let (srv, cli) = prepare_sendfile(1024, None).await;
    let err = bounded(lp.sendfile_transport(&cli.transport, &file, 0, None))
        .await
        .unwrap_err();
    assert!(is_connection_error(&err), "{err:?}");
    bounded(srv.done.wait()).await;
    let nbytes = srv.received().len();
    assert!((1024..data().len()).contains(&nbytes), "{nbytes}");
    assert!(cli.transport.is_closing());
    cli.close_and_finish(&srv).await;
}

/// The same through the fallback: a child reads 1024 bytes of its stdin and exits.
#[aloop::test]
async fn sendfile_sendfile_sendfile_fallback_close_peer_in_the_middle_of_receiving() {
    let lp = get_running_loop().unwrap();
    let file = data_file();
    let mut head = aloop::create_subprocess_exec("head", ["-c", "1024"])
        .stdin(Stdio::Pipe)
        .stdout(Stdio::Pipe)
        .await
        .unwrap();
    let stdout = head.stdout.take().unwrap();
    let reading = create_task(stdout.read_to_eof());
    let stdin = head.stdin.take().unwrap();
    let err = bounded(lp.sendfile(&stdin, &file, 0, None))
        .await
        .unwrap_err();
    assert!(is_connection_error(&err), "{err:?}");
    let got = bounded(reading).await.unwrap().unwrap();
    assert_eq!(got, data()[..1024]);
    assert_eq!(bounded(head.wait()).await.unwrap(), 0);
}

/// While a `sendfile` is in progress, a plain `write` on the same transport is refused
/// (its bytes would land in the middle of the file's).
#[aloop::test]
async fn sendfile_sendfile_sendfile_prevents_bare_write() {
    let lp = get_running_loop().unwrap();
    let file = Rc::new(data_file());
    let (srv, cli) = prepare_sendfile(0, None).await;
    let started = Rc::new(Event::new());
    let (l, t, f, s) = (
        lp.clone(),
        cli.transport.clone(),
        file.clone(),
        started.clone(),
    );
    let sending = create_task(async move {
        s.set();
        l.sendfile_transport(&t, &f, 0, None).await
    });
    bounded(started.wait()).await;
    aloop_tests::cpython::tick().await;
    assert!(
        !sending.done(),
        "the file does not fit in the reduced buffers"
    );
    let refused = cli.transport.write(b"data");
    let ret = bounded(sending).await.unwrap().unwrap();
    cli.close_and_finish(&srv).await;
    assert!(refused.is_err(), "a write during sendfile was accepted");
    assert_eq!(ret, data().len() as u64);
    assert!(srv.received() == data(), "the file did not arrive as it is");
}
