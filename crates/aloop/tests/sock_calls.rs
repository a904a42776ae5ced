//! asyncio's low-level socket calls on sockets the caller owns: `sock_recv`,
//! `sock_recv_into`, `sock_recvfrom`, `sock_sendall`, `sock_sendto`, `sock_connect`,
//! `sock_accept`, and `sock_sendfile` / `sendfile` (sendfile(2), and the read-and-send
//! fallback through a child's pipe; `write` refused while `sendfile` runs).

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::PathBuf;

fn pattern(len: usize, seed: u32) -> Vec<u8> {
    (0..len as u32)
        .map(|i| (i.wrapping_mul(31).wrapping_add(seed) % 251) as u8)
        .collect()
}

/// A file with `bytes`, deleted when dropped.
struct TempFile(PathBuf, std::fs::File);

impl TempFile {
    fn new(bytes: &[u8]) -> TempFile {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "aloop-sendfile-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::File::create(&path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
        let file = std::fs::File::open(&path).unwrap();
        TempFile(path, file)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (b, _) = l.accept().unwrap();
    (a, b)
}

#[test]
fn sendall_and_recv_move_8_mib_each_way_byte_exact() {
    aloop::run(async {
        let lp = aloop::get_running_loop().unwrap();
        let (ours, mut theirs) = pair();
        let out = pattern(8 << 20, 1);
        let expect = out.clone();
        let peer = std::thread::spawn(move || {
            let mut got = vec![0; expect.len()];
            theirs.read_exact(&mut got).unwrap();
            assert!(got == expect, "the peer got every byte in order");
            theirs.write_all(&pattern(8 << 20, 2)).unwrap();
            theirs
        });
        lp.sock_sendall(&ours, &out).await.unwrap();
        let mut got = Vec::new();
        let mut buf = vec![0; 100_000];
        while got.len() < 8 << 20 {
            let n = lp.sock_recv_into(&ours, &mut buf).await.unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
        assert!(got == pattern(8 << 20, 2));
        drop(peer.join().unwrap());
        assert_eq!(lp.sock_recv(&ours, 10).await.unwrap(), b"", "end-of-stream");
    });
}

#[test]
fn datagrams_with_sendto_and_recvfrom() {
    aloop::run(async {
        let lp = aloop::get_running_loop().unwrap();
        let a = UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = b.local_addr().unwrap();
        for i in 0..100u32 {
            let msg = i.to_be_bytes();
            assert_eq!(lp.sock_sendto(&a, &msg, to).await.unwrap(), 4);
            let (got, from) = lp.sock_recvfrom(&b, 64).await.unwrap();
            assert_eq!(got, msg);
            assert_eq!(from, a.local_addr().unwrap());
        }
    });
}

#[test]
fn connect_and_accept_and_their_errors() {
    aloop::run(async {
        let lp = aloop::get_running_loop().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let sock =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let accept = lp.sock_accept(&listener);
        let connect = lp.sock_connect(&sock, addr);
        let (accepted, connected) = futures_util::join!(accept, connect);
        connected.unwrap();
        let (stream, peer) = accepted.unwrap();
        assert_eq!(peer, sock.local_addr().unwrap().as_socket().unwrap());
        lp.sock_sendall(&stream, b"welcome").await.unwrap();
        assert_eq!(lp.sock_recv(&sock, 7).await.unwrap(), b"welcome");

        drop(listener);
        let refused =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        let err = lp.sock_connect(&refused, addr).await.unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::ECONNREFUSED), "{err}");
    });
}

#[test]
fn sock_sendfile_sends_64_mib_byte_exact_and_honours_offset_and_count() {
    let data = pattern(64 << 20, 7);
    let file = TempFile::new(&data);
    aloop::run(async move {
        let lp = aloop::get_running_loop().unwrap();
        let (ours, mut theirs) = pair();
        let expect_len = data.len();
        let peer = std::thread::spawn(move || {
            let mut got = vec![0; expect_len + 1000];
            theirs.read_exact(&mut got).unwrap();
            got
        });
        let sent = lp.sock_sendfile(&ours, &file.1, 0, None).await.unwrap();
        assert_eq!(sent, data.len() as u64);
        let sent = lp
            .sock_sendfile(&ours, &file.1, 5000, Some(1000))
            .await
            .unwrap();
        assert_eq!(sent, 1000);
        let got = peer.join().unwrap();
        assert!(got[..data.len()] == data[..], "64 MiB byte-exact");
        assert!(got[data.len()..] == data[5000..6000], "offset and count");
        // Past the end: nothing to send.
        assert_eq!(
            lp.sock_sendfile(&ours, &file.1, data.len() as u64 + 10, None)
                .await
                .unwrap(),
            0
        );
    });
}

