//! `Server` (asyncio's `base_events.Server`): the listening sockets, one accept task
//! each, and the accepted connections, each handed to an `Acceptor`: the user's
//! callback in a task (`start_server.rs`) or a protocol (`protocols/`).
//!
//! Each listening socket has an accept task. The accept loop never gives up: running
//! out of file descriptors (`EMFILE`/`ENFILE`) or memory is reported once per episode
//! through the loop's exception handler (an episode ends after `EPISODE_GAP` with no
//! such error, however many accepts succeed in between, as they do while descriptors
//! come and go), then accept is retried every 100 ms (the pending
//! connection waits in the kernel's backlog meanwhile) — asyncio does the same with a
//! 1 s delay, reporting every time. Errors that concern one connection only
//! (`ECONNABORTED`, a reset before accept) are skipped at once.
//!
//! `wait_closed` has Python 3.12 semantics (CPython gh-79033): it returns once `close()`
//! was called *and* every connection task has finished. 3.11's returned right after
//! `close()` with connections still open (H16), which makes "shut down cleanly"
//! impossible to express.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use aloop_reactor::{TcpListener, UnixListener, DEFAULT_BACKLOG};

use super::connection::{resolve, running_loop};
use super::raw_stream::RawStream;
use super::reader::DEFAULT_LIMIT;
use super::send_queue;
use super::writer::StreamWriter;
use crate::event_loop::LoopRef;
use crate::exception::ExceptionContext;
use crate::task::Task;

/// A resource error this long after the last one starts a new episode (reported).
const EPISODE_GAP: Duration = Duration::from_secs(10);

/// How long the accept loop waits before retrying after a resource error.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(100);

/// Options of [`start_server_with`](crate::start_server_with) /
/// [`start_unix_server_with`](crate::start_unix_server_with) and
/// [`LoopRef::create_server`](crate::LoopRef::create_server).
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Set `SO_REUSEPORT` (TCP), so several loops — one per thread — can listen on one
    /// port and the kernel spreads connections among them. Default `false`.
    pub reuse_port: bool,
    /// The listen backlog. Default [`DEFAULT_BACKLOG`] (1024; asyncio uses 100, which
    /// drops SYNs under a burst of connects on loopback).
    pub backlog: i32,
    /// The [`StreamReader`](crate::StreamReader) limit for accepted connections. Default
    /// 64 KiB; 0 makes `start_server_with` fail with `InvalidInput`.
    pub limit: usize,
    /// Accept connections as soon as the server is made (asyncio's
    /// `start_serving=True`, the default). With `false`, the sockets listen (the
    /// kernel queues connections in the backlog) but nothing is accepted until
    /// [`Server::start_serving`] or [`Server::serve_forever`].
    pub start_serving: bool,
    /// TLS for every accepted connection (asyncio's `ssl=`, with
    /// `ssl_handshake_timeout` and `ssl_shutdown_timeout` inside the config): the
    /// handshake runs in the connection's task before the callback (or the
    /// protocol's `connection_made`) is called; a client that fails it, or does not
    /// finish it within the handshake timeout, is disconnected (reported to the
    /// exception handler in debug mode only, as asyncio does). `None`: plain TCP.
    #[cfg(feature = "tls")]
    pub ssl: Option<crate::tls::ServerConfig>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            reuse_port: false,
            backlog: DEFAULT_BACKLOG,
            limit: DEFAULT_LIMIT,
            start_serving: true,
            #[cfg(feature = "tls")]
            ssl: None,
        }
    }
}

/// A Unix server's socket path and the (device, inode) it had when bound, so `close`
/// removes only the file this server created.
pub(crate) type SocketFile = (PathBuf, (u64, u64));

pub(crate) enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Listener {
    fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<RawStream>> {
        match self {
            Listener::Tcp(l) => l.poll_accept(cx).map_ok(|(s, peer)| {
                let _ = s.set_nodelay(true);
                RawStream::tcp(s, peer)
            }),
            Listener::Unix(l) => l.poll_accept(cx).map_ok(|(s, _)| RawStream::unix(s)),
        }
    }
}

struct Inner {
    /// `None` once closed: dropping the listener closes its socket at once.
    listeners: RefCell<Vec<Option<Listener>>>,
    addrs: Vec<SocketAddr>,
    /// The Unix socket path and the (device, inode) it had when bound, so `close`
    /// removes only the file this server created.
    unix_path: Option<SocketFile>,
    accept_tasks: RefCell<Vec<Task<()>>>,
    /// Kept until the accept tasks start (`start_serving: false`), then taken.
    acceptor: RefCell<Option<Acceptor>>,
    closed: Cell<bool>,
    active: Cell<usize>,
    /// The accepted connections' writers, for `close_clients` / `abort_clients`;
    /// weak, so a finished connection is freed at once (dead entries are pruned as
    /// new ones arrive).
    clients: RefCell<Vec<std::rc::Weak<send_queue::Inner>>>,
    serving_forever: Cell<bool>,
    waiters: RefCell<Vec<Waker>>,
}

