//! Small OS helpers, below the reactor's types: making an fd non-blocking, accepting a
//! TCP connection already non-blocking, telling stream fds from the rest, and starting
//! a non-blocking `connect` (`Async::finish_connect` waits for its end).

use std::io;
use std::mem;
use std::net::{self, SocketAddr};
use std::os::unix::io::RawFd;

use socket2::{SockAddr, Socket};

/// Sets `O_NONBLOCK` on `fd` (skipping the write if it is already set).
pub(crate) fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl with F_GETFL takes no pointer argument; a bad fd yields EBADF.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags == -1 {
        return Err(io::Error::last_os_error());
    }
    if flags & libc::O_NONBLOCK == 0 {
        // SAFETY: as above; F_SETFL takes an integer argument.
        let r = unsafe { libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) };
        if r == -1 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Accepts one connection on a non-blocking listener, the new socket non-blocking and
/// close-on-exec from the start: `accept4(SOCK_NONBLOCK | SOCK_CLOEXEC)` on Linux and
/// Android, one system call per connection fewer than `accept` then `FIONBIO` (as
/// mio does); elsewhere exactly that pair. `WouldBlock` when no connection waits.
pub(crate) fn accept_nonblocking(
    listener: &net::TcpListener,
) -> io::Result<(net::TcpStream, SocketAddr)> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let listener = socket2::SockRef::from(listener);
        let (socket, addr) = loop {
            match listener.accept4(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                r => break r?,
            }
        };
        let addr = addr.as_socket().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "accepted a non-IP peer address")
        })?;
        Ok((socket.into(), addr))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let (stream, addr) = listener.accept()?;
        stream.set_nonblocking(true)?;
        Ok((stream, addr))
    }
}

/// Whether a short read/write on `fd` proves its kernel buffer was drained/filled:
/// true for `SOCK_STREAM` sockets and pipes, false for datagram sockets (a short
/// datagram says nothing about the queue), files and anything unknown.
pub(crate) fn is_stream(fd: RawFd) -> bool {
    let mut ty: libc::c_int = 0;
    let mut len = mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: `ty` and `len` are valid for writes and `len` holds the size of `ty`.
    let r = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_TYPE,
            (&mut ty as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if r == 0 {
        return ty == libc::SOCK_STREAM;
    }
    // SAFETY: an all-zero `stat` is a valid value of this plain C struct.
    let mut st: libc::stat = unsafe { mem::zeroed() };
    // SAFETY: `st` is valid for writes; a bad fd yields an error, not UB.
    let r = unsafe { libc::fstat(fd, &mut st) };
    r == 0 && (st.st_mode & libc::S_IFMT) == libc::S_IFIFO
}

/// Starts a non-blocking connect. `Ok(true)`: connected already; `Ok(false)`: in
/// progress, to be finished with `Async::finish_connect` once registered.
pub(crate) fn start_connect(socket: &Socket, addr: &SockAddr) -> io::Result<bool> {
    match socket.connect(addr) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok(false),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => Err(io::Error::new(
            io::ErrorKind::WouldBlock,
            "connect would block: the listener's backlog is full, try again later",
        )),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::io::{AsRawFd, FromRawFd, OwnedFd};
    use std::os::unix::net::{UnixDatagram, UnixStream};

    use super::*;

    #[test]
    fn stream_detection() {
        let (a, _b) = UnixStream::pair().unwrap();
        assert!(is_stream(a.as_raw_fd()));
        let (d, _e) = UnixDatagram::pair().unwrap();
        assert!(!is_stream(d.as_raw_fd()));
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(!is_stream(udp.as_raw_fd()));
        let mut fds = [0; 2];
        // SAFETY: `fds` has room for the two fds pipe() writes.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        // SAFETY: both fds were just created and are owned by nobody else.
        let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        assert!(is_stream(r.as_raw_fd()) && is_stream(w.as_raw_fd()));
        let file = std::fs::File::open(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
        assert!(!is_stream(file.as_raw_fd()));
        assert!(!is_stream(-1));
    }

    #[test]
    fn set_nonblocking_sets_the_flag_and_reports_bad_fds() {
        let (a, _b) = UnixStream::pair().unwrap();
        set_nonblocking(a.as_raw_fd()).unwrap();
        set_nonblocking(a.as_raw_fd()).unwrap(); // idempotent
                                                 // SAFETY: F_GETFL on a valid fd takes no pointer argument.
        let flags = unsafe { libc::fcntl(a.as_raw_fd(), libc::F_GETFL) };
        assert!(flags & libc::O_NONBLOCK != 0);
        let err = set_nonblocking(RawFd::MAX - 1).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EBADF));
    }
}
