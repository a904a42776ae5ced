//! Datagram endpoints (asyncio's `loop.create_datagram_endpoint`,
//! `asyncio.DatagramProtocol` and `DatagramTransport`): UDP and Unix datagram sockets
//! driven by the loop, delivering each datagram to a protocol object's callbacks.
//!
//! One concept per file, imported one way only (no file here imports this one):
//! - `addr.rs`: [`DatagramAddr`], one address type for both families. UDP and Unix
//!   endpoints share one protocol trait and one transport type, so an echo server is
//!   the same code for both; a UDP user takes the `SocketAddr` out with
//!   [`DatagramAddr::as_inet`].
//! - `error.rs`: [`SendtoError`], the misuse `sendto` reports (asyncio's `ValueError`).
//! - `protocol.rs`: the [`DatagramProtocol`] trait (the callbacks).
//! - `socket.rs`: the private socket under a transport (UDP or Unix, on the reactor)
//!   and [`TransportSocket`], its public face for socket options.
//! - `transport.rs`: [`DatagramTransport`], the user's handle: `sendto` with its send
//!   queue, `close`, `abort`, flow-control limits, addresses.
//! - `pump.rs`: the endpoint's task: receives datagrams, flushes the send queue, calls
//!   the protocol (panics caught), and calls `connection_lost` exactly once.
//! - `open.rs`: making the socket: name resolution, family pairing, socket options.
//! - `endpoint.rs`: [`DatagramOptions`] and the `create_*datagram_endpoint` functions
//!   that tie the others together.

mod addr;
mod endpoint;
mod error;
mod open;
mod protocol;
mod pump;
mod socket;
mod transport;

pub use addr::DatagramAddr;
pub use endpoint::{create_datagram_endpoint, create_unix_datagram_endpoint, DatagramOptions};
pub use error::SendtoError;
pub use protocol::DatagramProtocol;
pub use socket::TransportSocket;
pub use transport::DatagramTransport;