impl Inner {
    fn wake(&self) {
        let waiters = std::mem::take(&mut *self.waiters.borrow_mut());
        waiters.into_iter().for_each(Waker::wake);
    }

    /// Ready once closed and every connection task has finished.
    fn poll_closed(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.closed.get() && self.active.get() == 0 {
            return Poll::Ready(());
        }
        let mut waiters = self.waiters.borrow_mut();
        if !waiters.iter().any(|w| w.will_wake(cx.waker())) {
            waiters.push(cx.waker().clone());
        }
        Poll::Pending
    }

    fn close(&self) {
        if self.closed.replace(true) {
            return;
        }
        let listeners = std::mem::take(&mut *self.listeners.borrow_mut());
        drop(listeners);
        if let Some((path, id)) = &self.unix_path {
            if file_id(path) == Some(*id) {
                let _ = std::fs::remove_file(path);
            }
        }
        let tasks = std::mem::take(&mut *self.accept_tasks.borrow_mut());
        for t in &tasks {
            t.cancel();
        }
        drop(self.acceptor.borrow_mut().take());
        self.wake();
    }
}

fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

/// Counts a connection task; its drop (the task finished, was cancelled or panicked)
/// is what `wait_closed` waits for.
struct ConnGuard(Rc<Inner>);

impl Drop for ConnGuard {
    fn drop(&mut self) {
        let left = self.0.active.get().saturating_sub(1);
        self.0.active.set(left);
        if left == 0 && self.0.closed.get() {
            self.0.wake();
        }
    }
}

/// What a server does with each accepted connection: `start_server` runs the user's
/// callback in a task (`start_server.rs`); `create_server` makes a protocol
/// (`protocols/`).
pub(crate) type Acceptor = Rc<dyn Fn(RawStream, &LoopRef, ClientSlot)>;

/// An accepted connection's place in its server: counted until dropped (what
/// `wait_closed` waits for), and reached by `close_clients` / `abort_clients` once
/// tracked.
pub(crate) struct ClientSlot(ConnGuard);

impl ClientSlot {
    pub(crate) fn track(&self, writer: &StreamWriter) {
        self.0 .0.add_client(writer);
    }
}

async fn accept_loop(inner: Rc<Inner>, index: usize, acceptor: Acceptor) {
    // When the last resource error was seen: a report is due only once per episode.
    let mut last_error: Option<std::time::Instant> = None;
    loop {
        let accepted = poll_fn(|cx| match inner.listeners.borrow().get(index) {
            Some(Some(listener)) => listener.poll_accept(cx).map(Some),
            _ => Poll::Ready(None),
        })
        .await;
        let Ok(lp) = running_loop() else { return };
        match accepted {
            None => return,
            Some(Ok(transport)) => {
                inner.active.set(inner.active.get() + 1);
                acceptor(transport, &lp, ClientSlot(ConnGuard(inner.clone())));
            }
            Some(Err(e)) if per_connection(&e) => crate::sleep(Duration::ZERO).await,
            Some(Err(e)) => {
                let now = std::time::Instant::now();
                let new_episode = !last_error.is_some_and(|t| now - t <= EPISODE_GAP);
                last_error = Some(now);
                if new_episode {
                    let what = if out_of_resources(&e) {
                        "socket.accept() out of system resource"
                    } else {
                        "socket.accept() failed"
                    };
                    lp.call_exception_handler(&ExceptionContext::new(format!(
                        "{what}: {e}; retrying every {} ms",
                        ACCEPT_RETRY_DELAY.as_millis()
                    )));
                }
                crate::sleep(ACCEPT_RETRY_DELAY).await;
            }
        }
    }
}

impl Inner {
    fn add_client(&self, writer: &StreamWriter) {
        let mut clients = self.clients.borrow_mut();
        if clients.len() >= 16 && clients.len() > 2 * self.active.get() {
            clients.retain(|c| c.strong_count() > 0);
        }
        clients.push(writer.downgrade());
    }

    fn live_clients(&self) -> Vec<StreamWriter> {
        let mut clients = self.clients.borrow_mut();
        clients.retain(|c| c.strong_count() > 0);
        clients
            .iter()
            .filter_map(std::rc::Weak::upgrade)
            .map(StreamWriter::from_inner)
            .collect()
    }
}

