//! The opt-in global reactor: sockets created with no current reactor work under
//! tokio's runtime (which knows nothing of aloop), driven by the background thread.
//! Its own test binary, because opting in is process-wide.

use std::io;
use std::time::Duration;

use aloop_reactor::{Reactor, TcpListener, TcpStream, UdpSocket};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};

#[test]
fn sockets_work_under_tokio_via_the_global_reactor() {
    let global = Reactor::global().unwrap();
    assert!(Reactor::global().unwrap().ptr_eq(&global), "started once");
    assert!(Reactor::current().is_none(), "current() stays thread-local");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let work = async {
            let listener = TcpListener::bind("127.0.0.1:0")?;
            let addr = listener.local_addr()?;
            let server = tokio::spawn(async move {
                let (mut s, _) = listener.accept().await?;
                let mut buf = [0u8; 5];
                AsyncReadExt::read_exact(&mut s, &mut buf).await?;
                AsyncWriteExt::write_all(&mut s, &buf).await?;
                io::Result::Ok(())
            });
            let mut client = TcpStream::connect(addr).await?;
            AsyncWriteExt::write_all(&mut client, b"tokio").await?;
            let mut buf = [0u8; 5];
            AsyncReadExt::read_exact(&mut client, &mut buf).await?;
            assert_eq!(&buf, b"tokio");
            server.await.expect("server task panicked")?;

            let a = UdpSocket::bind("127.0.0.1:0")?;
            let b = UdpSocket::bind("127.0.0.1:0")?;
            a.send_to(b"dgram", b.local_addr()?).await?;
            let mut buf = [0u8; 16];
            let (n, _) = b.recv_from(&mut buf).await?;
            assert_eq!(&buf[..n], b"dgram");
            io::Result::Ok(())
        };
        tokio::time::timeout(Duration::from_secs(30), work)
            .await
            .expect("hung under tokio")
            .unwrap();
    });
    assert_eq!(global.source_count(), 0);
}
