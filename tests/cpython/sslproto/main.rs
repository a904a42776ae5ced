//! Port of CPython's `Lib/test/test_asyncio/test_sslproto.py` (see `docs/conformance.md`
//! for the version, and for each method that has no Rust form and why): one Rust test
//! per method, `sslproto_<class>_<method>`, on the facade's TLS (feature `tls`, rustls).
//! `handshake.rs` holds the `SslProtoHandshakeTests` methods that have a Rust form (the
//! class drives asyncio's private `SSLProtocol` with mocks; here real connections show
//! the same outcomes); `start_tls.rs` the `BaseStartTLS` ones.
//!
//! CPython's `tcp_server` / `tcp_client` (a blocking socket on a thread, upgraded with
//! `sock.start_tls`) are std threads speaking TLS with rustls directly, as
//! `tests/tls/endings_and_flow.rs` does; CPython's `simple_server_sslcontext` /
//! `simple_client_sslcontext` are a leaf for `localhost` and a client trusting its CA.

mod handshake;
mod start_tls;

pub(crate) use aloop_tests::cpython::{bounded, until, LIMIT};
use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::rc::Rc;
use std::sync::Arc;
use std::thread::JoinHandle;

use aloop::tls::rustls;
use aloop::tls::{ClientConfig, ServerConfig};
use aloop::{Protocol, Transport};
use aloop_tests::tls_certs::localhost;

/// CPython's `BaseStartTLS.PAYLOAD_SIZE`.
const PAYLOAD_SIZE: usize = 1024 * 100;

/// CPython's `HELLO_MSG`.
fn hello() -> Vec<u8> {
    vec![b'1'; PAYLOAD_SIZE]
}

/// A server certificate for `localhost` / 127.0.0.1 and a client config trusting its CA
/// and checking the name `localhost`.
fn tls_pair() -> (ServerConfig, ClientConfig) {
    let (ca, leaf) = localhost();
    let server = ServerConfig::from_pem(leaf.cert_pem.as_bytes(), leaf.key_pem.as_bytes()).unwrap();
    let client = ClientConfig::with_root_pem(ca.cert_pem().as_bytes())
        .unwrap()
        .server_hostname("localhost");
    (server, client)
}

/// CPython's `tcp_server(serve)`: a thread accepting one connection on 127.0.0.1 and
/// giving it to `serve`, with every read and write bounded by [`LIMIT`].
fn tcp_server<T: Send + 'static>(
    serve: impl FnOnce(TcpStream) -> T + Send + 'static,
) -> (SocketAddr, JoinHandle<T>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let thread = std::thread::spawn(move || {
        let (sock, _) = listener.accept().unwrap();
        sock.set_read_timeout(Some(LIMIT)).unwrap();
        sock.set_write_timeout(Some(LIMIT)).unwrap();
        serve(sock)
    });
    (addr, thread)
}

/// Joins a server or client thread from the loop without blocking it.
async fn join<T: Send + 'static>(thread: JoinHandle<T>) -> T {
    bounded(aloop::to_thread(move || thread.join().unwrap()))
        .await
        .unwrap()
}

/// A thread's TLS session over its blocking socket (CPython's `sock.start_tls`).
type ServerTls = rustls::StreamOwned<rustls::ServerConnection, TcpStream>;

/// The server side of CPython's `sock.start_tls(ctx, server_side=True)`: handshakes at
/// the first read or write.
fn server_tls(config: &ServerConfig, sock: TcpStream) -> ServerTls {
    let conn = rustls::ServerConnection::new(config.rustls_config().clone()).unwrap();
    rustls::StreamOwned::new(conn, sock)
}

/// The client side of CPython's `sock.start_tls(ctx)`, checking the name `localhost`.
fn client_tls(
    config: &ClientConfig,
    sock: TcpStream,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(Arc::clone(config.rustls_config()), name).unwrap();
    rustls::StreamOwned::new(conn, sock)
}

/// CPython's `sock.recv_all(n)`: exactly `n` bytes.
fn recv_all(sock: &mut impl Read, n: usize) -> Vec<u8> {
    let mut buf = vec![0u8; n];
    sock.read_exact(&mut buf).unwrap();
    buf
}

/// Reads until the connection ends, however it ends: how CPython's servers wait for the
/// client to go (`recv_all(1024 * 1024)` until `ConnectionAbortedError`). Returns
/// whether it ended (end-of-file or an error) rather than by the read timeout.
fn read_until_gone(sock: &mut TcpStream) -> bool {
    let mut buf = [0u8; 4096];
    loop {
        match sock.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// What a [`Recorder`] protocol saw, in CPython's terms.
#[derive(Default)]
struct Events {
    made: usize,
    data: Vec<u8>,
    eof: bool,
    /// `connection_lost` was called: with no error (`None`) or with this kind.
    lost: Option<Option<io::ErrorKind>>,
    transport: Option<Transport>,
}

/// The client and server protocols of CPython's tests: records each callback.
#[derive(Clone, Default)]
struct Recorder(Rc<RefCell<Events>>);

impl Protocol for Recorder {
    fn connection_made(&mut self, transport: Transport) {
        let mut ev = self.0.borrow_mut();
        ev.made += 1;
        ev.transport = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        self.0.borrow_mut().data.extend_from_slice(data);
    }

    fn eof_received(&mut self) -> bool {
        self.0.borrow_mut().eof = true;
        false
    }

    fn connection_lost(&mut self, error: Option<io::Error>) {
        let mut ev = self.0.borrow_mut();
        assert!(ev.lost.is_none(), "connection_lost called twice");
        ev.lost = Some(error.map(|e| e.kind()));
    }
}

impl Recorder {
    fn data(&self) -> Vec<u8> {
        self.0.borrow().data.clone()
    }

    fn lost(&self) -> Option<Option<io::ErrorKind>> {
        self.0.borrow().lost
    }
}

/// Writes all of `data` on a thread's blocking TLS stream and flushes it.
fn send(tls: &mut impl Write, data: &[u8]) {
    tls.write_all(data).unwrap();
    tls.flush().unwrap();
}
