//! Port of CPython's `Lib/test/test_asyncio/test_selector_events.py` (see
//! `docs/conformance.md` for the version, and for each method that has no Rust form and
//! why). The file drives asyncio's private selector loop and transports with a mocked
//! selector and mocked sockets; what those tests observe through the public surface is
//! shown here on real sockets, one Rust test per method,
//! `selector_events_<class>_<method>`: `loop_fds.rs` (the loop's fd watches, closing,
//! accepting), `stream.rs` (a socket transport's life: connection, reading, pausing,
//! endings, errors), `stream_write.rs` (its writing: buffering, water marks, EOF),
//! `buffered.rs` (the same transport with a `BufferedProtocol`), `datagram.rs`.
//!
//! The far end of each connection is a plain std socket, non-blocking, read by polling
//! from the loop ([`peer_read`]), so the loop is never blocked.

mod buffered;
mod datagram;
mod loop_fds;
mod stream;
mod stream_write;

pub(crate) use aloop_tests::cpython::{bounded, until, LIMIT};
use std::cell::RefCell;
use std::io::{self, Read};
use std::net::{TcpListener, TcpStream};
use std::rc::Rc;
use std::time::Duration;

use aloop::{get_running_loop, Protocol, Transport};
use aloop_tests::Log;

/// A protocol recording its callbacks in a [`Log`] ("made", "data", "eof",
/// "lost: None" or "lost: <kind>", "pause_writing", "resume_writing"), with knobs for
/// CPython's mocked behaviours: what `eof_received` returns, a callback that panics
/// (CPython's `side_effect = LookupError()`), pausing in `connection_made`, a write in
/// `resume_writing`.
#[derive(Clone, Default)]
struct Rec {
    log: Log,
    data: Rc<RefCell<Vec<u8>>>,
    transport: Rc<RefCell<Option<Transport>>>,
    keep_open: bool,
    panic_in: Option<&'static str>,
    pause_in_made: bool,
    write_on_resume: Option<&'static [u8]>,
    refused_on_resume: Rc<RefCell<Option<io::ErrorKind>>>,
}

impl Protocol for Rec {
    fn connection_made(&mut self, transport: Transport) {
        self.log.push("made");
        if self.pause_in_made {
            transport.pause_reading();
        }
        *self.transport.borrow_mut() = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        self.log.push("data");
        if self.panic_in == Some("data_received") {
            panic!("data_received failed");
        }
        self.data.borrow_mut().extend_from_slice(data);
    }

    fn eof_received(&mut self) -> bool {
        self.log.push("eof");
        if self.panic_in == Some("eof_received") {
            panic!("eof_received failed");
        }
        self.keep_open
    }

    fn connection_lost(&mut self, error: Option<io::Error>) {
        self.log.push(match error {
            None => "lost: None".to_string(),
            Some(e) => format!("lost: {:?}", e.kind()),
        });
        // Drop our handle, as asyncio's protocols usually do, so the socket can close.
        self.transport.borrow_mut().take();
    }

    fn pause_writing(&mut self) {
        self.log.push("pause_writing");
    }

    fn resume_writing(&mut self) {
        self.log.push("resume_writing");
        if let (Some(data), Some(t)) = (self.write_on_resume.take(), &*self.transport.borrow()) {
            *self.refused_on_resume.borrow_mut() = t.write(data).err().map(|e| e.kind());
        }
    }
}

impl Rec {
    /// Whether `connection_lost` was called.
    fn lost(&self) -> bool {
        self.log.events().iter().any(|e| e.starts_with("lost"))
    }

    fn data(&self) -> Vec<u8> {
        self.data.borrow().clone()
    }
}

/// A connected pair: an aloop transport driving `proto` on one end, and the other end
/// as a non-blocking std socket. Also returns a duplicate of the transport's own socket
/// (`try_clone`), for tests that fill its send buffer behind the transport's back.
fn connected<P: aloop::AnyProtocol>(proto: P) -> (Transport, Rc<RefCell<P>>, TcpStream, TcpStream) {
    let lp = get_running_loop().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let ours = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (peer, _) = listener.accept().unwrap();
    peer.set_nonblocking(true).unwrap();
    let dup = ours.try_clone().unwrap();
    let (t, p) = lp.connect_accepted_socket(move || proto, ours).unwrap();
    (t, p, peer, dup)
}

/// Reads from the peer until `want` bytes came (or, with `None`, until end-of-stream),
/// polling without blocking the loop.
async fn peer_read(peer: &mut TcpStream, want: Option<usize>) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    bounded(async {
        loop {
            if want.is_some_and(|n| got.len() >= n) {
                return;
            }
            match peer.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    aloop::sleep(Duration::from_millis(1)).await
                }
                Err(e) => panic!("the peer's read failed: {e:?}"),
            }
        }
    })
    .await;
    got
}

/// Fills `sock`'s send buffer (and the peer's receive buffer) until a write would
/// block: CPython's `send` raising BlockingIOError.
fn fill_send_buffer(sock: &TcpStream) {
    use std::io::Write;
    sock.set_nonblocking(true).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    loop {
        match (&*sock).write(&chunk) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) => panic!("{e:?}"),
        }
    }
}

/// Ends the peer with a reset (SO_LINGER 0), CPython's ConnectionResetError.
fn reset(peer: TcpStream) {
    socket2::SockRef::from(&peer)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(peer);
}
