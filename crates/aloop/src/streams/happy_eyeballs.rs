//! Connecting to a name with several addresses (`open_connection`, and
//! `create_connection` in `protocols/`): one after the other, or Happy Eyeballs
//! (RFC 8305, asyncio's `happy_eyeballs_delay` and `interleave`): the next address is
//! tried when the previous one has not answered within the delay, or at once when it
//! failed, with the attempts running side by side; the first to connect wins and the
//! others are dropped (closing their sockets).

use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use aloop_reactor::TcpStream;

use crate::sleep::{sleep, Sleep};

/// How `open_connection_with` / `create_connection_with` connect.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    /// Happy Eyeballs: start the next address's attempt after this long without an
    /// answer (RFC 8305 recommends 250 ms). `None` (the default, as in asyncio):
    /// one address after the other.
    pub happy_eyeballs_delay: Option<Duration>,
    /// Reorder the addresses so the families alternate, this many of the first
    /// family at the head (asyncio's `interleave`; 1 when `happy_eyeballs_delay` is
    /// set and this is `None`, else no reordering).
    pub interleave: Option<usize>,
    /// TLS over the connection (asyncio's `ssl=`, with `server_hostname`,
    /// `ssl_handshake_timeout` and `ssl_shutdown_timeout` inside the config). The
    /// name checked against the certificate is the config's `server_hostname`, else
    /// the host connected to. `None` (the default): plain TCP.
    #[cfg(feature = "tls")]
    pub ssl: Option<crate::tls::ClientConfig>,
}

/// The first family's first `first` addresses, then the families alternating (RFC
/// 8305 section 4), keeping the resolver's order within each family.
fn interleave(addrs: Vec<SocketAddr>, first: usize) -> Vec<SocketAddr> {
    if first == 0 || addrs.is_empty() {
        return addrs;
    }
    let lead_is_v6 = addrs[0].is_ipv6();
    let (mut lead, mut other): (Vec<_>, Vec<_>) =
        addrs.into_iter().partition(|a| a.is_ipv6() == lead_is_v6);
    lead.reverse();
    other.reverse();
    let mut out = Vec::with_capacity(lead.len() + other.len());
    out.extend(std::iter::from_fn(|| lead.pop()).take(first - 1));
    loop {
        match (lead.pop(), other.pop()) {
            (None, None) => return out,
            (a, b) => out.extend(a.into_iter().chain(b)),
        }
    }
}

/// Connects to the first of `addrs` that answers, as `options` say; the last error if
/// none does (the OS's own, `raw_os_error()` kept).
pub(crate) async fn connect(
    addrs: Vec<SocketAddr>,
    options: &ConnectOptions,
) -> io::Result<(TcpStream, SocketAddr)> {
    let first = options
        .interleave
        .unwrap_or(usize::from(options.happy_eyeballs_delay.is_some()));
    let addrs = interleave(addrs, first);
    match options.happy_eyeballs_delay {
        None => one_by_one(addrs).await,
        Some(delay) => staggered(addrs, delay).await,
    }
}

fn no_address() -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, "no address to connect to")
}

async fn one_by_one(addrs: Vec<SocketAddr>) -> io::Result<(TcpStream, SocketAddr)> {
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => return Ok((stream, addr)),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(no_address))
}

type Attempt = (
    SocketAddr,
    Pin<Box<dyn Future<Output = io::Result<TcpStream>>>>,
);

