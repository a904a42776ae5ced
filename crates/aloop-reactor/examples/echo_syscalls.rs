//! Echo round trips over loopback on one reactor, for counting syscalls per round
//! trip: build with `cargo build --release -p aloop-reactor --example echo_syscalls`,
//! run `strace -f -c target/release/examples/echo_syscalls 20000` and divide the
//! totals by the round-trip count. `echo_syscalls 20000 tokio` runs the same echo on
//! tokio's current-thread runtime for comparison.

use std::io;

use aloop_reactor::{Reactor, TcpListener, TcpStream};
use futures_util::future::join;

fn main() -> io::Result<()> {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    if std::env::args().nth(2).as_deref() == Some("tokio") {
        return tokio_echo(rounds);
    }
    let reactor = Reactor::new()?;
    let start = std::time::Instant::now();
    reactor.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let client = TcpStream::connect(listener.local_addr()?).await?;
        let (server, _) = listener.accept().await?;
        client.set_nodelay(true)?;
        server.set_nodelay(true)?;
        // Reads with room to spare: a read that does not fill its buffer proves the
        // socket drained, so no read ends in `WouldBlock` (one that fills it exactly,
        // as `read_exact` of 1 KiB into 1 KiB does, is followed by one).
        let echo = async {
            let mut buf = [0u8; 4096];
            let mut echoed = 0;
            while echoed < rounds * 1024 {
                let n = server.read(&mut buf).await?;
                server.write_all(&buf[..n]).await?;
                echoed += n;
            }
            io::Result::Ok(())
        };
        let ping = async {
            let msg = [7u8; 1024];
            let mut buf = [0u8; 4096];
            for _ in 0..rounds {
                client.write_all(&msg).await?;
                let mut got = 0;
                while got < 1024 {
                    got += client.read(&mut buf[got..]).await?;
                }
            }
            io::Result::Ok(())
        };
        let (a, b) = join(echo, ping).await;
        a?;
        b
    })?;
    report("aloop-reactor", rounds, start.elapsed());
    Ok(())
}

fn report(who: &str, rounds: usize, el: std::time::Duration) {
    eprintln!(
        "{who}: {rounds} round trips of 1 KiB in {el:?} ({:.1} us each)",
        el.as_secs_f64() * 1e6 / rounds as f64
    );
}

fn tokio_echo(rounds: usize) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    let start = std::time::Instant::now();
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let mut client = tokio::net::TcpStream::connect(listener.local_addr()?).await?;
        let (mut server, _) = listener.accept().await?;
        client.set_nodelay(true)?;
        server.set_nodelay(true)?;
        // The same reads as above, with room to spare.
        let echo = async move {
            let mut buf = [0u8; 4096];
            let mut echoed = 0;
            while echoed < rounds * 1024 {
                let n = server.read(&mut buf).await?;
                server.write_all(&buf[..n]).await?;
                echoed += n;
            }
            io::Result::Ok(())
        };
        let ping = async move {
            let msg = [7u8; 1024];
            let mut buf = [0u8; 4096];
            for _ in 0..rounds {
                client.write_all(&msg).await?;
                let mut got = 0;
                while got < 1024 {
                    got += client.read(&mut buf[got..]).await?;
                }
            }
            io::Result::Ok(())
        };
        let (a, b) = futures_util::future::join(echo, ping).await;
        a?;
        b
    })?;
    report("tokio", rounds, start.elapsed());
    Ok(())
}
