//! The protocol traits (asyncio's `asyncio.Protocol` and `asyncio.BufferedProtocol`):
//! what a connection tells its protocol. `receiving.rs` drives them; `transport.rs`
//! is what they write to.

use std::io;
use std::ops::{Deref, DerefMut};

use super::transport::Transport;

/// A connection's protocol (asyncio's `asyncio.Protocol`): the loop calls these on
/// the loop thread, in this order: `connection_made` once, `data_received` any number
/// of times, `eof_received` at most once, `connection_lost` exactly once (also after a
/// reset or a failed write). `pause_writing` / `resume_writing` come in pairs as the
/// transport's write buffer crosses its water marks.
///
/// Unlike asyncio, the write-buffer and loss callbacks never run *inside*
/// `Transport::write` (the protocol is usually the one writing, and is borrowed): they
/// run in a callback of their own right after.
///
/// ```
/// use aloop::{Protocol, Transport};
///
/// /// Echoes every byte back.
/// struct Echo(Option<Transport>);
///
/// impl Protocol for Echo {
///     fn connection_made(&mut self, transport: Transport) {
///         self.0 = Some(transport);
///     }
///     fn data_received(&mut self, data: &[u8]) {
///         let _ = self.0.as_ref().unwrap().write(data);
///     }
/// }
///
/// aloop::run(async {
///     let lp = aloop::get_running_loop().unwrap();
///     let server = lp
///         .create_server(|| Echo(None), "127.0.0.1", 0, Default::default())
///         .await
///         .unwrap();
///     let port = server.sockets()[0].port();
///     let (r, w) = aloop::open_connection("127.0.0.1", port).await.unwrap();
///     w.write(b"ping\n").unwrap();
///     assert_eq!(r.readline().await.unwrap(), b"ping\n");
///     server.close();
/// });
/// ```
pub trait Protocol: 'static {
    /// The connection is made; keep the transport to write to it.
    fn connection_made(&mut self, transport: Transport) {
        let _ = transport;
    }

    /// Bytes arrived.
    fn data_received(&mut self, data: &[u8]) {
        let _ = data;
    }

    /// The peer sent end-of-stream. Return `true` to keep the connection open (to
    /// write more; asyncio's half-close), `false` (the default) to close it.
    fn eof_received(&mut self) -> bool {
        false
    }

    /// The connection is gone: `None` after a close, an abort or end-of-stream, the
    /// error after a failure (a reset, a failed write). Called exactly once.
    fn connection_lost(&mut self, error: Option<io::Error>) {
        let _ = error;
    }

    /// The transport's write buffer went above its high-water mark: stop writing.
    fn pause_writing(&mut self) {}

    /// The write buffer is back under its low-water mark.
    fn resume_writing(&mut self) {}
}

/// A protocol that owns its receive buffer (asyncio's `asyncio.BufferedProtocol`):
/// the transport reads straight into [`get_buffer`](Self::get_buffer)'s slice, with no
/// copy in between. Give it to the loop wrapped in [`Buffered`] (asyncio tells the
/// two kinds apart with `isinstance`; Rust, by the wrapper).
pub trait BufferedProtocol: 'static {
    /// The connection is made.
    fn connection_made(&mut self, transport: Transport) {
        let _ = transport;
    }

    /// Where the next read goes; `size_hint` is how much the transport would like
    /// (an empty slice is a fatal error, as in asyncio).
    fn get_buffer(&mut self, size_hint: usize) -> &mut [u8];

    /// `nbytes` were written at the start of the last `get_buffer` slice.
    fn buffer_updated(&mut self, nbytes: usize);

    /// As [`Protocol::eof_received`].
    fn eof_received(&mut self) -> bool {
        false
    }

    /// As [`Protocol::connection_lost`].
    fn connection_lost(&mut self, error: Option<io::Error>) {
        let _ = error;
    }

    /// As [`Protocol::pause_writing`].
    fn pause_writing(&mut self) {}

    /// As [`Protocol::resume_writing`].
    fn resume_writing(&mut self) {}
}

/// Marks a [`BufferedProtocol`] for `create_connection` / `create_server`; derefs to
/// the protocol.
#[derive(Debug, Default)]
pub struct Buffered<P>(pub P);

impl<P> Deref for Buffered<P> {
    type Target = P;
    fn deref(&self) -> &P {
        &self.0
    }
}

impl<P> DerefMut for Buffered<P> {
    fn deref_mut(&mut self) -> &mut P {
        &mut self.0
    }
}
