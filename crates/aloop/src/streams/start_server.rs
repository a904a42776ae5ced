//! `start_server` / `start_unix_server` (asyncio's `asyncio.start_server`): a server
//! (`server.rs`) whose accepted connections become a `StreamReader`/`StreamWriter`
//! pair handed to the user's callback in a task of its own; and [`ClientOutcome`],
//! what that callback may return.

use std::fmt;
use std::future::Future;
use std::io;
use std::path::Path;
use std::rc::Rc;

use super::connection::{running_loop, wrap};
use super::raw_stream::RawStream;
use super::reader::{check_limit, StreamReader};
use super::server::{
    bind_tcp, bind_unix, start_accepting, Acceptor, ClientSlot, Server, ServerOptions,
};
use super::writer::StreamWriter;
use crate::event_loop::LoopRef;
use crate::exception::ExceptionContext;

/// How a connection's peer is named in reports.
fn peer_name(writer: &StreamWriter) -> String {
    if let Some(addr) = writer.peername() {
        return addr.to_string();
    }
    match writer.unix_peername() {
        Some(addr) => match addr.as_pathname() {
            Some(path) => path.display().to_string(),
            None => "an unnamed unix socket".to_owned(),
        },
        None => "an unknown peer".to_owned(),
    }
}

/// What a [`start_server`] callback's future may end with: `()`, or a `Result` whose
/// error goes to the loop's exception handler with the peer named (asyncio logs an
/// exception escaping `client_connected_cb` the same way), so callbacks can use `?`.
///
/// ```
/// async fn handle(r: aloop::StreamReader, w: aloop::StreamWriter) -> std::io::Result<()> {
///     let line = r.readline().await?;
///     w.write(&line)?;
///     w.drain().await?;
///     Ok(())
/// }
/// # aloop::run(async {
/// let server = aloop::start_server(handle, "127.0.0.1", 0).await.unwrap();
/// # server.close();
/// # });
/// ```
pub trait ClientOutcome: 'static {
    /// The failure to report, if any.
    fn failure(self) -> Option<String>;
}

impl ClientOutcome for () {
    fn failure(self) -> Option<String> {
        None
    }
}

impl<E: fmt::Display + 'static> ClientOutcome for Result<(), E> {
    fn failure(self) -> Option<String> {
        self.err().map(|e| e.to_string())
    }
}

/// Runs the user's callback on one connection; a failure it returns goes to the loop's
/// exception handler with the peer named. Shared with `Runtime`'s one-acceptor server.
pub(crate) async fn serve_client<F, Fut>(
    callback: &F,
    reader: StreamReader,
    writer: StreamWriter,
    report_to: &LoopRef,
) where
    F: Fn(StreamReader, StreamWriter) -> Fut,
    Fut: Future,
    Fut::Output: ClientOutcome,
{
    let peer = peer_name(&writer);
    if let Some(failure) = callback(reader, writer).await.failure() {
        report_to.call_exception_handler(&ExceptionContext::new(format!(
            "client_connected_cb failed for {peer}: {failure}"
        )));
    }
}

/// Runs `callback` for each accepted connection, in a task of its own.
fn stream_acceptor<F, Fut>(callback: F, limit: usize) -> Acceptor
where
    F: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: ClientOutcome,
{
    let callback = Rc::new(callback);
    Rc::new(
        move |transport: RawStream, lp: &LoopRef, slot: ClientSlot| {
            let (reader, writer) = wrap(transport, lp, limit);
            slot.track(&writer);
            let callback = callback.clone();
            let report_to = lp.clone();
            // The callback is called inside the task, so even a panic while it builds
            // its future stays in that connection's task.
            lp.create_task(async move {
                let _slot = slot;
                serve_client(&*callback, reader, writer, &report_to).await;
            });
        },
    )
}

