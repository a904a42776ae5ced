//! A TLS server's accepted connections (`ServerOptions::ssl`, for `start_server` and
//! `create_server` alike): the server's acceptor wrapped so that each connection's
//! handshake (`handshake.rs`) runs first, in a task of its own.

use std::rc::Rc;

use super::config::{ServerConfig, TlsConfig};
use super::handshake::handshake;
use crate::event_loop::LoopRef;
use crate::exception::ExceptionContext;
use crate::streams::raw_stream::RawStream;
use crate::streams::server::{Acceptor, ClientSlot};

/// A TLS server's acceptor: each accepted connection's handshake runs in a task of its
/// own (a slow client never holds up the accept loop), then the connection goes to
/// `inner` (the stream callback's or the protocol's acceptor) as usual. A failed or
/// timed-out handshake closes the connection; it is reported only in debug mode, as
/// asyncio does, since any client on the network can cause it.
pub(crate) fn accepting(inner: Acceptor, config: ServerConfig) -> Acceptor {
    let config = TlsConfig::Server(config);
    Rc::new(move |raw: RawStream, lp: &LoopRef, slot: ClientSlot| {
        let inner = inner.clone();
        let config = config.clone();
        let lp2 = lp.clone();
        let task = lp.create_task(async move {
            match handshake(&raw, &config, None).await {
                Ok(()) => inner(raw, &lp2, slot),
                Err(e) if lp2.get_debug() => {
                    let peer = raw
                        .peer_addr()
                        .map_or_else(|| "a client".to_owned(), |a| a.to_string());
                    lp2.call_exception_handler(&ExceptionContext::new(format!(
                        "TLS handshake failed with {peer}: {e}"
                    )));
                }
                Err(_) => {}
            }
        });
        task.set_name("aloop-tls-handshake");
    })
}
