//! Making protocol connections (asyncio's `loop.create_connection`,
//! `create_unix_connection`, `connect_accepted_socket`) and protocol servers
//! (`loop.create_server`, `create_unix_server`): the socket work is the streams'
//! (`streams/connection.rs`, `streams/server.rs`); here a connected socket gets its
//! protocol, its `Transport` and its read task.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::io;
use std::path::Path;
use std::rc::Rc;

use aloop_reactor::UnixStream;

use crate::streams::happy_eyeballs::{self, ConnectOptions};

use super::receiving::{poll_read_loop, AnyProtocol, Driver};
use super::transport::{Conn, Transport};
use crate::event_loop::LoopRef;
use crate::streams::raw_stream::RawStream;
use crate::streams::server::{bind_tcp, bind_unix, start_accepting, Acceptor, ClientSlot};
use crate::streams::{running_loop, Server, ServerOptions};
use crate::task::spawn_on;

/// A connected socket's protocol: made, told `connection_made`, and read from.
fn attach<P: AnyProtocol>(
    raw: RawStream,
    lp: &LoopRef,
    protocol: P,
    slot: Option<ClientSlot>,
) -> (Transport, Rc<RefCell<P>>) {
    let protocol = Rc::new(RefCell::new(protocol));
    let Driver(receiver) = P::driver(protocol.clone());
    let conn = Conn::new(Rc::new(raw), receiver, slot, Rc::downgrade(&lp.state));
    let transport = Transport { conn: conn.clone() };
    conn.call(|r| r.connection_made(transport.clone()));
    if !conn.is_lost() {
        let reading = conn.clone();
        let task = spawn_on(&lp.state, async move {
            poll_fn(|cx| poll_read_loop(&reading, cx)).await;
            // Reading is over (end-of-stream) but the connection may not be: it ends
            // when the close the read loop started has flushed. A protocol need not
            // keep its transport, and then this task is what keeps the connection
            // alive until then, so it waits; `Conn::lose` aborts it after
            // `connection_lost` (a loop that closes first ends the connection too).
            if !reading.is_lost() {
                std::future::pending::<()>().await;
            }
        });
        task.set_name("aloop-transport-reader");
        *conn.read_task.borrow_mut() = Some(task.into_raw());
    }
    (transport, protocol)
}

impl LoopRef {
    /// Connects to `host:port` over TCP and gives the connection to the protocol
    /// `factory` makes (asyncio's `loop.create_connection`); returns the transport and
    /// the protocol. Names are resolved off the loop thread and each address is tried
    /// in turn; errors are the OS's own (`raw_os_error()`), or a
    /// [`GaiError`](crate::GaiError) for a failed lookup. `TCP_NODELAY` is set.
    ///
    /// ```
    /// use std::io;
    /// use aloop::{Protocol, Transport};
    ///
    /// #[derive(Default)]
    /// struct Collect { got: Vec<u8>, lost: bool }
    ///
    /// impl Protocol for Collect {
    ///     fn connection_made(&mut self, t: Transport) { t.write(b"hello\n").unwrap(); }
    ///     fn data_received(&mut self, data: &[u8]) { self.got.extend_from_slice(data); }
    ///     fn connection_lost(&mut self, _e: Option<io::Error>) { self.lost = true; }
    /// }
    ///
    /// aloop::run(async {
    ///     let server = aloop::start_server(
    ///         |r: aloop::StreamReader, w: aloop::StreamWriter| async move {
    ///             let line = r.readline().await.unwrap();
    ///             w.write(&line).unwrap();
    ///             w.close();
    ///         },
    ///         "127.0.0.1",
    ///         0,
    ///     )
    ///     .await
    ///     .unwrap();
    ///     let lp = aloop::get_running_loop().unwrap();
    ///     let port = server.sockets()[0].port();
    ///     let (_t, p) = lp.create_connection(Collect::default, "127.0.0.1", port).await.unwrap();
    ///     while !p.borrow().lost {
    ///         aloop::sleep(std::time::Duration::from_millis(5)).await;
    ///     }
    ///     assert_eq!(p.borrow().got, b"hello\n");
    ///     server.close();
    /// });
    /// ```
    pub fn create_connection<P, F>(
        &self,
        factory: F,
        host: &str,
        port: u16,
    ) -> impl Future<Output = io::Result<(Transport, Rc<RefCell<P>>)>> + 'static
    where
        P: AnyProtocol,
        F: FnOnce() -> P + 'static,
    {
        self.create_connection_with(factory, host, port, ConnectOptions::default())
    }

