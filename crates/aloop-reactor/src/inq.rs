//! Linux `TCP_INQ`: every `recvmsg` also reports how many bytes are still queued
//! (and reports 1 when only a FIN is left). That lets a TCP read clear readiness
//! when the queue is empty — even after a read that filled the buffer exactly —
//! without a second, `WouldBlock`-returning syscall, while never mistaking a
//! pending end-of-stream for "nothing to read" (which would wait for an edge that
//! never comes).

use std::io;
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

/// `recvmsg` into `buf`; returns the byte count and the queued-bytes hint, if the
/// kernel attached one.
pub(crate) fn recv(fd: RawFd, buf: &mut [u8]) -> io::Result<(usize, Option<i32>)> {
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let mut control = CmsgBuf([0; 32]);
    // SAFETY: an all-zero msghdr (null pointers, zero lengths) is a valid value.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.0.as_mut_ptr().cast();
    msg.msg_controllen = mem::size_of::<CmsgBuf>() as _;
    // SAFETY: `msg` points at `iov` (which covers exactly `buf`) and at `control`,
    // all live and writable for the duration of the call.
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
    use std::io::Write;
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