/// Errors about one queued connection only: skip it and accept the next.
fn per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
}

/// `EMFILE`, `ENFILE`, `ENOBUFS`, `ENOMEM` (Linux numbering; elsewhere only the
/// wording of the report changes, the back-off is the same).
fn out_of_resources(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(24 | 23 | 105 | 12)) || e.kind() == io::ErrorKind::OutOfMemory
}

/// Starts accepting on `listeners`, handing each connection to `acceptor`.
pub(crate) fn start_accepting(
    listeners: Vec<Listener>,
    addrs: Vec<SocketAddr>,
    unix_path: Option<SocketFile>,
    acceptor: Acceptor,
    start_serving: bool,
) -> io::Result<Server> {
    running_loop()?;
    let inner = Rc::new(Inner {
        listeners: RefCell::new(listeners.into_iter().map(Some).collect()),
        addrs,
        unix_path,
        accept_tasks: RefCell::new(Vec::new()),
        acceptor: RefCell::new(Some(acceptor)),
        closed: Cell::new(false),
        active: Cell::new(0),
        clients: RefCell::new(Vec::new()),
        serving_forever: Cell::new(false),
        waiters: RefCell::new(Vec::new()),
    });
    let server = Server { inner };
    if start_serving {
        server.start_serving()?;
    }
    Ok(server)
}

/// Binds TCP listeners on every address `host` resolves to; returns them and the
/// addresses they got (port 0 picks a free one).
pub(crate) async fn bind_tcp(
    host: &str,
    port: u16,
    options: &ServerOptions,
) -> io::Result<(Vec<Listener>, Vec<SocketAddr>)> {
    if host.is_empty() {
        return bind_every_interface(port, options);
    }
    let mut addrs = resolve(host, port).await?;
    addrs.dedup();
    let mut listeners = Vec::new();
    let mut bound = Vec::new();
    for addr in addrs {
        // The OS error as it was (`raw_os_error()`: EADDRINUSE, EACCES, ...).
        let l = TcpListener::bind_with(addr, options.reuse_port, options.backlog)?;
        bound.push(l.local_addr()?);
        listeners.push(Listener::Tcp(l));
    }
    Ok((listeners, bound))
}

/// asyncio's `host=''` / `None`: a listener on `0.0.0.0` and one on `[::]` (IPv6-only,
/// so both fit on one port). With port 0, the IPv6 one takes the port the IPv4 one got
/// (asyncio gives each its own; one port is what a user prints and connects to), or
/// its own if that port is taken for IPv6. A machine without IPv6 gets the IPv4
/// listener alone.
fn bind_every_interface(
    port: u16,
    options: &ServerOptions,
) -> io::Result<(Vec<Listener>, Vec<SocketAddr>)> {
    use std::net::{Ipv4Addr, Ipv6Addr};
    let bind = |addr: SocketAddr| TcpListener::bind_with(addr, options.reuse_port, options.backlog);
    let v4 = bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)))?;
    let v4_addr = v4.local_addr()?;
    let mut listeners = vec![Listener::Tcp(v4)];
    let mut bound = vec![v4_addr];
    let v6_at = |p: u16| SocketAddr::from((Ipv6Addr::UNSPECIFIED, p));
    let v6 = match bind(v6_at(v4_addr.port())) {
        Err(e) if port == 0 && e.kind() == io::ErrorKind::AddrInUse => bind(v6_at(0)),
        other => other,
    };
    match v6 {
        Ok(l) => {
            bound.push(l.local_addr()?);
            listeners.push(Listener::Tcp(l));
        }
        // No IPv6 here: IPv4 alone, as asyncio's getaddrinfo would give.
        Err(e) if no_ipv6(&e) => {}
        Err(e) => return Err(e),
    }
    Ok((listeners, bound))
}

/// Whether binding `[::]` failed because the machine has no IPv6.
fn no_ipv6(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EAFNOSUPPORT) | Some(libc::EADDRNOTAVAIL) | Some(libc::EPROTONOSUPPORT)
    )
}

/// Binds a Unix listener at `path`, removing a stale socket file first, as asyncio
/// does; returns it with the file's identity, so `close` removes only this file.
pub(crate) fn bind_unix(path: &Path) -> io::Result<(Listener, SocketFile)> {
    use std::os::unix::fs::FileTypeExt;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.file_type().is_socket() {
            let _ = std::fs::remove_file(path);
        }
    }
    let listener = UnixListener::bind(path)?;
    let id = file_id(path).unwrap_or_default();
    Ok((Listener::Unix(listener), (path.to_owned(), id)))
}

