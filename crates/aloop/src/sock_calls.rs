//! The low-level socket calls (asyncio's `loop.sock_recv`, `sock_recv_into`,
//! `sock_recvfrom`, `sock_recvfrom_into`, `sock_sendall`, `sock_sendto`, `sock_connect`,
//! `sock_accept`): one operation on a socket the caller owns, retried when the socket is
//! ready.
//!
//! As asyncio's selector loop does (`add_reader` per wait), each wait registers the fd
//! with the loop's reactor for that wait only, level-triggered; the socket is made
//! non-blocking first. `sendfile.rs` has `sock_sendfile` and `sendfile`.

use std::io::{self, Read, Write};
use std::mem::MaybeUninit;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::io::{AsFd, AsRawFd};

use aloop_reactor::Registration;
use socket2::SockRef;

use crate::event_loop::LoopRef;

#[derive(Clone, Copy)]
enum Wait {
    Readable,
    Writable,
}

impl LoopRef {
    /// Runs `op` until it stops returning `WouldBlock`, waiting for `wait` between
    /// tries. The registration lives only across the waits.
    async fn sock_op<R>(
        &self,
        sock: &impl AsFd,
        wait: Wait,
        mut op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        SockRef::from(sock).set_nonblocking(true)?;
        let mut registration: Option<Registration> = None;
        loop {
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                done => return done,
            }
            let reg = match &registration {
                Some(reg) => reg,
                None => registration.insert(self.register_for_sock_call(sock).await?),
            };
            match wait {
                Wait::Readable => reg.readable().await?,
                Wait::Writable => reg.writable().await?,
            }
        }
    }

    /// Registers the fd for one call's waits. A call cancelled in this same pass of the
    /// loop still holds its registration until its task's cancellation step drops it
    /// (asyncio's `add_reader` would replace it instead): the fd is then
    /// `AlreadyExists`, and one yield, which runs that step, frees it. Anything that
    /// keeps the fd registered longer (`add_reader`, a stream on the same socket) still
    /// gets the error.
    async fn register_for_sock_call(&self, sock: &impl AsFd) -> io::Result<Registration> {
        let fd = sock.as_fd().as_raw_fd();
        match Registration::new_level(self.state.reactor(), fd) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                crate::sleep(std::time::Duration::ZERO).await;
                Registration::new_level(self.state.reactor(), fd)
            }
            other => other,
        }
    }

    /// A write-side operation of `sendfile.rs`'s on a socket, retried when writable.
    pub(crate) async fn sock_write_op<R>(
        &self,
        sock: &impl AsFd,
        op: impl FnMut() -> io::Result<R>,
    ) -> io::Result<R> {
        self.sock_op(sock, Wait::Writable, op).await
    }

    /// Receives up to `n` bytes (asyncio's `loop.sock_recv`); empty at end-of-stream.
    ///
    /// ```
    /// use std::io::Write;
    /// aloop::run(async {
    ///     let lp = aloop::get_running_loop().unwrap();
    ///     let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
    ///     b.write_all(b"hello").unwrap();
    ///     assert_eq!(lp.sock_recv(&a, 100).await.unwrap(), b"hello");
    /// });
    /// ```
    pub async fn sock_recv(&self, sock: &impl AsFd, n: usize) -> io::Result<Vec<u8>> {
        let mut buf = vec![0; n];
        let got = self.sock_recv_into(sock, &mut buf).await?;
        buf.truncate(got);
        Ok(buf)
    }

    /// Receives into `buf` (asyncio's `loop.sock_recv_into`); 0 at end-of-stream.
    pub async fn sock_recv_into(&self, sock: &impl AsFd, buf: &mut [u8]) -> io::Result<usize> {
        let s = SockRef::from(sock);
        self.sock_op(sock, Wait::Readable, || (&*s).read(buf)).await
    }

    /// Receives one datagram of up to `n` bytes and its sender (asyncio's
    /// `loop.sock_recvfrom`).
    pub async fn sock_recvfrom(
        &self,
        sock: &impl AsFd,
        n: usize,
    ) -> io::Result<(Vec<u8>, SocketAddr)> {
        let mut buf = vec![0u8; n];
        let (got, from) = self.sock_recvfrom_into(sock, &mut buf).await?;
        buf.truncate(got);
        Ok((buf, from))
    }

    /// Receives one datagram into `buf` and its sender (asyncio's
    /// `loop.sock_recvfrom_into`; its `nbytes` argument is a shorter slice of `buf`).
    /// Returns the bytes written; a datagram longer than `buf` is cut to fit, as
    /// `recvfrom(2)` does.
    ///
    /// ```
    /// aloop::run(async {
    ///     let lp = aloop::get_running_loop().unwrap();
    ///     let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    ///     b.send_to(b"hello", a.local_addr().unwrap()).unwrap();
    ///     let mut buf = [0u8; 16];
    ///     let (n, from) = lp.sock_recvfrom_into(&a, &mut buf).await.unwrap();
    ///     assert_eq!(&buf[..n], b"hello");
    ///     assert_eq!(from, b.local_addr().unwrap());
    /// });
    /// ```
    pub async fn sock_recvfrom_into(
        &self,
        sock: &impl AsFd,
        buf: &mut [u8],
    ) -> io::Result<(usize, SocketAddr)> {
        let s = SockRef::from(sock);
        let (got, from) = self
            .sock_op(sock, Wait::Readable, || {
                // SAFETY: `u8` and `MaybeUninit<u8>` have the same layout, every byte
                // of `buf` is initialised already, and `recv_from` only writes bytes
                // into the slice (never uninitialised ones).
                let raw = unsafe { &mut *(&mut *buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
                s.recv_from(raw)
            })
            .await?;
        let from = from.as_socket().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                "the sender is not an IP address",
            )
        })?;
        Ok((got, from))
    }

    /// Sends all of `data` (asyncio's `loop.sock_sendall`), waiting whenever the
    /// socket's buffer is full.
    pub async fn sock_sendall(&self, sock: &impl AsFd, data: &[u8]) -> io::Result<()> {
        let s = SockRef::from(sock);
        let mut rest = data;
        while !rest.is_empty() {
            let n = self
                .sock_op(sock, Wait::Writable, || (&*s).write(rest))
                .await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            rest = &rest[n..];
        }
        Ok(())
    }

    /// Sends one datagram to `addr` (asyncio's `loop.sock_sendto`); returns the bytes
    /// sent.
    pub async fn sock_sendto(
        &self,
        sock: &impl AsFd,
        data: &[u8],
        addr: SocketAddr,
    ) -> io::Result<usize> {
        let s = SockRef::from(sock);
        let to = addr.into();
        self.sock_op(sock, Wait::Writable, || s.send_to(data, &to))
            .await
    }

    /// Connects `sock` to `addr` (asyncio's `loop.sock_connect`), waiting for the
    /// handshake; the OS's error (e.g. `ECONNREFUSED`) if it fails.
    pub async fn sock_connect(&self, sock: &impl AsFd, addr: SocketAddr) -> io::Result<()> {
        let s = SockRef::from(sock);
        s.set_nonblocking(true)?;
        match s.connect(&addr.into()) {
            Ok(()) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(e),
        }
        self.sock_op(sock, Wait::Writable, || match s.take_error()? {
            Some(e) => Err(e),
            None => match s.peer_addr() {
                Ok(_) => Ok(()),
                // Not connected yet: writable was spurious.
                Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                    Err(io::ErrorKind::WouldBlock.into())
                }
                Err(e) => Err(e),
            },
        })
        .await
    }

    /// Accepts a connection (asyncio's `loop.sock_accept`): the connected socket,
    /// non-blocking, and the peer's address.
    pub async fn sock_accept(&self, listener: &TcpListener) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = self
            .sock_op(listener, Wait::Readable, || listener.accept())
            .await?;
        stream.set_nonblocking(true)?;
        Ok((stream, peer))
    }
}
