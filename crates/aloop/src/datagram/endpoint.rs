//! `create_datagram_endpoint` / `create_unix_datagram_endpoint` (asyncio's
//! `loop.create_datagram_endpoint`, for `AF_INET`/`AF_INET6` and `AF_UNIX`), as
//! `LoopRef` methods and as free functions on the running loop, and their
//! [`DatagramOptions`].
//!
//! Each makes the socket (`open.rs`), the shared state (`transport.rs`) and the
//! protocol, calls `connection_made`, then spawns the endpoint's task (`pump.rs`)
//! with `spawn_on`, as the streams' accept loops and flushers are. It is a listed
//! task (it shows in `all_tasks`, unlike asyncio's reader callback) because the loop
//! cancels listed tasks when it closes, and `aloop::run` when it ends, which ends the
//! endpoint cleanly (`connection_lost`, socket closed); `spawn_unlisted` tasks are
//! ended only by a table of the loop's own (signal watches), which datagram endpoints
//! do not have, and exist only with the `process` feature.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::addr::DatagramAddr;
use super::open::{open_udp, open_unix, Aim};
use super::protocol::DatagramProtocol;
use super::pump::{pump, Endpoint};
use super::socket::{Dest, Sock};
use super::transport::{DatagramTransport, Inner, Remote};
use crate::error::LoopClosed;
use crate::event_loop::LoopRef;
use crate::task::spawn_on;

/// Socket options of [`create_datagram_endpoint`] (asyncio's keyword arguments).
///
/// ```
/// let options = aloop::DatagramOptions { reuse_port: true, ..Default::default() };
/// assert!(!options.allow_broadcast);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DatagramOptions {
    /// Set `SO_REUSEPORT` before binding, so several endpoints (one per loop or
    /// process) can bind one port; every one of them must set it. Default `false`.
    pub reuse_port: bool,
    /// Set `SO_BROADCAST`, allowing sends to broadcast addresses. As in asyncio, an
    /// endpoint with this and a `remote_addr` is not connected: its datagrams go to
    /// `remote_addr` with `sendto`, and it receives from anyone. Default `false`.
    pub allow_broadcast: bool,
}

/// The running loop, as an `io::Error` when there is none.
fn running_loop() -> io::Result<LoopRef> {
    crate::get_running_loop().map_err(|e| {
        io::Error::other(format!(
            "{e}: aloop datagram endpoints must be made inside a running aloop event loop"
        ))
    })
}

type Made<P> = io::Result<(DatagramTransport, Rc<RefCell<P>>)>;

/// Builds the endpoint around a ready socket and starts its task.
fn start<P, F>(lp: &LoopRef, sock: Sock, aim: Aim<DatagramAddr>, factory: F) -> Made<P>
where
    F: FnOnce() -> P,
    P: DatagramProtocol + 'static,
{
    let sock = Rc::new(sock);
    let remote = match aim {
        None => None,
        Some((addr, true)) => Some(Remote {
            addr,
            dest: Dest::Peer,
        }),
        Some((addr, false)) => {
            let dest = sock
                .dest_for(&addr)
                .ok_or_else(|| io::Error::from(io::ErrorKind::InvalidInput))?;
            Some(Remote { addr, dest })
        }
    };
    let inner = Rc::new(Inner::new(sock.clone(), remote));
    let transport = DatagramTransport {
        inner: inner.clone(),
    };
    let protocol = Rc::new(RefCell::new(factory()));
    let endpoint = Endpoint::new(inner, sock, protocol.clone(), Rc::downgrade(&lp.state));
    // As asyncio, `connection_made` runs before any datagram is delivered and before
    // the endpoint is returned.
    endpoint.call("connection_made", |p| p.connection_made(transport.clone()));
    let name = match transport.sockname() {
        Some(addr) => format!("datagram endpoint {addr}"),
        None => "datagram endpoint".to_owned(),
    };
    spawn_on(&lp.state, pump(endpoint)).set_name(name);
    Ok((transport, protocol))
}

