//! No fd leaks: creating and dropping a reactor with sockets returns the process to
//! the same number of open fds. Alone in its own test binary so no concurrent test
//! opens fds while it counts.

use std::io;

use aloop_reactor::{Async, Reactor, Registration, TcpListener, TcpStream, UdpSocket, UnixStream};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("this test needs /proc (Linux)")
        .count()
}

#[test]
fn reactor_and_sockets_release_every_fd() {
    if !std::path::Path::new("/proc/self/fd").exists() {
        return; // not Linux: nothing to count with
    }
    // Warm up anything lazily allocated by std before the baseline.
    drop(std::net::UdpSocket::bind("127.0.0.1:0").unwrap());
    let before = open_fds();
    for _ in 0..3 {
        let reactor = Reactor::new().unwrap();
        reactor
            .block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0")?;
                let client = TcpStream::connect(listener.local_addr()?).await?;
                let (server, _) = listener.accept().await?;
                client.write_all(b"x").await?;
                let mut b = [0u8; 1];
                server.read_exact(&mut b).await?;
                let _udp = UdpSocket::bind("127.0.0.1:0")?;
                let _pair = UnixStream::pair()?;
                let (x, _y) = std::os::unix::net::UnixStream::pair()?;
                let _raw = Async::new(x)?;
                let (l, _m) = std::os::unix::net::UnixStream::pair()?;
                let _level = Registration::new_level(&Reactor::current().unwrap(), {
                    use std::os::unix::io::AsRawFd;
                    l.as_raw_fd()
                })?;
                io::Result::Ok(())
            })
            .unwrap();
        assert_eq!(reactor.source_count(), 0);
    }
    assert_eq!(open_fds(), before, "fds leaked");
}