#[test]
fn sendfile_on_a_stream_and_through_the_fallback_on_a_pipe() {
    let data = pattern(3 << 20, 9);
    let file = TempFile::new(&data);
    aloop::run(async move {
        let lp = aloop::get_running_loop().unwrap();
        // A TCP stream: sendfile(2), after bytes already queued on the writer.
        let server = aloop::start_server(
            |r: aloop::StreamReader, w: aloop::StreamWriter| async move {
                let got = r.read_to_eof().await.unwrap();
                w.write(&(got.len() as u64).to_be_bytes()).unwrap();
                w.write(&got).unwrap();
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let (r, w) = aloop::open_connection("127.0.0.1", server.sockets()[0].port())
            .await
            .unwrap();
        w.write(b"head:").unwrap();
        assert_eq!(
            lp.sendfile(&w, &file.1, 0, None).await.unwrap(),
            data.len() as u64
        );
        w.write_eof().unwrap();
        let back = r.read_to_eof().await.unwrap();
        assert_eq!(&back[..8], &((data.len() + 5) as u64).to_be_bytes());
        assert_eq!(&back[8..13], b"head:");
        assert!(
            back[13..] == data[..],
            "the queued bytes first, then the file"
        );
        server.close();

        // A child's stdin is a pipe: sendfile(2) cannot be used, the fallback reads
        // and writes.
        let mut cat = aloop::create_subprocess_exec("cat", [] as [&str; 0])
            .stdin(aloop::subprocess::Stdio::Pipe)
            .stdout(aloop::subprocess::Stdio::Pipe)
            .await
            .unwrap();
        let stdin = cat.stdin.take().unwrap();
        let reading = aloop::create_task(async move {
            let out = cat.stdout.take().unwrap();
            out.read_to_eof().await
        });
        assert_eq!(
            lp.sendfile(&stdin, &file.1, 10, Some(1 << 20))
                .await
                .unwrap(),
            1 << 20
        );
        stdin.close();
        let echoed = reading.await.unwrap().unwrap();
        assert!(echoed[..] == data[10..10 + (1 << 20)]);
    });
}

#[test]
fn a_socket_already_watched_by_the_loop_is_refused_with_eexist() {
    aloop::run(async {
        let lp = aloop::get_running_loop().unwrap();
        let (ours, _theirs) = pair();
        use std::os::unix::io::AsRawFd;
        lp.add_reader(ours.as_raw_fd(), || {}).unwrap();
        let err = lp.sock_recv(&ours, 10).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{err}");
        assert!(lp.remove_reader(ours.as_raw_fd()));
    });
}

#[test]
fn sock_sendfile_refuses_a_datagram_socket_before_sending() {
    let file = TempFile::new(b"0123456789");
    aloop::run(async move {
        let lp = aloop::get_running_loop().unwrap();
        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.connect(peer.local_addr().unwrap()).unwrap();
        // Small enough for one datagram: only the type check can refuse it.
        let err = lp
            .sock_sendfile(&sock, &file.1, 0, Some(10))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{err}");
        peer.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 64];
        let nothing = peer.recv(&mut buf).unwrap_err();
        assert_eq!(nothing.kind(), io::ErrorKind::WouldBlock);
    });
}

#[test]
fn writes_and_a_second_sendfile_are_refused_while_sendfile_runs() {
    let data = pattern(4 << 20, 3);
    let file = std::rc::Rc::new(TempFile::new(&data));
    aloop::run(async move {
        let lp = aloop::get_running_loop().unwrap();
        let server = aloop::start_server(
            |r: aloop::StreamReader, w: aloop::StreamWriter| async move {
                let got = r.read_to_eof().await.unwrap();
                w.write(&got).unwrap();
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let (r, w) = aloop::open_connection("127.0.0.1", server.sockets()[0].port())
            .await
            .unwrap();
        let (l, w2, f) = (lp.clone(), w.clone(), file.clone());
        let sending = aloop::create_task(async move { l.sendfile(&w2, &f.1, 0, None).await });
        // Let it start: it is now past its first write and waiting for the socket.
        aloop::sleep(std::time::Duration::ZERO).await;
        assert!(!sending.done(), "4 MiB do not fit in the socket buffers");
        let err = w.write(b"in the middle").unwrap_err();
        assert!(err.to_string().contains("sendfile"), "{err}");
        let err = lp.sendfile(&w, &file.1, 0, None).await.unwrap_err();
        assert!(err.to_string().contains("sendfile"), "{err}");
        assert_eq!(sending.await.unwrap().unwrap(), data.len() as u64);
        w.write(b"after").unwrap();
        w.write_eof().unwrap();
        let back = r.read_to_eof().await.unwrap();
        assert!(back[..data.len()] == data[..], "the file, whole");
        assert_eq!(&back[data.len()..], b"after");
        server.close();
    });
}
