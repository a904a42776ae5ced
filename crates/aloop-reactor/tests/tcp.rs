//! TCP behaviour: concurrent echo with every byte checked, refused connects and
//! resets surface as errors, the short-read shortcut never stalls a stream, and the
//! `futures-io` traits interoperate with `futures-util`.

mod common;

use std::io::{self, Write};
use std::net::{Shutdown, SocketAddr};
use std::thread;
use std::time::Duration;

use aloop_reactor::{Reactor, TcpListener, TcpStream};
use common::{pattern, watchdog};
use futures_util::future::{join, join_all};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};
use futures_util::StreamExt;

async fn echo_server(listener: &TcpListener, conns: usize) -> io::Result<()> {
    let mut incoming = listener.incoming();
    let mut handlers = Vec::new();
    for _ in 0..conns {
        let stream = incoming.next().await.expect("incoming never ends")?;
        handlers.push(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let n = stream.read(&mut buf).await?;
                if n == 0 {
                    return io::Result::Ok(());
                }
                stream.write_all(&buf[..n]).await?;
            }
        });
    }
    for r in join_all(handlers).await {
        r?;
    }
    Ok(())
}

async fn echo_client(addr: SocketAddr, seed: usize, len: usize) -> io::Result<()> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let data = pattern(seed, len);
    let mut got = vec![0u8; len];
    // Write and read concurrently so large payloads cannot deadlock on full buffers.
    let writer = async {
        for chunk in data.chunks(1000) {
            stream.write_all(chunk).await?;
        }
        stream.shutdown(Shutdown::Write)
    };
    let (w, r) = join(writer, stream.read_exact(&mut got)).await;
    w?;
    r?;
    assert_eq!(got, data, "connection {seed} echoed wrong bytes");
    let mut rest = [0u8; 1];
    assert_eq!(
        stream.read(&mut rest).await?,
        0,
        "server must close after EOF"
    );
    Ok(())
}

const N: usize = 8;
const LEN: usize = 50_000;

#[test]
fn echo_many_connections_every_byte_checked() {
    watchdog(|| {
        let reactor = Reactor::new().unwrap();
        reactor
            .block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0")?;
                let addr = listener.local_addr()?;
                let clients = join_all((0..N).map(|i| echo_client(addr, i, LEN + i * 997)));
                let (server, clients) = join(echo_server(&listener, N), clients).await;
                server?;
                for c in clients {
                    c?;
                }
                io::Result::Ok(())
            })
            .unwrap();
        assert_eq!(
            reactor.source_count(),
            0,
            "every socket deregistered on drop"
        );
    });
}

#[test]
fn connect_to_closed_port_is_refused_not_a_hang() {
    watchdog(|| {
        let reactor = Reactor::new().unwrap();
        let addr = {
            // Bind then drop: the port is now (almost certainly) closed.
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let err = reactor
            .block_on(TcpStream::connect(addr))
            .expect_err("connect to a closed port must fail");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err}");
        assert_eq!(reactor.source_count(), 0);
    });
}

/// Runs `body` on a fresh reactor (under the watchdog) with a connection accepted
/// from a blocking std client: the accepted stream, the peer address `accept`
/// reported, and the client.
fn with_accepted<F, Fut>(body: F)
where
    F: FnOnce(TcpStream, SocketAddr, std::net::TcpStream) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = io::Result<()>>,
{
    watchdog(|| {
        let reactor = Reactor::new().unwrap();
        reactor
            .block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0")?;
                let client = std::net::TcpStream::connect(listener.local_addr()?)?;
                let (server, peer) = listener.accept().await?;
                body(server, peer, client).await
            })
            .unwrap();
    });
}

#[test]
fn peer_reset_after_accept_is_an_error_not_a_hang() {
    with_accepted(|server, _, client| async move {
        // SO_LINGER 0 makes close send RST instead of FIN.
        socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO))?;
        drop(client);
        let mut buf = [0u8; 16];
        let err = server
            .read(&mut buf)
            .await
            .expect_err("a reset must be an error");
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset, "{err}");
        Ok(())
    });
}

