//! Transports and protocols, asyncio's lower layer over sockets: a [`Protocol`] (or
//! [`BufferedProtocol`]) is told what happens on a connection through callbacks, and
//! answers through its [`Transport`].
//!
//! The layer stands on the streams' machinery, not beside it: a transport writes
//! through the same send queue as a `StreamWriter` (`streams/send_queue.rs`: the
//! same coalescing, water marks and flusher) and reads the same `RawStream`; the
//! servers are the streams' `Server` with another acceptor. Files:
//! - `transport.rs`: [`Transport`], the connection's state, and `connection_lost`;
//!   the floor the others stand on.
//! - `traits.rs`: [`Protocol`], [`BufferedProtocol`].
//! - `receiving.rs`: the read loop, and the adapters from each protocol kind.
//! - `connect.rs`: `create_connection`, `create_server` and their variants.

mod connect;
mod receiving;
mod traits;
mod transport;

pub use receiving::{AnyProtocol, Driver};
pub use traits::{Buffered, BufferedProtocol, Protocol};
pub use transport::Transport;
