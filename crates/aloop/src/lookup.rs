//! Name lookups off the loop thread: `loop.getaddrinfo` / `loop.getnameinfo`, and
//! [`GaiError`], asyncio's `socket.gaierror`: a failed lookup keeps its `EAI_*` code
//! and its own kind, so code can tell "no such host" from "the resolver is down"
//! without reading the message. `streams/connection.rs` resolves through here.
//!
//! The system resolver blocks, so every lookup runs on the loop's default executor, as
//! asyncio's do; a literal IP address skips the executor.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};

use dns_lookup::{AddrInfoHints as RawHints, LookupErrorKind};

use crate::event_loop::LoopRef;

/// What kind of failure a [`GaiError`] is (the `EAI_*` codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GaiErrorKind {
    /// The name or service is unknown (`EAI_NONAME`; also NXDOMAIN).
    NoName,
    /// The host exists but has no address of the asked family (`EAI_NODATA`).
    NoData,
    /// A temporary failure; try again later (`EAI_AGAIN`).
    Again,
    /// A permanent resolver failure (`EAI_FAIL`).
    Fail,
    /// The address family is not supported (`EAI_FAMILY`).
    Family,
    /// The socket type is not supported (`EAI_SOCKTYPE`).
    SocketType,
    /// The service is not available for the socket type (`EAI_SERVICE`).
    Service,
    /// Bad flags (`EAI_BADFLAGS`).
    BadFlags,
    /// Out of memory (`EAI_MEMORY`).
    Memory,
    /// Another code.
    Other,
}

/// A failed name lookup (asyncio's `socket.gaierror`). It travels inside an
/// `io::Error` (kind `NotFound` for [`GaiErrorKind::NoName`]/[`NoData`](GaiErrorKind::NoData),
/// `Other` otherwise); get it back with [`GaiError::of`]. A system error during the
/// lookup (`EAI_SYSTEM`) is returned as the plain OS error instead, `raw_os_error()`
/// kept.
///
/// ```
/// aloop::run(async {
///     let lp = aloop::get_running_loop().unwrap();
///     let err = lp.getaddrinfo("no-such-host.invalid", Some(80), Default::default())
///         .await
///         .unwrap_err();
///     let gai = aloop::GaiError::of(&err).expect("a lookup error");
///     assert_eq!(gai.host(), "no-such-host.invalid");
/// });
/// ```
#[derive(Debug, Clone)]
pub struct GaiError {
    kind: GaiErrorKind,
    code: i32,
    host: String,
}

impl GaiError {
    /// The lookup error inside `err`, if it is one.
    pub fn of(err: &io::Error) -> Option<&GaiError> {
        err.get_ref()?.downcast_ref::<GaiError>()
    }

    /// What kind of failure it is.
    pub fn kind(&self) -> GaiErrorKind {
        self.kind
    }

    /// The resolver's `EAI_*` code (platform-specific numbers).
    pub fn code(&self) -> i32 {
        self.code
    }

    /// The name that was looked up.
    pub fn host(&self) -> &str {
        &self.host
    }
}

impl fmt::Display for GaiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            GaiErrorKind::NoName => "name or service not known",
            GaiErrorKind::NoData => "no address associated with the name",
            GaiErrorKind::Again => "temporary failure in name resolution",
            GaiErrorKind::Fail => "non-recoverable failure in name resolution",
            GaiErrorKind::Family => "address family not supported",
            GaiErrorKind::SocketType => "socket type not supported",
            GaiErrorKind::Service => "service not supported for the socket type",
            GaiErrorKind::BadFlags => "bad flags",
            GaiErrorKind::Memory => "out of memory",
            GaiErrorKind::Other => "lookup failed",
        };
        write!(
            f,
            "could not resolve {:?}: {what} (EAI code {})",
            self.host, self.code
        )
    }
}

impl std::error::Error for GaiError {}

/// What [`LoopRef::getaddrinfo`] asks for (asyncio's `family`, `type`, `proto`,
/// `flags`): `0` means any, as in C. The values are the OS's (`libc::AF_INET`, ...).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AddrInfoHints {
    /// `AF_INET`, `AF_INET6`, or 0 for both.
    pub family: i32,
    /// `SOCK_STREAM`, `SOCK_DGRAM`, or 0 for any.
    pub socktype: i32,
    /// The protocol, or 0.
    pub protocol: i32,
    /// `AI_*` flags.
    pub flags: i32,
}

