//! The `aloop-protocol` servers: HTTP hello and RESP written the other way asyncio
//! offers, a `Protocol` (`loop.create_server(factory, ...)`): the loop hands each
//! read's bytes to `data_received`, which parses every whole request in them and
//! answers each with its own `transport.write(reply)`. It is how the uvloop cell
//! (`http_uvloop.py`) and most fast asyncio servers are written.
//!
//! Neighbours: `http.rs` (the head parser and answers shared with the `aloop` and
//! `tokio-ct` HTTP cells) and `resp.rs` / `resp_servers.rs` (the RESP parser, store
//! and error reply shared with the RESP cells). The replies of one read leave in one
//! send: the transport coalesces the writes made during one batch of the loop, so
//! nothing here batches by hand.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use aloop::{Protocol, ServerOptions, Transport};

use super::http::{self, Head};
use super::resp;
use super::resp_servers::{error_reply, reply_to_first};

/// A request head, or a RESP command, longer than this closes the connection (the
/// streams' default limit, which bounds the `aloop` cells).
const LIMIT: usize = 64 * 1024;

/// What is left of a connection's bytes after its whole requests: kept until the rest
/// arrives. The common case (every read ends on a request's end) copies nothing.
#[derive(Default)]
struct Pending(Vec<u8>);

impl Pending {
    /// Runs `answer_all` over the bytes not yet answered, `data` after what is kept,
    /// and keeps what it leaves. `answer_all` returns the bytes it used and whether
    /// to close. Returns whether the connection is to be closed.
    fn feed(&mut self, data: &[u8], answer_all: impl FnOnce(&[u8]) -> (usize, bool)) -> bool {
        if self.0.is_empty() {
            let (used, close) = answer_all(data);
            self.0.extend_from_slice(&data[used..]);
            return close;
        }
        self.0.extend_from_slice(data);
        let (used, close) = answer_all(&self.0);
        self.0.drain(..used);
        close
    }
}

/// `data_received` of both: `data` through `pending` to `answer_all`, and the
/// connection closed (the transport forgotten) when it asks.
fn receive(
    slot: &mut Option<Transport>,
    pending: &mut Pending,
    data: &[u8],
    answer_all: impl FnOnce(&[u8], &Transport) -> (usize, bool),
) {
    let Some(transport) = slot.as_ref() else {
        return;
    };
    if pending.feed(data, |buf| answer_all(buf, transport)) {
        transport.close();
        *slot = None;
    }
}

/// HTTP hello as a `Protocol`.
#[derive(Default)]
struct Hello {
    transport: Option<Transport>,
    pending: Pending,
}

/// Answers every whole head at the start of `buf`: (bytes used, close after).
fn answer_heads(buf: &[u8], transport: &Transport) -> (usize, bool) {
    let mut used = 0;
    while let Head::Complete(len, answer) = http::parse(&buf[used..]) {
        used += len;
        if transport.write(answer.response).is_err() || !answer.keep_alive {
            return (used, true);
        }
    }
    if buf.len() - used > LIMIT {
        let _ = transport.write(http::BAD_REQUEST);
        return (used, true);
    }
    (used, false)
}

impl Protocol for Hello {
    fn connection_made(&mut self, transport: Transport) {
        self.transport = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        receive(&mut self.transport, &mut self.pending, data, answer_heads);
    }
}

/// RESP as a `Protocol`, over the loop's one store.
struct Resp {
    db: Rc<RefCell<HashMap<Vec<u8>, Vec<u8>>>>,
    transport: Option<Transport>,
    pending: Pending,
    reply: Vec<u8>,
}

/// Runs every whole command at the start of `buf`, each reply its own write: (bytes
/// used, close after).
fn answer_commands(
    buf: &[u8],
    db: &impl resp::Db,
    transport: &Transport,
    reply: &mut Vec<u8>,
) -> (usize, bool) {
    let mut used = 0;
    while let Some((n, close)) = reply_to_first(&buf[used..], db, reply) {
        used += n;
        if transport.write(reply).is_err() || close {
            return (used, true);
        }
    }
    if buf.len() - used > LIMIT {
        reply.clear();
        error_reply(reply, "too big inline request");
        let _ = transport.write(reply);
        return (used, true);
    }
    (used, false)
}

impl Protocol for Resp {
    fn connection_made(&mut self, transport: Transport) {
        self.transport = Some(transport);
    }

    fn data_received(&mut self, data: &[u8]) {
        let (db, reply) = (&*self.db, &mut self.reply);
        receive(&mut self.transport, &mut self.pending, data, |buf, t| {
            answer_commands(buf, db, t, reply)
        });
    }
}

/// Serves protocols made by `factory` on 127.0.0.1:`port` until the process ends.
async fn serve<P: Protocol + 'static>(factory: impl Fn() -> P + 'static, port: u16) {
    let lp = aloop::get_running_loop().expect("inside aloop::run");
    let server = lp
        .create_server(factory, "127.0.0.1", port, ServerOptions::default())
        .await
        .expect("create_server on 127.0.0.1");
    super::listening(server.sockets()[0].port());
    server.serve_forever().await.expect("serve_forever");
}

/// HTTP hello, `aloop-protocol`.
pub async fn http_hello(port: u16) {
    serve(Hello::default, port).await;
}

/// RESP, `aloop-protocol`.
pub async fn resp(port: u16) {
    let db = Rc::new(RefCell::new(HashMap::new()));
    serve(
        move || Resp {
            db: db.clone(),
            transport: None,
            pending: Pending::default(),
            reply: Vec::new(),
        },
        port,
    )
    .await;
}
