//! `DatagramProtocol`: the callbacks a datagram endpoint calls (asyncio's
//! `asyncio.DatagramProtocol`, with `BaseProtocol`'s `pause_writing`/`resume_writing`).
//!
//! Called only by the endpoint's task (`pump.rs`), one callback at a time, on the
//! loop's thread. Uses `addr.rs` and `transport.rs`.

use std::io;

use super::addr::DatagramAddr;
use super::transport::DatagramTransport;

/// What a datagram endpoint tells its user (asyncio's `DatagramProtocol`). Every
/// method has a default that does nothing, as in asyncio.
///
/// The endpoint owns the protocol in an `Rc<RefCell<P>>` (also returned by
/// [`create_datagram_endpoint`](crate::create_datagram_endpoint)) and borrows it
/// mutably for each callback, so do not hold a borrow of it across an `.await`: a
/// callback that finds it borrowed is skipped and reported to the exception handler.
/// A callback may call any [`DatagramTransport`] method, including `sendto`,
/// `close` and `abort`. A panic in a callback is caught and reported to the loop's
/// exception handler; the endpoint goes on.
///
/// ```
/// use aloop::{DatagramAddr, DatagramProtocol, DatagramTransport};
///
/// /// Sends every datagram back where it came from.
/// struct Echo(Option<DatagramTransport>);
///
/// impl DatagramProtocol for Echo {
///     fn connection_made(&mut self, transport: DatagramTransport) {
///         self.0 = Some(transport);
///     }
///     fn datagram_received(&mut self, data: &[u8], addr: DatagramAddr) {
///         if let Some(t) = &self.0 {
///             let _ = t.sendto(data, Some(addr));
///         }
///     }
/// }
/// # aloop::run(async {
/// #     let (t, _p) = aloop::create_datagram_endpoint(
/// #         || Echo(None), Some(("127.0.0.1", 0)), None, Default::default()).await.unwrap();
/// #     t.close();
/// # });
/// ```
pub trait DatagramProtocol {
    /// The endpoint is ready: called once, before any other callback, with a handle
    /// to keep for sending (asyncio's `connection_made(transport)`).
    fn connection_made(&mut self, transport: DatagramTransport) {
        let _ = transport;
    }

    /// A datagram arrived from `addr`; `data` is the whole datagram (up to 64 KiB for
    /// UDP, the largest there is, and 256 KiB for Unix sockets, asyncio's size).
    fn datagram_received(&mut self, data: &[u8], addr: DatagramAddr) {
        let _ = (data, addr);
    }

    /// A send or receive failed with an OS error; the endpoint keeps running
    /// (asyncio's `error_received`). On a connected UDP endpoint a datagram refused by
    /// the peer's host (ICMP port unreachable) arrives here as `ConnectionRefused`
    /// (`ECONNREFUSED`), on a later send or receive. The error keeps its
    /// `raw_os_error()`.
    fn error_received(&mut self, error: io::Error) {
        let _ = error;
    }

    /// The endpoint is closed (after `close()` has sent what was queued, or after
    /// `abort()`): called exactly once, last. `error` is `None` for both, as in
    /// asyncio; it is also called, with `None`, if the loop cancels the endpoint's
    /// task (when the loop closes, or when `aloop::run` ends).
    fn connection_lost(&mut self, error: Option<io::Error>) {
        let _ = error;
    }

    /// The send queue grew above the high-water mark (see
    /// [`DatagramTransport::set_write_buffer_limits`]): stop sending for a while.
    /// Called on the endpoint's next step after the `sendto` that crossed the mark,
    /// not inside it (the caller may be this protocol, already borrowed).
    fn pause_writing(&mut self) {}

    /// The send queue fell to the low-water mark after a `pause_writing`.
    fn resume_writing(&mut self) {}
}

/// A protocol that ignores everything: for an endpoint that only sends.
impl DatagramProtocol for () {}
