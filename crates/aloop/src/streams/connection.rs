//! `open_connection` / `open_unix_connection`: connect and wrap the socket in a
//! `(StreamReader, StreamWriter)` pair, as asyncio's functions of the same names.
//!
//! Name resolution uses the system resolver (`getaddrinfo`), which blocks, so it runs
//! on the loop's default executor (asyncio's `loop.getaddrinfo` does the same); a
//! literal IP address skips it. Each resolved address is tried in turn.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use aloop_reactor::UnixStream;

use super::happy_eyeballs::{self, ConnectOptions};
use super::raw_stream::RawStream;
use super::reader::{StreamReader, DEFAULT_LIMIT};
use super::writer::StreamWriter;
use crate::event_loop::LoopRef;

/// The running loop, as an `io::Error` when there is none (streams need its reactor).
pub(crate) fn running_loop() -> io::Result<LoopRef> {
    crate::get_running_loop().map_err(|e| {
        io::Error::other(format!(
            "{e}: aloop streams must be used inside a running aloop event loop"
        ))
    })
}

/// Resolves `host:port` off the loop thread (or at once for a literal IP address); a
/// failed lookup carries a [`GaiError`](crate::GaiError), and no address at all is
/// `NotFound`.
pub(crate) async fn resolve(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let lp = running_loop()?;
    let addrs = crate::lookup::resolve_tcp(&lp, host, port).await?;
    if addrs.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("host {host:?} resolved to no address"),
        ));
    }
    Ok(addrs)
}

/// Wraps a connected socket in a reader/writer pair bound to the running loop.
pub(crate) fn wrap(
    transport: RawStream,
    lp: &LoopRef,
    limit: usize,
) -> (StreamReader, StreamWriter) {
    let transport = Rc::new(transport);
    let reader = StreamReader::from_transport(transport.clone(), limit);
    let writer = StreamWriter::new(transport, Rc::downgrade(&lp.state));
    (reader, writer)
}

/// Connects to `host:port` over TCP (asyncio's `asyncio.open_connection`).
///
/// `host` may be a name (resolved off the loop thread) or an IP address; every
/// resolved address is tried in turn and the last error is returned if none
/// accepts (`ConnectionRefused` for a closed port). `TCP_NODELAY` is set, as asyncio
/// does. The returned future is `'static`, so it can be given to
/// [`create_task`](crate::create_task).
///
/// ```
/// aloop::run(async {
///     let server = aloop::start_server(
///         |_r: aloop::StreamReader, w: aloop::StreamWriter| async move {
///             w.write(b"welcome\n").unwrap();
///         },
///         "127.0.0.1",
///         0,
///     )
///     .await
///     .unwrap();
///     let port = server.sockets()[0].port();
///     let (reader, _writer) = aloop::open_connection("127.0.0.1", port).await.unwrap();
///     assert_eq!(reader.readline().await.unwrap(), b"welcome\n");
///     server.close();
/// });
/// ```
pub fn open_connection(
    host: &str,
    port: u16,
) -> impl Future<Output = io::Result<(StreamReader, StreamWriter)>> + 'static {
    open_connection_with(host, port, ConnectOptions::default())
}

/// [`open_connection`] with [`ConnectOptions`]: Happy Eyeballs for names with
/// several addresses (asyncio's `happy_eyeballs_delay` and `interleave`), and TLS
/// (`ssl`, feature `tls`: see [`tls`](crate::tls)), whose handshake is done when this
/// returns.
///
/// ```
/// use std::time::Duration;
/// aloop::run(async {
///     let server = aloop::start_server(
///         |_r: aloop::StreamReader, w: aloop::StreamWriter| async move {
///             w.write(b"hi\n").unwrap();
///         },
///         "127.0.0.1",
///         0,
///     )
///     .await
///     .unwrap();
///     let options = aloop::ConnectOptions {
///         happy_eyeballs_delay: Some(Duration::from_millis(250)),
///         ..Default::default()
///     };
///     let port = server.sockets()[0].port();
///     let (r, _w) = aloop::open_connection_with("localhost", port, options).await.unwrap();
///     assert_eq!(r.readline().await.unwrap(), b"hi\n");
///     server.close();
/// });
/// ```
pub fn open_connection_with(
    host: &str,
    port: u16,
    options: ConnectOptions,
) -> impl Future<Output = io::Result<(StreamReader, StreamWriter)>> + 'static {
    let host = host.to_owned();
    async move {
        let lp = running_loop()?;
        // Errors are kept as the OS said them (`raw_os_error()`), to tell EMFILE from
        // ECONNREFUSED without reading the message.
        let (stream, addr) = happy_eyeballs::connect(resolve(&host, port).await?, &options).await?;
        // Interactive protocols (asyncio's default): no Nagle delay.
        let _ = stream.set_nodelay(true);
        let raw = RawStream::tcp(stream, addr);
        #[cfg(feature = "tls")]
        if let Some(tls) = options.ssl {
            crate::tls::handshake::handshake(&raw, &tls.into(), Some(&host)).await?;
        }
        Ok(wrap(raw, &lp, DEFAULT_LIMIT))
    }
}

/// Wraps a TCP socket connected elsewhere (accepted by other code, handed over from
/// another thread or loop) in a reader/writer pair on the running loop (asyncio's
/// `open_connection(sock=sock)`). The socket is made non-blocking; `TCP_NODELAY` is
/// set.
///
/// ```
/// aloop::run(async {
///     let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
///     let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
///     let (accepted, _) = listener.accept().unwrap();
///     let (_r, w) = aloop::open_connection_from(accepted).unwrap();
///     w.write(b"hi").unwrap();
///     let (r, _w) = aloop::open_connection_from(client).unwrap();
///     assert_eq!(r.readexactly(2).await.unwrap(), b"hi");
/// });
/// ```
pub fn open_connection_from(
    socket: std::net::TcpStream,
) -> io::Result<(StreamReader, StreamWriter)> {
    let lp = running_loop()?;
    let _ = socket.set_nodelay(true);
    Ok(wrap(adopt_tcp(&lp, socket)?, &lp, DEFAULT_LIMIT))
}

/// A TCP socket connected elsewhere, registered with `lp`'s reactor (made
/// non-blocking), with its peer address kept; `open_connection_from` and
/// `connect_accepted_socket` stand on it.
pub(crate) fn adopt_tcp(lp: &LoopRef, socket: std::net::TcpStream) -> io::Result<RawStream> {
    let peer = socket.peer_addr()?;
    let _entered = lp.state.reactor().enter();
    Ok(RawStream::tcp(
        aloop_reactor::TcpStream::from_std(socket)?,
        peer,
    ))
}

/// Connects to the Unix-domain socket at `path` (asyncio's `open_unix_connection`).
pub fn open_unix_connection(
    path: impl AsRef<Path>,
) -> impl Future<Output = io::Result<(StreamReader, StreamWriter)>> + 'static {
    let path: PathBuf = path.as_ref().to_owned();
    async move {
        let lp = running_loop()?;
        let stream = UnixStream::connect(&path).await?;
        Ok(wrap(RawStream::unix(stream), &lp, DEFAULT_LIMIT))
    }
}