/// An accepted socket is non-blocking (a blocking one would stall the whole loop on
/// its first read with nothing queued) and close-on-exec (a child process must not
/// inherit connections), and its peer address is the client's.
#[test]
fn an_accepted_socket_is_non_blocking_close_on_exec_and_knows_its_peer() {
    use std::os::unix::io::AsRawFd;
    with_accepted(|server, peer, client| async move {
        assert_eq!(peer, client.local_addr()?);
        let fd = server.as_raw_fd();
        // SAFETY: F_GETFL and F_GETFD take no pointer argument; `fd` is open.
        let (fl, fdfl) = unsafe {
            (
                libc::fcntl(fd, libc::F_GETFL),
                libc::fcntl(fd, libc::F_GETFD),
            )
        };
        assert!(fl != -1 && fdfl != -1, "{}", io::Error::last_os_error());
        assert_ne!(fl & libc::O_NONBLOCK, 0, "O_NONBLOCK");
        assert_ne!(fdfl & libc::FD_CLOEXEC, 0, "FD_CLOEXEC");
        let mut buf = [0u8; 4];
        (&client).write_all(b"ping")?;
        server.read(&mut buf).await?;
        assert_eq!(&buf, b"ping");
        Ok(())
    });
}

#[test]
fn short_read_shortcut_does_not_stall_later_data() {
    watchdog(|| {
        let reactor = Reactor::new().unwrap();
        let listener = {
            let _g = reactor.enter();
            TcpListener::bind("127.0.0.1:0").unwrap()
        };
        let addr = listener.local_addr().unwrap();
        let total: Vec<u8> = pattern(3, 10 * 700);
        let to_send = total.clone();
        let writer = thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.set_nodelay(true).unwrap();
            // Chunks with pauses: each read on the other side is short (700 of
            // 64 KiB), clears readiness, and must still see the next chunk's edge.
            for chunk in to_send.chunks(700) {
                s.write_all(chunk).unwrap();
                thread::sleep(Duration::from_millis(20));
            }
        });
        let got = reactor
            .block_on(async {
                let (stream, _) = listener.accept().await?;
                let mut got = Vec::new();
                let mut buf = vec![0u8; 64 * 1024];
                loop {
                    let n = stream.read(&mut buf).await?;
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                io::Result::Ok(got)
            })
            .unwrap();
        writer.join().unwrap();
        assert_eq!(got, total);
    });
}

#[test]
fn futures_io_interop_read_exact_write_all_copy() {
    watchdog(|| {
        let reactor = Reactor::new().unwrap();
        reactor
            .block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0")?;
                let mut client = TcpStream::connect(listener.local_addr()?).await?;
                let (mut server, _) = listener.accept().await?;
                let data = pattern(9, 200_000);

                // Server: copy everything it reads back to the client (an echo built
                // from futures-util alone, over `&TcpStream` halves).
                let server_side = async {
                    let (mut r, mut w) = (&server, &server);
                    let n = futures_util::io::copy(&mut r, &mut w).await?;
                    io::Result::Ok(n)
                };
                let client_side = async {
                    let mut got = vec![0u8; data.len()];
                    let (mut r, mut w) = (&client, &client);
                    let write = async {
                        AsyncWriteExt::write_all(&mut w, &data).await?;
                        AsyncWriteExt::close(&mut w).await
                    };
                    let (wr, rd) = join(write, AsyncReadExt::read_exact(&mut r, &mut got)).await;
                    wr?;
                    rd?;
                    io::Result::Ok(got)
                };
                let (copied, got) = join(server_side, client_side).await;
                assert_eq!(copied?, data.len() as u64);
                assert_eq!(got?, data);

                // Vectored writes gather several buffers into one stream.
                let parts = [
                    io::IoSlice::new(b"ab"),
                    io::IoSlice::new(b""),
                    io::IoSlice::new(b"cd"),
                ];
                let n = AsyncWriteExt::write_vectored(&mut server, &parts).await?;
                assert!(n > 0 && n <= 4);
                let mut got = vec![0u8; n];
                AsyncReadExt::read_exact(&mut client, &mut got).await?;
                assert_eq!(&got[..], &b"abcd"[..n]);
                AsyncWriteExt::close(&mut server).await?;

                // Owned-stream impls: EOF after the server closed its write half.
                let mut rest = Vec::new();
                AsyncReadExt::read_to_end(&mut client, &mut rest).await?;
                assert!(rest.is_empty());
                AsyncWriteExt::flush(&mut server).await?;
                io::Result::Ok(())
            })
            .unwrap();
    });
}