    /// [`create_connection`](Self::create_connection) with [`ConnectOptions`]
    /// (Happy Eyeballs: asyncio's `happy_eyeballs_delay` and `interleave`; TLS with
    /// `ssl`, feature `tls`: the protocol's `connection_made` comes after the
    /// handshake).
    pub fn create_connection_with<P, F>(
        &self,
        factory: F,
        host: &str,
        port: u16,
        options: ConnectOptions,
    ) -> impl Future<Output = io::Result<(Transport, Rc<RefCell<P>>)>> + 'static
    where
        P: AnyProtocol,
        F: FnOnce() -> P + 'static,
    {
        let host = host.to_owned();
        let lp = self.clone();
        async move {
            let addrs = crate::lookup::resolve_tcp(&lp, &host, port).await?;
            let (stream, addr) = happy_eyeballs::connect(addrs, &options).await?;
            let _ = stream.set_nodelay(true);
            let raw = RawStream::tcp(stream, addr);
            #[cfg(feature = "tls")]
            if let Some(tls) = options.ssl {
                crate::tls::handshake::handshake(&raw, &tls.into(), Some(&host)).await?;
            }
            Ok(attach(raw, &lp, factory(), None))
        }
    }

    /// [`create_connection`](Self::create_connection) to a Unix-domain socket
    /// (asyncio's `loop.create_unix_connection`).
    pub fn create_unix_connection<P, F>(
        &self,
        factory: F,
        path: impl AsRef<Path>,
    ) -> impl Future<Output = io::Result<(Transport, Rc<RefCell<P>>)>> + 'static
    where
        P: AnyProtocol,
        F: FnOnce() -> P + 'static,
    {
        let path = path.as_ref().to_owned();
        let lp = self.clone();
        async move {
            let stream = UnixStream::connect(&path).await?;
            Ok(attach(RawStream::unix(stream), &lp, factory(), None))
        }
    }

    /// Gives a socket connected elsewhere (accepted by other code, or inherited) to a
    /// protocol (asyncio's `loop.connect_accepted_socket`). The socket is made
    /// non-blocking and registered with this loop.
    pub fn connect_accepted_socket<P, F>(
        &self,
        factory: F,
        socket: std::net::TcpStream,
    ) -> io::Result<(Transport, Rc<RefCell<P>>)>
    where
        P: AnyProtocol,
        F: FnOnce() -> P,
    {
        let raw = crate::streams::adopt_tcp(self, socket)?;
        Ok(attach(raw, self, factory(), None))
    }

    /// Listens on `host:port` and gives each accepted connection to a new protocol
    /// from `factory` (asyncio's `loop.create_server`). Every address `host` resolves
    /// to is listened on, and an empty `host` is every interface, as for
    /// [`start_server`](crate::start_server); [`ServerOptions`] sets `reuse_port`, the backlog and
    /// `start_serving`. The [`Server`] is the streams' own: `close`, `wait_closed`
    /// (until every connection is lost), `close_clients`, `abort_clients`.
    pub fn create_server<P, F>(
        &self,
        factory: F,
        host: &str,
        port: u16,
        options: ServerOptions,
    ) -> impl Future<Output = io::Result<Server>> + 'static
    where
        P: AnyProtocol,
        F: Fn() -> P + 'static,
    {
        let host = host.to_owned();
        async move {
            running_loop()?;
            let (listeners, bound) = bind_tcp(&host, port, &options).await?;
            start_accepting(
                listeners,
                bound,
                None,
                acceptor(factory, &options),
                options.start_serving,
            )
        }
    }

    /// [`create_server`](Self::create_server) on a Unix-domain socket at `path`
    /// (asyncio's `loop.create_unix_server`); a stale socket file is replaced.
    pub fn create_unix_server<P, F>(
        &self,
        factory: F,
        path: impl AsRef<Path>,
        options: ServerOptions,
    ) -> impl Future<Output = io::Result<Server>> + 'static
    where
        P: AnyProtocol,
        F: Fn() -> P + 'static,
    {
        let path = path.as_ref().to_owned();
        async move {
            running_loop()?;
            let (listener, file) = bind_unix(&path)?;
            start_accepting(
                vec![listener],
                Vec::new(),
                Some(file),
                acceptor(factory, &options),
                options.start_serving,
            )
        }
    }
}

/// A new protocol for each accepted connection, counted by the server until lost.
fn acceptor<P, F>(factory: F, options: &ServerOptions) -> Acceptor
where
    P: AnyProtocol,
    F: Fn() -> P + 'static,
{
    let plain: Acceptor = Rc::new(move |raw: RawStream, lp: &LoopRef, slot: ClientSlot| {
        attach(raw, lp, factory(), Some(slot));
    });
    #[cfg(feature = "tls")]
    if let Some(tls) = options.ssl.clone() {
        return crate::tls::accept::accepting(plain, tls);
    }
    let _ = options;
    plain
}
