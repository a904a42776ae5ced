//! Linux `TCP_INQ`: every `recvmsg` also reports how many bytes are still queued
//! (and reports 1 when only a FIN is left). That lets a TCP read clear readiness
//! when the queue is empty — even after a read that filled the buffer exactly —
//! without a second, `WouldBlock`-returning syscall, while never mistaking a
//! pending end-of-stream for "nothing to read" (which would wait for an edge that
//! never comes).

use std::io::{self, IoSliceMut};
use std::mem;
use std::os::unix::io::RawFd;

/// Turns on `TCP_INQ` for a TCP socket. Returns false (and the stream then does
/// without the shortcut) if the kernel predates it (Linux < 4.18).
pub(crate) fn enable(fd: RawFd) -> bool {
    let one: libc::c_int = 1;
    // SAFETY: `one` is a valid c_int for the duration of the call and the length
    // passed matches its size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_TCP,
            libc::TCP_INQ,
            (&one as *const libc::c_int).cast(),
            mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    r == 0
}

/// Control-message buffer, 8-byte aligned as `cmsghdr` requires; room for one
/// `int` payload (`CMSG_SPACE(4)` is 24 bytes on 64-bit, 16 on 32-bit).
#[repr(C, align(8))]
struct CmsgBuf([u8; 32]);

/// `recvmsg` into `bufs` in turn (a scattering read: one syscall fills the first,
/// then the next...); returns the byte count and the queued-bytes hint, if the kernel
/// attached one.
pub(crate) fn recv(fd: RawFd, bufs: &mut [IoSliceMut<'_>]) -> io::Result<(usize, Option<i32>)> {
    let mut control = CmsgBuf([0; 32]);
    // SAFETY: an all-zero msghdr (null pointers, zero lengths) is a valid value.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    // `IoSliceMut` is guaranteed ABI-compatible with `iovec` on Unix.
    msg.msg_iov = bufs.as_mut_ptr().cast();
    msg.msg_iovlen = bufs.len() as _;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = mem::size_of::<CmsgBuf>() as _;
    // SAFETY: `msg` points at `bufs` (iovecs, each covering a live `&mut [u8]`) and
    // at `control`, all live and writable for the duration of the call.
    let n = unsafe { libc::recvmsg(fd, &mut msg, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut inq = None;
    // SAFETY: `msg` was filled in by a successful recvmsg; the CMSG_* macros walk
    // only within `msg_control`/`msg_controllen` as the kernel set them, and the
    // payload is read unaligned with the size the kernel wrote for TCP_CM_INQ.
    unsafe {
        let mut cmsg = libc::CMSG_FIRSTHDR(&msg);
        while !cmsg.is_null() {
            if (*cmsg).cmsg_level == libc::SOL_TCP && (*cmsg).cmsg_type == libc::TCP_CM_INQ {
                inq = Some(std::ptr::read_unaligned(
                    libc::CMSG_DATA(cmsg).cast::<libc::c_int>(),
                ));
            }
            cmsg = libc::CMSG_NXTHDR(&msg, cmsg);
        }
    }
    Ok((n as usize, inq))
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::io::{IoSliceMut, Write};
    use std::net::Shutdown;
    use std::time::Duration;

    use crate::{Reactor, TcpListener, TcpStream};

    fn pair(reactor: &Reactor) -> (TcpStream, std::net::TcpStream) {
        reactor
            .block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0")?;
                let client = std::net::TcpStream::connect(listener.local_addr()?)?;
                let (server, _) = listener.accept().await?;
                std::io::Result::Ok((server, client))
            })
            .unwrap()
    }

    #[test]
    fn exact_fill_read_clears_readiness_when_queue_is_empty() {
        let reactor = Reactor::new().unwrap();
        let (server, mut client) = pair(&reactor);
        assert!(server.inq, "TCP_INQ should be available on this kernel");
        client.write_all(&[5u8; 100]).unwrap();
        reactor
            .block_on(async {
                let mut buf = [0u8; 100];
                server.read_exact(&mut buf).await?;
                assert_eq!(buf, [5u8; 100]);
                std::io::Result::Ok(())
            })
            .unwrap();
        // Drained, and the kernel said so: no WouldBlock read needed to learn it.
        assert!(!server.read_ready());
        // New data is a new edge: the next read still completes.
        client.write_all(&[6u8; 10]).unwrap();
        let n = reactor
            .block_on(async { server.read(&mut [0u8; 64]).await })
            .unwrap();
        assert_eq!(n, 10);
    }

    /// Reads into `a` then `b` with scattering reads until both are full.
    async fn read_two(s: &TcpStream, a: &mut [u8], b: &mut [u8]) -> std::io::Result<()> {
        let mut got = 0;
        while got < a.len() + b.len() {
            let n = if got < a.len() {
                let bufs = &mut [IoSliceMut::new(&mut a[got..]), IoSliceMut::new(&mut *b)];
                poll_fn(|cx| s.poll_read_vectored(cx, &mut bufs[..])).await?
            } else {
                let bufs = &mut [IoSliceMut::new(&mut b[got - a.len()..])];
                poll_fn(|cx| s.poll_read_vectored(cx, &mut bufs[..])).await?
            };
            assert!(n > 0, "EOF too early");
            got += n;
        }
        Ok(())
    }

    #[test]
    fn vectored_read_fills_in_turn_and_an_exact_fill_clears_readiness() {
        let reactor = Reactor::new().unwrap();
        let (server, mut client) = pair(&reactor);
        client.write_all(b"head+the rest").unwrap();
        let (mut a, mut b) = ([0u8; 4], [0u8; 9]);
        reactor.block_on(read_two(&server, &mut a, &mut b)).unwrap();
        assert_eq!((&a, &b), (b"head", b"+the rest"));
        assert!(!server.read_ready(), "drained, and the kernel said so");
        client.write_all(b"more").unwrap();
        let mut c = [0u8; 8];
        let n = reactor.block_on(server.read(&mut c)).unwrap();
        assert_eq!(&c[..n], b"more");
    }

    #[test]
    fn queued_fin_keeps_readiness_so_eof_is_seen() {
        let reactor = Reactor::new().unwrap();
        let (server, mut client) = pair(&reactor);
        client.write_all(b"last words").unwrap();
        client.shutdown(Shutdown::Write).unwrap();
        // Give the FIN time to land behind the data (if it has not, the test
        // still passes through the FIN's own edge; it just checks less).
        std::thread::sleep(Duration::from_millis(50));
        let mut buf = [0u8; 64];
        let n = reactor.block_on(server.read(&mut buf)).unwrap();
        assert_eq!(&buf[..n], b"last words");
        assert!(
            server.read_ready(),
            "a pending FIN must keep the stream readable"
        );
        assert_eq!(reactor.block_on(server.read(&mut buf)).unwrap(), 0);
    }
}
