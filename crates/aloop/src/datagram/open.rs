//! Making an endpoint's socket, as asyncio's `create_datagram_endpoint` does before it
//! builds the transport: resolve `local_addr`/`remote_addr` (off the loop thread, on
//! the default executor, as asyncio's `getaddrinfo`; a literal IP address skips it),
//! pair the addresses by family, and try each pair in turn: make the socket, set
//! `SO_REUSEPORT` / `SO_BROADCAST`, bind, connect (not with `allow_broadcast`, as
//! asyncio). The first error is returned if every pair fails, unchanged (its
//! `raw_os_error()` kept). Unix sockets: a stale socket file at the local path is
//! removed first, as asyncio does.
//!
//! Used by `endpoint.rs`; makes the `Sock` of `socket.rs`.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixDatagram;
use std::path::Path;

use aloop_reactor::Async;
use socket2::{Domain, Protocol, Socket, Type};

use super::socket::Sock;
use crate::event_loop::LoopRef;
use crate::lookup::AddrInfoHints;

/// Whether and where the new socket is aimed: `Some((addr, connected))` when a remote
/// address was given.
pub(super) type Aim<A> = Option<(A, bool)>;

/// Resolves `host:port` for UDP with the loop's `getaddrinfo` (off the loop thread,
/// `SOCK_DGRAM`, as asyncio's `_ensure_resolved`); a literal IP address is not looked
/// up. A failed lookup carries a [`GaiError`](crate::GaiError).
async fn resolve(lp: &LoopRef, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let hints = AddrInfoHints {
        socktype: Type::DGRAM.into(),
        protocol: Protocol::UDP.into(),
        ..AddrInfoHints::default()
    };
    let found: Vec<SocketAddr> = lp
        .getaddrinfo(host, Some(port), hints)
        .await?
        .into_iter()
        .map(|info| info.addr)
        .collect();
    if found.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("host {host:?} resolved to no address"),
        ));
    }
    Ok(found)
}

async fn resolve_opt(
    lp: &LoopRef,
    addr: &Option<(String, u16)>,
) -> io::Result<Vec<Option<SocketAddr>>> {
    match addr {
        None => Ok(vec![None]),
        Some((host, port)) => Ok(resolve(lp, host, *port)
            .await?
            .into_iter()
            .map(Some)
            .collect()),
    }
}

/// One `(local, remote)` pair per address family, in the order the families first
/// appear; each side that was given must have an address of the pair's family.
fn pairs(
    locals: &[Option<SocketAddr>],
    remotes: &[Option<SocketAddr>],
) -> Vec<(Option<SocketAddr>, Option<SocketAddr>)> {
    let mut out: Vec<(Option<SocketAddr>, Option<SocketAddr>)> = Vec::new();
    for l in locals {
        for r in remotes {
            let family = match (l, r) {
                (Some(l), Some(r)) if l.is_ipv4() != r.is_ipv4() => continue,
                (Some(a), _) | (None, Some(a)) => a.is_ipv4(),
                (None, None) => continue,
            };
            let seen = out
                .iter()
                .any(|(pl, pr)| pl.or(*pr).map(|a| a.is_ipv4()) == Some(family));
            if !seen {
                out.push((*l, *r));
            }
        }
    }
    out
}

fn udp_socket(
    local: Option<SocketAddr>,
    remote: Option<SocketAddr>,
    reuse_port: bool,
    allow_broadcast: bool,
) -> io::Result<UdpSocket> {
    let family = local.or(remote).map(Domain::for_address);
    let socket = Socket::new(
        family.unwrap_or(Domain::IPV4),
        Type::DGRAM,
        Some(Protocol::UDP),
    )?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    if allow_broadcast {
        socket.set_broadcast(true)?;
    }
    socket.set_nonblocking(true)?;
    if let Some(local) = local {
        socket.bind(&local.into())?;
    }
    if let (Some(remote), false) = (remote, allow_broadcast) {
        socket.connect(&remote.into())?;
    }
    Ok(socket.into())
}

/// Makes a UDP socket for the endpoint, registered with `lp`'s reactor.
pub(super) async fn open_udp(
    lp: &LoopRef,
    local: Option<(String, u16)>,
    remote: Option<(String, u16)>,
    reuse_port: bool,
    allow_broadcast: bool,
) -> io::Result<(Sock, Aim<SocketAddr>)> {
    if local.is_none() && remote.is_none() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a UDP endpoint needs local_addr or remote_addr (e.g. (\"0.0.0.0\", 0))",
        ));
    }
    let locals = resolve_opt(lp, &local).await?;
    let remotes = resolve_opt(lp, &remote).await?;
    let candidates = pairs(&locals, &remotes);
    if candidates.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "local_addr and remote_addr have no address family in common",
        ));
    }
    let mut first_error = None;
    for (l, r) in candidates {
        match udp_socket(l, r, reuse_port, allow_broadcast) {
            Ok(socket) => {
                let sock = Sock::Udp(Async::with_reactor(socket, lp.state.reactor())?);
                return Ok((sock, r.map(|r| (r, !allow_broadcast))));
            }
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| io::Error::from(io::ErrorKind::AddrNotAvailable)))
}

/// Makes a Unix datagram socket for the endpoint, registered with `lp`'s reactor.
pub(super) fn open_unix(
    lp: &LoopRef,
    local: Option<&Path>,
    remote: Option<&Path>,
) -> io::Result<Sock> {
    let socket = match local {
        Some(path) => {
            if let Ok(meta) = std::fs::metadata(path) {
                if meta.file_type().is_socket() {
                    let _ = std::fs::remove_file(path);
                }
            }
            UnixDatagram::bind(path)?
        }
        None => UnixDatagram::unbound()?,
    };
    if let Some(path) = remote {
        socket.connect(path)?;
    }
    Ok(Sock::Unix(Async::with_reactor(socket, lp.state.reactor())?))
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::pairs;

    fn a(s: &str) -> Option<SocketAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn pairs_match_families_one_per_family() {
        let locals = [a("[::1]:0"), a("127.0.0.1:0"), a("127.0.0.2:0")];
        let remotes = [a("127.0.0.1:9")];
        assert_eq!(
            pairs(&locals, &remotes),
            vec![(a("127.0.0.1:0"), a("127.0.0.1:9"))]
        );
        assert_eq!(
            pairs(&locals, &[None]),
            vec![(a("[::1]:0"), None), (a("127.0.0.1:0"), None)]
        );
        assert!(pairs(&[a("[::1]:0")], &[a("127.0.0.1:9")]).is_empty());
    }
}