/// Starts a TCP server on `host:port` (asyncio's `asyncio.start_server`): for every
/// accepted connection, `client_connected_cb(reader, writer)` runs in a task of its
/// own. Every address `host` resolves to is listened on; an empty `host` is every
/// interface (asyncio's `host=None`: `0.0.0.0`, and `[::]` where there is IPv6, on one
/// port); port 0 picks a free port (see [`Server::sockets`]). IPv6 listeners are
/// IPv6-only, as asyncio's. The server is serving when this returns.
///
/// ```
/// aloop::run(async {
///     let server = aloop::start_server(
///         |reader: aloop::StreamReader, writer: aloop::StreamWriter| async move {
///             while let Ok(line) = reader.readline().await {
///                 if line.is_empty() || writer.write(&line).is_err() {
///                     break;
///                 }
///             }
///         },
///         "127.0.0.1",
///         0,
///     )
///     .await
///     .unwrap();
///     let addr = server.sockets()[0];
///     let (r, w) = aloop::open_connection("127.0.0.1", addr.port()).await.unwrap();
///     w.write(b"echo\n").unwrap();
///     assert_eq!(r.readline().await.unwrap(), b"echo\n");
///     w.close();
///     server.close();
///     server.wait_closed().await; // the connection task has ended too
/// });
/// ```
pub fn start_server<F, Fut>(
    client_connected_cb: F,
    host: &str,
    port: u16,
) -> impl Future<Output = io::Result<Server>> + 'static
where
    F: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: ClientOutcome,
{
    start_server_with(client_connected_cb, host, port, ServerOptions::default())
}

/// [`start_server`] with [`ServerOptions`] (`SO_REUSEPORT`, backlog, reader limit).
pub fn start_server_with<F, Fut>(
    client_connected_cb: F,
    host: &str,
    port: u16,
    options: ServerOptions,
) -> impl Future<Output = io::Result<Server>> + 'static
where
    F: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: ClientOutcome,
{
    let host = host.to_owned();
    async move {
        running_loop()?;
        check_limit(options.limit)?;
        let (listeners, bound) = bind_tcp(&host, port, &options).await?;
        let acceptor = stream_acceptor(client_connected_cb, options.limit);
        #[cfg(feature = "tls")]
        let acceptor = match options.ssl.clone() {
            Some(tls) => crate::tls::accept::accepting(acceptor, tls),
            None => acceptor,
        };
        start_accepting(listeners, bound, None, acceptor, options.start_serving)
    }
}

/// Starts a Unix-domain socket server at `path` (asyncio's `start_unix_server`). A
/// stale socket file at `path` is removed first, as asyncio does; `close` removes the
/// file again.
pub fn start_unix_server<F, Fut>(
    client_connected_cb: F,
    path: impl AsRef<Path>,
) -> impl Future<Output = io::Result<Server>> + 'static
where
    F: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: ClientOutcome,
{
    start_unix_server_with(client_connected_cb, path, ServerOptions::default())
}

/// [`start_unix_server`] with [`ServerOptions`] (only `limit` applies).
pub fn start_unix_server_with<F, Fut>(
    client_connected_cb: F,
    path: impl AsRef<Path>,
    options: ServerOptions,
) -> impl Future<Output = io::Result<Server>> + 'static
where
    F: Fn(StreamReader, StreamWriter) -> Fut + 'static,
    Fut: Future + 'static,
    Fut::Output: ClientOutcome,
{
    let path = path.as_ref().to_owned();
    async move {
        running_loop()?;
        check_limit(options.limit)?;
        let (listener, file) = bind_unix(&path)?;
        let acceptor = stream_acceptor(client_connected_cb, options.limit);
        #[cfg(feature = "tls")]
        let acceptor = match options.ssl.clone() {
            Some(tls) => crate::tls::accept::accepting(acceptor, tls),
            None => acceptor,
        };
        start_accepting(
            vec![listener],
            Vec::new(),
            Some(file),
            acceptor,
            options.start_serving,
        )
    }
}