async fn udp_endpoint<P, F>(
    lp: LoopRef,
    factory: F,
    local: Option<(String, u16)>,
    remote: Option<(String, u16)>,
    options: DatagramOptions,
) -> Made<P>
where
    F: FnOnce() -> P,
    P: DatagramProtocol + 'static,
{
    if lp.is_closed() {
        return Err(io::Error::other(LoopClosed));
    }
    let (sock, aim) = open_udp(
        &lp,
        local,
        remote,
        options.reuse_port,
        options.allow_broadcast,
    )
    .await?;
    let aim = aim.map(|(addr, connected)| (DatagramAddr::Inet(addr), connected));
    start(&lp, sock, aim, factory)
}

fn unix_endpoint<P, F>(
    lp: LoopRef,
    factory: F,
    local: Option<PathBuf>,
    remote: Option<PathBuf>,
) -> Made<P>
where
    F: FnOnce() -> P,
    P: DatagramProtocol + 'static,
{
    if lp.is_closed() {
        return Err(io::Error::other(LoopClosed));
    }
    let sock = open_unix(&lp, local.as_deref(), remote.as_deref())?;
    let aim = remote.map(|path| (DatagramAddr::Unix(Some(path)), true));
    start(&lp, sock, aim, factory)
}

fn owned(addr: Option<(&str, u16)>) -> Option<(String, u16)> {
    addr.map(|(host, port)| (host.to_owned(), port))
}

impl LoopRef {
    /// Makes a UDP endpoint (asyncio's `loop.create_datagram_endpoint`): a socket
    /// bound to `local_addr` and/or connected to `remote_addr` (each a `(host, port)`,
    /// names resolved off the loop thread), a protocol from `protocol_factory`, and a
    /// task that delivers datagrams to it. Returns the transport and the protocol.
    ///
    /// At least one address is needed (`("0.0.0.0", 0)` for "any"). With
    /// `remote_addr`, `sendto` takes `None` (or that address) and only datagrams from
    /// it are received. Socket errors come back as they are (`raw_os_error()` kept),
    /// the first one if every resolved address failed. The future is `'static`.
    ///
    /// ```
    /// use aloop::{DatagramAddr, DatagramProtocol, DatagramTransport};
    ///
    /// #[derive(Default)]
    /// struct Got(Vec<Vec<u8>>);
    /// impl DatagramProtocol for Got {
    ///     fn datagram_received(&mut self, data: &[u8], _addr: DatagramAddr) {
    ///         self.0.push(data.to_vec());
    ///     }
    /// }
    ///
    /// let lp = aloop::new_event_loop();
    /// lp.run_until_complete(async {
    ///     let lp = aloop::get_running_loop().unwrap();
    ///     let (server, got) = lp
    ///         .create_datagram_endpoint(Got::default, Some(("127.0.0.1", 0)), None, Default::default())
    ///         .await
    ///         .unwrap();
    ///     let port = server.sockname().unwrap().as_inet().unwrap().port();
    ///     let (client, _) = lp
    ///         .create_datagram_endpoint(|| (), None, Some(("localhost", port)), Default::default())
    ///         .await
    ///         .unwrap();
    ///     client.sendto(b"one", None).unwrap();
    ///     while got.borrow().0.is_empty() {
    ///         aloop::sleep(std::time::Duration::from_millis(1)).await;
    ///     }
    ///     assert_eq!(got.borrow().0, [b"one".to_vec()]);
    ///     client.close();
    ///     server.close();
    /// })
    /// .unwrap();
    /// ```
    pub fn create_datagram_endpoint<P, F>(
        &self,
        protocol_factory: F,
        local_addr: Option<(&str, u16)>,
        remote_addr: Option<(&str, u16)>,
        options: DatagramOptions,
    ) -> impl Future<Output = io::Result<(DatagramTransport, Rc<RefCell<P>>)>> + 'static
    where
        F: FnOnce() -> P + 'static,
        P: DatagramProtocol + 'static,
    {
        let (lp, local, remote) = (self.clone(), owned(local_addr), owned(remote_addr));
        udp_endpoint(lp, protocol_factory, local, remote, options)
    }

