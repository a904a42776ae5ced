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
        let echo = async {
            let mut buf = [0u8; 1024];
            for _ in 0..rounds {
                server.read_exact(&mut buf).await?;
                server.write_all(&buf).await?;
            }
            io::Result::Ok(())
        };
        let ping = async {
            let msg = [7u8; 1024];
            let mut buf = [0u8; 1024];
            for _ in 0..rounds {
                client.write_all(&msg).await?;
                client.read_exact(&mut buf).await?;
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
        let echo = async move {
            let mut buf = [0u8; 1024];
            for _ in 0..rounds {
                server.read_exact(&mut buf).await?;
                server.write_all(&buf).await?;
            }
            io::Result::Ok(())
        };
        let ping = async move {
            let msg = [7u8; 1024];
            let mut buf = [0u8; 1024];
            for _ in 0..rounds {
                client.write_all(&msg).await?;
                client.read_exact(&mut buf).await?;
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
