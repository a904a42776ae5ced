//! Echo round trips over loopback on one reactor, for counting syscalls per round
//! trip: `strace -f -c -o /tmp/trace cargo run --release -p aloop-reactor --example
//! echo_syscalls -- 20000`, then divide the totals by the round-trip count.

use std::io;

use aloop_reactor::{Reactor, TcpListener, TcpStream};
use futures_util::future::join;

fn main() -> io::Result<()> {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
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
    let el = start.elapsed();
    eprintln!(
        "{rounds} round trips of 1 KiB in {el:?} ({:.1} us each)",
        el.as_secs_f64() * 1e6 / rounds as f64
    );
    Ok(())
}