#[test]
fn reuse_port_listeners_share_a_port_and_accept() {
    watchdog(|| {
        let reactor = Reactor::new().unwrap();
        reactor
            .block_on(async {
                let a = TcpListener::bind_with("127.0.0.1:0", true, 16)?;
                let addr = a.local_addr()?;
                let b = TcpListener::bind_with(addr, true, 16)?;
                assert_eq!(b.local_addr()?, addr);
                // Without SO_REUSEPORT the same bind must fail.
                assert!(TcpListener::bind(addr).is_err());
                drop(b);
                let client = TcpStream::connect(addr).await?;
                let (server, peer) = a.accept().await?;
                assert_eq!(peer, client.local_addr()?);
                assert_eq!(server.peer_addr()?, client.local_addr()?);
                io::Result::Ok(())
            })
            .unwrap();
    });
}

#[test]
fn std_conversions_keep_working() {
    watchdog(|| {
        let reactor = Reactor::new().unwrap();
        reactor
            .block_on(async {
                let std_listener = std::net::TcpListener::bind("127.0.0.1:0")?;
                let listener = TcpListener::from_std(std_listener)?;
                let client = TcpStream::connect(listener.local_addr()?).await?;
                let (server, _) = listener.accept().await?;
                let std_client = client.into_std();
                let client = TcpStream::from_std(std_client)?;
                client.write_all(b"abc").await?;
                let mut buf = [0u8; 3];
                server.read_exact(&mut buf).await?;
                assert_eq!(&buf, b"abc");
                assert!(!client.nodelay()?);
                io::Result::Ok(())
            })
            .unwrap();
        assert_eq!(reactor.source_count(), 0);
    });
}

#[test]
fn ipv6_loopback_when_available() {
    watchdog(|| {
        let reactor = Reactor::new().unwrap();
        reactor
            .block_on(async {
                let listener = match TcpListener::bind("[::1]:0") {
                    Ok(l) => l,
                    // No IPv6 on this host: nothing to test.
                    Err(_) => return io::Result::Ok(()),
                };
                let client = TcpStream::connect(listener.local_addr()?).await?;
                let (server, peer) = listener.accept().await?;
                assert!(peer.is_ipv6());
                client.write_all(b"six").await?;
                let mut buf = [0u8; 3];
                server.read_exact(&mut buf).await?;
                assert_eq!(&buf, b"six");
                io::Result::Ok(())
            })
            .unwrap();
    });
}

/// `reset` wakes a read that is waiting (no event will come for a released socket) and
/// it meets an error; the peer sees the reset; the registration is gone, and the fd
/// number stays reserved until the stream drops.
#[test]
fn reset_wakes_a_waiting_read_and_resets_the_peer() {
    watchdog(|| {
        let reactor = Reactor::new().unwrap();
        let _g = reactor.enter();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let ours = reactor
            .block_on(TcpStream::connect(listener.local_addr().unwrap()))
            .unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        let fd = std::os::unix::io::AsRawFd::as_raw_fd(&ours);
        let read = async {
            let mut buf = [0u8; 16];
            ours.read(&mut buf).await
        };
        let reset = async {
            // Let the read register and wait first.
            reactor_yield().await;
            ours.reset().unwrap();
        };
        let (read, ()) = reactor.block_on(join(read, reset));
        assert!(read.is_err(), "a reset stream reads an error, got {read:?}");
        assert_eq!(reactor.source_count(), 0, "the registration ended");
        peer.set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let err = std::io::Read::read(&mut peer, &mut [0u8; 8]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
        // The number is still ours (the placeholder), so nothing else can get it.
        // SAFETY: F_GETFD only reads the fd's flags; `ours` still owns the fd.
        assert!(unsafe { libc::fcntl(fd, libc::F_GETFD) } >= 0);
        drop(ours);
    });
}

/// One `Pending` before finishing: lets the other future of a `join` run first.
async fn reactor_yield() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            std::task::Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    })
    .await
}