/// Happy Eyeballs proper: attempts started `delay` apart (or as soon as the running
/// ones have all failed), raced.
async fn staggered(addrs: Vec<SocketAddr>, delay: Duration) -> io::Result<(TcpStream, SocketAddr)> {
    let mut pending = addrs.into_iter();
    let mut running: Vec<Attempt> = Vec::new();
    let mut next_start: Option<Pin<Box<Sleep>>> = None;
    let mut last = None;
    poll_fn(move |cx| loop {
        let timer_fired = next_start
            .as_mut()
            .is_some_and(|t| t.as_mut().poll(cx).is_ready());
        if running.is_empty() || timer_fired {
            if let Some(addr) = pending.next() {
                running.push((addr, Box::pin(TcpStream::connect(addr))));
                next_start = Some(Box::pin(sleep(delay)));
            } else {
                next_start = None;
            }
        }
        let mut failed = false;
        let mut i = 0;
        while i < running.len() {
            match running[i].1.as_mut().poll(cx) {
                Poll::Ready(Ok(stream)) => return Poll::Ready(Ok((stream, running[i].0))),
                Poll::Ready(Err(e)) => {
                    last = Some(e);
                    drop(running.remove(i));
                    failed = true;
                }
                Poll::Pending => i += 1,
            }
        }
        if running.is_empty() && pending.len() == 0 {
            return Poll::Ready(Err(last.take().unwrap_or_else(no_address)));
        }
        if failed && running.is_empty() {
            continue; // the next address now, not after the delay
        }
        // Poll the (possibly new) timer, so that it wakes us when the delay is up.
        if next_start
            .as_mut()
            .is_some_and(|t| t.as_mut().poll(cx).is_ready())
        {
            continue;
        }
        return Poll::Pending;
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn v4(last: u8) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, last], 80))
    }

    fn v6(last: u16) -> SocketAddr {
        SocketAddr::from(([0xfe80, 0, 0, 0, 0, 0, 0, last], 80))
    }

    #[test]
    fn interleave_alternates_the_families_after_the_first_n() {
        let addrs = vec![v6(1), v6(2), v6(3), v4(1), v4(2)];
        assert_eq!(
            interleave(addrs.clone(), 1),
            [v6(1), v4(1), v6(2), v4(2), v6(3)]
        );
        assert_eq!(
            interleave(addrs.clone(), 2),
            [v6(1), v6(2), v4(1), v6(3), v4(2)]
        );
        assert_eq!(interleave(addrs.clone(), 0), addrs);
        assert_eq!(interleave(vec![v4(1), v4(2)], 1), [v4(1), v4(2)]);
    }

    /// A listener whose accept queue is full: further SYNs are dropped, so a connect
    /// to it neither succeeds nor fails for a long while.
    fn silent_listener() -> (socket2::Socket, Vec<std::net::TcpStream>, SocketAddr) {
        let l = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        l.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
            .unwrap();
        l.listen(0).unwrap();
        let addr = l.local_addr().unwrap().as_socket().unwrap();
        // Fill the queue (never accepted); stop once a connect no longer completes.
        let mut fillers = Vec::new();
        for _ in 0..8 {
            match std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                Ok(s) => fillers.push(s),
                Err(_) => break,
            }
        }
        (l, fillers, addr)
    }

    #[test]
    fn a_first_address_that_does_not_answer_is_overtaken_by_the_second() {
        let (_silent, _fillers, silent_addr) = silent_listener();
        let good = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let good_addr = good.local_addr().unwrap();
        let started = Instant::now();
        let (stream, addr) = crate::run(async move {
            let options = ConnectOptions {
                happy_eyeballs_delay: Some(Duration::from_millis(100)),
                ..Default::default()
            };
            connect(vec![silent_addr, good_addr], &options)
                .await
                .unwrap()
        });
        assert_eq!(addr, good_addr);
        assert_eq!(stream.peer_addr().unwrap(), good_addr);
        // Not a timing assertion: a sequential attempt would wait for the kernel's
        // connect timeout (minutes), this bound only tells the two apart.
        assert!(started.elapsed() < Duration::from_secs(30));
    }

    #[test]
    fn a_refused_first_address_moves_on_at_once_and_all_refused_is_the_os_error() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let closed_addr = closed.local_addr().unwrap();
        drop(closed);
        let good = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let good_addr = good.local_addr().unwrap();
        crate::run(async move {
            let options = ConnectOptions {
                happy_eyeballs_delay: Some(Duration::from_secs(3600)),
                ..Default::default()
            };
            let (_s, addr) = connect(vec![closed_addr, good_addr], &options)
                .await
                .unwrap();
            assert_eq!(addr, good_addr, "did not wait an hour for the delay");
            let err = connect(vec![closed_addr, closed_addr], &options)
                .await
                .unwrap_err();
            assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED));
        });
    }
}