/// One result of [`LoopRef::getaddrinfo`] (asyncio's 5-tuple).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddrInfo {
    /// The address family (`AF_INET` or `AF_INET6`).
    pub family: i32,
    /// The socket type.
    pub socktype: i32,
    /// The protocol.
    pub protocol: i32,
    /// The canonical name, when `AI_CANONNAME` asked for it (else empty).
    pub canonname: String,
    /// The address, with the port.
    pub addr: SocketAddr,
}

fn gai_error(host: &str, e: dns_lookup::LookupError) -> io::Error {
    let kind = match e.kind() {
        LookupErrorKind::NoName => GaiErrorKind::NoName,
        LookupErrorKind::NoData => GaiErrorKind::NoData,
        LookupErrorKind::Again => GaiErrorKind::Again,
        LookupErrorKind::Fail => GaiErrorKind::Fail,
        LookupErrorKind::Family => GaiErrorKind::Family,
        LookupErrorKind::Socktype => GaiErrorKind::SocketType,
        LookupErrorKind::Service => GaiErrorKind::Service,
        LookupErrorKind::Badflags => GaiErrorKind::BadFlags,
        LookupErrorKind::Memory => GaiErrorKind::Memory,
        // EAI_SYSTEM (and the crate's own I/O failures): the OS error as it was.
        LookupErrorKind::System | LookupErrorKind::IO => return io::Error::from(e),
        LookupErrorKind::Unknown => GaiErrorKind::Other,
    };
    let io_kind = match kind {
        GaiErrorKind::NoName | GaiErrorKind::NoData => io::ErrorKind::NotFound,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(
        io_kind,
        GaiError {
            kind,
            code: e.error_num(),
            host: host.to_owned(),
        },
    )
}

/// The blocking lookup, run on an executor thread.
fn lookup(host: &str, port: Option<u16>, hints: AddrInfoHints) -> io::Result<Vec<AddrInfo>> {
    let raw = RawHints {
        flags: hints.flags,
        address: hints.family,
        socktype: hints.socktype,
        protocol: hints.protocol,
    };
    let service = port.map(|p| p.to_string());
    let found = dns_lookup::getaddrinfo(Some(host), service.as_deref(), Some(raw))
        .map_err(|e| gai_error(host, e))?;
    let mut out = Vec::new();
    for info in found {
        let info = info?;
        out.push(AddrInfo {
            family: info.address,
            socktype: info.socktype,
            protocol: info.protocol,
            canonname: info.canonname.unwrap_or_default(),
            addr: info.sockaddr,
        });
    }
    Ok(out)
}

impl LoopRef {
    /// Resolves `host` (and `port`) off the loop thread (asyncio's `loop.getaddrinfo`).
    /// A failed lookup is an `io::Error` carrying a [`GaiError`].
    ///
    /// ```
    /// aloop::run(async {
    ///     let lp = aloop::get_running_loop().unwrap();
    ///     let hints = aloop::AddrInfoHints { socktype: libc::SOCK_STREAM, ..Default::default() };
    ///     let found = lp.getaddrinfo("localhost", Some(80), hints).await.unwrap();
    ///     assert!(found.iter().all(|a| a.addr.port() == 80 && a.addr.ip().is_loopback()));
    /// });
    /// ```
    pub fn getaddrinfo(
        &self,
        host: &str,
        port: Option<u16>,
        hints: AddrInfoHints,
    ) -> impl std::future::Future<Output = io::Result<Vec<AddrInfo>>> + 'static {
        let host = host.to_owned();
        let job = self.run_in_executor(None, move || lookup(&host, port, hints));
        async move { job.await.map_err(|e| io::Error::other(e.to_string()))? }
    }

    /// The host and service names of `addr` (asyncio's `loop.getnameinfo`), off the
    /// loop thread; `flags` are `NI_*` values (0 for none).
    pub fn getnameinfo(
        &self,
        addr: SocketAddr,
        flags: i32,
    ) -> impl std::future::Future<Output = io::Result<(String, String)>> + 'static {
        let job = self.run_in_executor(None, move || {
            dns_lookup::getnameinfo(&addr, flags).map_err(|e| gai_error(&addr.ip().to_string(), e))
        });
        async move { job.await.map_err(|e| io::Error::other(e.to_string()))? }
    }
}

/// The addresses to try for `host:port` over TCP, in the resolver's order; a literal
/// IP address is not looked up.
pub(crate) async fn resolve_tcp(
    lp: &LoopRef,
    host: &str,
    port: u16,
) -> io::Result<Vec<SocketAddr>> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let hints = AddrInfoHints {
        socktype: socket2::Type::STREAM.into(),
        ..AddrInfoHints::default()
    };
    let found = lp.getaddrinfo(host, Some(port), hints).await?;
    Ok(found.into_iter().map(|a| a.addr).collect())
}