/// A listening server (asyncio's `Server`), from [`start_server`](crate::start_server) or
/// [`start_unix_server`](crate::start_unix_server). Cloning gives another handle to the same server. Dropping the
/// handles does not stop it (as in asyncio); [`close`](Server::close) does.
#[derive(Clone)]
pub struct Server {
    inner: Rc<Inner>,
}

impl Server {
    /// Stops listening: the listening sockets are closed now. Connections already
    /// accepted stay open and their tasks run on (H16). Idempotent.
    pub fn close(&self) {
        self.inner.close();
    }

    /// Waits until [`close`](Server::close) was called **and** every connection task
    /// has finished (Python 3.12 semantics; 3.11 did not wait for connections).
    pub fn wait_closed(&self) -> impl Future<Output = ()> + 'static {
        let inner = self.inner.clone();
        poll_fn(move |cx| inner.poll_closed(cx))
    }

    /// Serves until [`close`](Server::close) is called (by another task or handle),
    /// then waits as [`wait_closed`](Server::wait_closed) does. Dropping the future
    /// (e.g. cancelling its task) closes the server, as asyncio's cancellation does.
    ///
    /// Errors: the server is closed already, or another `serve_forever` is running.
    pub fn serve_forever(&self) -> impl Future<Output = io::Result<()>> + 'static {
        struct CloseOnDrop(Rc<Inner>);
        impl Drop for CloseOnDrop {
            fn drop(&mut self) {
                self.0.serving_forever.set(false);
                self.0.close();
            }
        }
        let inner = self.inner.clone();
        async move {
            if inner.serving_forever.get() {
                return Err(io::Error::other(
                    "server is already being awaited on serve_forever()",
                ));
            }
            if inner.closed.get() {
                return Err(io::Error::other("server is closed"));
            }
            Server {
                inner: inner.clone(),
            }
            .start_serving()?;
            inner.serving_forever.set(true);
            let guard = CloseOnDrop(inner);
            poll_fn(|cx| guard.0.poll_closed(cx)).await;
            Ok(())
        }
    }

    /// Starts accepting connections, for a server made with `start_serving: false`
    /// (asyncio's `Server.start_serving`); does nothing if it already accepts. An
    /// error on a closed server or outside its running loop.
    pub fn start_serving(&self) -> io::Result<()> {
        let inner = &self.inner;
        if inner.closed.get() {
            return Err(io::Error::other("server is closed"));
        }
        let Some(acceptor) = inner.acceptor.borrow_mut().take() else {
            return Ok(());
        };
        let lp = running_loop()?;
        let count = inner.listeners.borrow().len();
        for index in 0..count {
            let task = lp.create_task(accept_loop(inner.clone(), index, acceptor.clone()));
            task.set_name("aloop-server-accept");
            inner.accept_tasks.borrow_mut().push(task);
        }
        Ok(())
    }

    /// Whether the server accepts connections (started and not closed).
    pub fn is_serving(&self) -> bool {
        !self.inner.closed.get() && self.inner.acceptor.borrow().is_none()
    }

    /// The addresses listened on (TCP); empty once closed and for Unix servers (see
    /// [`unix_path`](Server::unix_path)).
    pub fn sockets(&self) -> Vec<SocketAddr> {
        if self.inner.closed.get() {
            Vec::new()
        } else {
            self.inner.addrs.clone()
        }
    }

    /// The socket path of a Unix server.
    pub fn unix_path(&self) -> Option<&Path> {
        self.inner.unix_path.as_ref().map(|(p, _)| p.as_path())
    }

    /// Closes every accepted connection that is still open, once its queued bytes are
    /// sent (Python 3.13's `Server.close_clients`); the listener is left as it is.
    pub fn close_clients(&self) {
        for writer in self.inner.live_clients() {
            writer.close();
        }
    }

    /// Aborts every accepted connection that is still open: queued bytes are dropped
    /// and the peers see a reset (Python 3.13's `Server.abort_clients`). This frees
    /// connections whose peers stopped reading, which `close_clients` cannot.
    pub fn abort_clients(&self) {
        for writer in self.inner.live_clients() {
            writer.abort();
        }
    }

    /// Connection tasks still running.
    pub fn active_connections(&self) -> usize {
        self.inner.active.get()
    }
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("sockets", &self.inner.addrs)
            .field("unix_path", &self.unix_path())
            .field("serving", &self.is_serving())
            .field("active_connections", &self.active_connections())
            .finish()
    }
}
