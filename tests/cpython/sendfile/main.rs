//! Port of CPython's `Lib/test/test_asyncio/test_sendfile.py` (see `docs/conformance.md`
//! for the version, and for each method that has no Rust form and why): one Rust test
//! per method, `sendfile_<class>_<method>`, on `loop.sock_sendfile` and `loop.sendfile`
//! (`sendfile_transport` for a protocol's transport). `sock.rs` holds the
//! `SockSendfileMixin` methods, `transport.rs` the plain `SendfileMixin` ones, `tls.rs`
//! those over TLS (the facade's `tls` feature).
//!
//! CPython runs both mixins once per selector: twins, one Rust test each. Everything
//! binds 127.0.0.1 port 0; every wait is bounded by [`bounded`].

mod sock;
mod tls;
mod transport;

pub(crate) use aloop_tests::cpython::bounded;
use std::cell::RefCell;
use std::fs::File;
use std::io::{self, Seek, Write};
use std::net::SocketAddr;
use std::rc::Rc;

use aloop::{Event, LoopRef, Protocol, Server, Transport};

/// CPython's `BUF_SIZE`: the reduced socket buffer and the transport's high-water mark,
/// so that the file does not fit in the buffers.
const BUF_SIZE: usize = 4 * 1024;

/// CPython's `DATA`: a little over a megabyte (more than Linux buffers on a socket),
/// here a pattern that shows a misplaced or repeated chunk.
fn data() -> Vec<u8> {
    (0..1024 * 17 * 64 + 1)
        .map(|i: usize| (i % 251) as u8)
        .collect()
}

/// A fresh file holding [`data`], already unlinked, opened for reading at position 0.
fn data_file() -> File {
    file_with(&data())
}

/// A fresh file holding `bytes`, already unlinked, opened for reading at position 0.
fn file_with(bytes: &[u8]) -> File {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let path = std::env::temp_dir().join(format!(
        "aloop-cpython-sendfile-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    File::create(&path).unwrap().write_all(bytes).unwrap();
    let file = File::open(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    file
}

/// The file's position (CPython's `file.tell()`).
fn tell(mut file: &File) -> u64 {
    file.stream_position().unwrap()
}

/// What one side of CPython's `MySendfileProto` saw.
#[derive(Default)]
struct Seen {
    state: &'static str,
    data: Vec<u8>,
    transport: Option<Transport>,
    error: Option<io::ErrorKind>,
}

/// CPython's `MySendfileProto`: records what it receives, checks its callbacks come in
/// order, closes its transport once `close_after` bytes came (0: never), and sets
/// `done` when the connection is lost. The same type serves CPython's `MyProto`.
struct MySendfileProto {
    seen: Rc<RefCell<Seen>>,
    done: Rc<Event>,
    close_after: usize,
}

impl MySendfileProto {
    fn new(close_after: usize) -> (Rc<RefCell<Seen>>, Rc<Event>, MySendfileProto) {
        let seen = Rc::new(RefCell::new(Seen {
            state: "INITIAL",
            ..Default::default()
        }));
        let done = Rc::new(Event::new());
        let proto = MySendfileProto {
            seen: seen.clone(),
            done: done.clone(),
            close_after,
        };
        (seen, done, proto)
    }
}

impl Protocol for MySendfileProto {
    fn connection_made(&mut self, transport: Transport) {
        let mut seen = self.seen.borrow_mut();
        assert_eq!(seen.state, "INITIAL");
        seen.state = "CONNECTED";
        seen.transport = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        let mut seen = self.seen.borrow_mut();
        assert_eq!(seen.state, "CONNECTED");
        seen.data.extend_from_slice(data);
        if self.close_after > 0 && seen.data.len() >= self.close_after {
            seen.transport.as_ref().unwrap().close();
        }
    }

    fn eof_received(&mut self) -> bool {
        let mut seen = self.seen.borrow_mut();
        assert_eq!(seen.state, "CONNECTED");
        seen.state = "EOF";
        false
    }

    fn connection_lost(&mut self, error: Option<io::Error>) {
        let mut seen = self.seen.borrow_mut();
        assert!(matches!(seen.state, "CONNECTED" | "EOF"), "{}", seen.state);
        seen.state = "CLOSED";
        seen.error = error.map(|e| e.kind());
        self.done.set();
    }
}

/// The server side of one test: a server whose single connection is a
/// [`MySendfileProto`], and what that protocol sees.
struct OneServer {
    server: Server,
    addr: SocketAddr,
    seen: Rc<RefCell<Seen>>,
    done: Rc<Event>,
}

/// CPython's server for `prepare_sendfile` / `prepare_socksendfile`: plain, or TLS
/// presenting `tls`'s certificate.
async fn one_server(
    lp: &LoopRef,
    close_after: usize,
    tls: Option<aloop::tls::ServerConfig>,
) -> OneServer {
    let (seen, done, proto) = MySendfileProto::new(close_after);
    let proto = RefCell::new(Some(proto));
    let options = aloop::ServerOptions {
        ssl: tls,
        ..Default::default()
    };
    let server = lp
        .create_server(
            move || proto.borrow_mut().take().expect("one connection only"),
            "127.0.0.1",
            0,
            options,
        )
        .await
        .unwrap();
    let addr = server.sockets()[0];
    OneServer {
        server,
        addr,
        seen,
        done,
    }
}

impl OneServer {
    /// Waits for the server's connection to be lost, then closes the server.
    async fn finish(&self) {
        bounded(self.done.wait()).await;
        self.server.close();
    }

    fn received(&self) -> Vec<u8> {
        self.seen.borrow().data.clone()
    }
}
