//! `SockSendfileMixin`: `loop.sock_sendfile` on a socket connected with `sock_connect`,
//! received by a protocol server. Neighbours: `transport.rs`, `tls.rs`.

use std::net::Shutdown;

use aloop::get_running_loop;
use socket2::{Domain, Socket, Type};

use super::{bounded, data, data_file, file_with, one_server, tell, OneServer, BUF_SIZE};

/// CPython's `prepare_socksendfile`: the server, and a client socket connected to it
/// with `sock_connect`, its send buffer reduced.
async fn prepare_socksendfile() -> (OneServer, Socket) {
    let lp = get_running_loop().unwrap();
    let srv = one_server(&lp, 0, None).await;
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    bounded(lp.sock_connect(&sock, srv.addr)).await.unwrap();
    sock.set_send_buffer_size(BUF_SIZE).unwrap();
    (srv, sock)
}

/// Closes the client socket and waits for the server to see the end.
async fn close_and_finish(srv: &OneServer, sock: Socket) {
    sock.shutdown(Shutdown::Both).ok();
    drop(sock);
    srv.finish().await;
}

/// The whole file. Difference (the rustdoc of `sock_sendfile`): the file's own position
/// is not moved (asyncio leaves it after the last byte sent).
#[aloop::test]
async fn sendfile_sock_sendfile_sock_sendfile_success() {
    let lp = get_running_loop().unwrap();
    let file = data_file();
    let (srv, sock) = prepare_socksendfile().await;
    let ret = bounded(lp.sock_sendfile(&sock, &file, 0, None))
        .await
        .unwrap();
    close_and_finish(&srv, sock).await;
    assert_eq!(ret, data().len() as u64);
    assert_eq!(srv.received(), data());
    assert_eq!(tell(&file), 0);
}

/// Bytes 1000..3000. Difference: the file's position is not moved.
#[aloop::test]
async fn sendfile_sock_sendfile_sock_sendfile_with_offset_and_count() {
    let lp = get_running_loop().unwrap();
    let file = data_file();
    let (srv, sock) = prepare_socksendfile().await;
    let ret = bounded(lp.sock_sendfile(&sock, &file, 1000, Some(2000)))
        .await
        .unwrap();
    close_and_finish(&srv, sock).await;
    assert_eq!(srv.received(), data()[1000..3000]);
    assert_eq!(tell(&file), 0);
    assert_eq!(ret, 2000);
}

#[aloop::test]
async fn sendfile_sock_sendfile_sock_sendfile_zero_size() {
    let lp = get_running_loop().unwrap();
    let empty = file_with(b"");
    let (srv, sock) = prepare_socksendfile().await;
    let ret = bounded(lp.sock_sendfile(&sock, &empty, 0, None))
        .await
        .unwrap();
    close_and_finish(&srv, sock).await;
    assert_eq!(ret, 0);
    assert!(srv.received().is_empty());
    assert_eq!(tell(&empty), 0);
}

/// `sock_sendall`, `sock_sendfile`, `sock_sendall` again: the bytes arrive in that
/// order. Difference: the file's position is not moved.
#[aloop::test]
async fn sendfile_sock_sendfile_sock_sendfile_mix_with_regular_send() {
    let lp = get_running_loop().unwrap();
    let file = data_file();
    let buf: Vec<u8> = b"mix_regular_send".repeat(4 * 1024);
    let (srv, sock) = prepare_socksendfile().await;
    bounded(lp.sock_sendall(&sock, &buf)).await.unwrap();
    let ret = bounded(lp.sock_sendfile(&sock, &file, 0, None))
        .await
        .unwrap();
    bounded(lp.sock_sendall(&sock, &buf)).await.unwrap();
    close_and_finish(&srv, sock).await;
    assert_eq!(ret, data().len() as u64);
    let expected = [buf.clone(), data(), buf].concat();
    assert!(srv.received() == expected, "the bytes arrived out of order");
    assert_eq!(tell(&file), 0);
}
