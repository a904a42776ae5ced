//! Streams (asyncio's `open_connection` / `start_server` layer) over the loop's
//! reactor: [`StreamReader`], [`StreamWriter`], [`Server`], and the functions that
//! make them. One concept per file; `buffer.rs`, `pull.rs`, `read_futures.rs`,
//! `search.rs`, `send_queue.rs`, `send_flusher.rs` and `raw_stream.rs` are the private
//! plumbing behind them.

mod buffer;
#[cfg(feature = "process")]
pub(crate) mod child_pipes;
mod connection;
mod error;
pub(crate) mod happy_eyeballs;
mod io_traits;
mod pull;
pub(crate) mod raw_stream;
mod read_futures;
mod reader;
mod search;
mod send_flusher;
pub(crate) mod send_queue;
pub(crate) mod server;
pub(crate) mod socket;
mod start_server;
pub(crate) use start_server::serve_client;
mod writer;

pub(crate) use connection::{adopt_tcp, running_loop};
pub use connection::{
    open_connection, open_connection_from, open_connection_with, open_unix_connection,
};
pub use error::{IncompleteReadError, LimitOverrunError, ReadError};
pub use happy_eyeballs::ConnectOptions;
#[cfg(feature = "process")]
pub(crate) use reader::check_limit;
pub use reader::{Lines, StreamReader, DEFAULT_LIMIT};
pub use server::{Server, ServerOptions};
pub use start_server::{
    start_server, start_server_with, start_unix_server, start_unix_server_with, ClientOutcome,
};
pub use writer::{StreamWriter, DEFAULT_HIGH_WATER};