    /// Makes a Unix datagram endpoint (asyncio's `create_datagram_endpoint` with
    /// `family=AF_UNIX`): bound to `local_path` (a stale socket file there is removed
    /// first) and/or connected to `remote_path`; with neither, an unnamed socket.
    /// A peer that bound no path cannot be answered (its address is
    /// `DatagramAddr::Unix(None)`).
    ///
    /// ```
    /// use aloop::{DatagramAddr, DatagramProtocol};
    ///
    /// let dir = std::env::temp_dir().join(format!("aloop-dgram-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let path = dir.join("server.sock");
    /// struct Got(Option<(Vec<u8>, DatagramAddr)>);
    /// impl DatagramProtocol for Got {
    ///     fn datagram_received(&mut self, data: &[u8], addr: DatagramAddr) {
    ///         self.0 = Some((data.to_vec(), addr));
    ///     }
    /// }
    /// let lp = aloop::new_event_loop();
    /// lp.run_until_complete(async move {
    ///     let lp = aloop::get_running_loop().unwrap();
    ///     let (server, got) = lp
    ///         .create_unix_datagram_endpoint(|| Got(None), Some(path.as_path()), None)
    ///         .await
    ///         .unwrap();
    ///     let (client, _) = lp
    ///         .create_unix_datagram_endpoint(|| (), None, Some(path.as_path()))
    ///         .await
    ///         .unwrap();
    ///     client.sendto(b"hi", None).unwrap();
    ///     while got.borrow().0.is_none() {
    ///         aloop::sleep(std::time::Duration::from_millis(1)).await;
    ///     }
    ///     // The client bound no path: it cannot be answered.
    ///     assert_eq!(got.borrow().0, Some((b"hi".to_vec(), DatagramAddr::Unix(None))));
    ///     client.close();
    ///     server.close();
    /// })
    /// .unwrap();
    /// std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn create_unix_datagram_endpoint<P, F>(
        &self,
        protocol_factory: F,
        local_path: Option<&Path>,
        remote_path: Option<&Path>,
    ) -> impl Future<Output = io::Result<(DatagramTransport, Rc<RefCell<P>>)>> + 'static
    where
        F: FnOnce() -> P + 'static,
        P: DatagramProtocol + 'static,
    {
        let lp = self.clone();
        let (local, remote) = (
            local_path.map(Path::to_owned),
            remote_path.map(Path::to_owned),
        );
        async move { unix_endpoint(lp, protocol_factory, local, remote) }
    }
}

/// [`LoopRef::create_datagram_endpoint`] on the running loop (found when the future
/// is first polled; an error outside a running loop).
///
/// ```
/// aloop::run(async {
///     let (t, _) = aloop::create_datagram_endpoint(
///         || (), Some(("127.0.0.1", 0)), None, aloop::DatagramOptions::default())
///         .await
///         .unwrap();
///     assert!(t.sockname().unwrap().as_inet().unwrap().port() != 0);
///     t.close();
/// });
/// ```
pub fn create_datagram_endpoint<P, F>(
    protocol_factory: F,
    local_addr: Option<(&str, u16)>,
    remote_addr: Option<(&str, u16)>,
    options: DatagramOptions,
) -> impl Future<Output = io::Result<(DatagramTransport, Rc<RefCell<P>>)>> + 'static
where
    F: FnOnce() -> P + 'static,
    P: DatagramProtocol + 'static,
{
    let (local, remote) = (owned(local_addr), owned(remote_addr));
    async move {
        let lp = running_loop()?;
        udp_endpoint(lp, protocol_factory, local, remote, options).await
    }
}

/// [`LoopRef::create_unix_datagram_endpoint`] on the running loop.
pub fn create_unix_datagram_endpoint<P, F>(
    protocol_factory: F,
    local_path: Option<&Path>,
    remote_path: Option<&Path>,
) -> impl Future<Output = io::Result<(DatagramTransport, Rc<RefCell<P>>)>> + 'static
where
    F: FnOnce() -> P + 'static,
    P: DatagramProtocol + 'static,
{
    let (local, remote) = (
        local_path.map(Path::to_owned),
        remote_path.map(Path::to_owned),
    );
    async move { unix_endpoint(running_loop()?, protocol_factory, local, remote) }
}
