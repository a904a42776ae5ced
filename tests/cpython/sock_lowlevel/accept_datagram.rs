//! `sock_accept` and the datagram calls (`sock_sendto`, `sock_recvfrom`,
//! `sock_recvfrom_into`). Neighbour: `client.rs`.

use std::io;
use std::time::Duration;

use aloop::get_running_loop;

use super::{bounded, tcp_socket, udp_echo};

/// The accepted socket is non-blocking (CPython: `gettimeout() == 0`) and the addresses
/// match both ends.
#[aloop::test]
async fn sock_lowlevel_base_sock_sock_accept() {
    let lp = get_running_loop().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (conn, addr) = bounded(lp.sock_accept(&listener)).await.unwrap();
    assert!(socket2::SockRef::from(&conn).nonblocking().unwrap());
    assert_eq!(addr, client.local_addr().unwrap());
    assert_eq!(client.peer_addr().unwrap(), listener.local_addr().unwrap());
}

/// A `sock_accept` given up by a timeout leaves nothing behind: once the listener is
/// closed, connecting to its address is refused.
#[aloop::test]
async fn sock_lowlevel_base_sock_cancel_sock_accept() {
    let lp = get_running_loop().unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let timed_out = aloop::timeout(Duration::from_millis(100), lp.sock_accept(&listener)).await;
    assert!(timed_out.is_err(), "nobody connected, yet: {timed_out:?}");
    drop(listener);
    let client = tcp_socket();
    let err = bounded(lp.sock_connect(&client, addr)).await.unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::ConnectionRefused, "{err:?}");
}

#[aloop::test]
async fn sock_lowlevel_base_sock_recvfrom() {
    let lp = get_running_loop().unwrap();
    let server = udp_echo(1);
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let data = vec![1u8; 4096];
    assert_eq!(
        bounded(lp.sock_sendto(&sock, &data, server)).await.unwrap(),
        4096
    );
    let (received, from) = bounded(lp.sock_recvfrom(&sock, 4096)).await.unwrap();
    assert_eq!(received, data);
    assert_eq!(from, server);
}

/// Into a buffer of the datagram's size, then into the first 4096 bytes of a larger one
/// (CPython's `nbytes` argument).
#[aloop::test]
async fn sock_lowlevel_base_sock_recvfrom_into() {
    let lp = get_running_loop().unwrap();
    let server = udp_echo(2);
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let data = vec![1u8; 4096];

    let mut buf = vec![0u8; 4096];
    bounded(lp.sock_sendto(&sock, &data, server)).await.unwrap();
    let (n, from) = bounded(lp.sock_recvfrom_into(&sock, &mut buf))
        .await
        .unwrap();
    assert_eq!(n, 4096);
    assert_eq!(buf, data);
    assert_eq!(from, server);

    let mut buf = vec![0u8; 8192];
    bounded(lp.sock_sendto(&sock, &data, server)).await.unwrap();
    let (n, from) = bounded(lp.sock_recvfrom_into(&sock, &mut buf[..4096]))
        .await
        .unwrap();
    assert_eq!(n, 4096);
    assert_eq!(buf[..4096], data[..]);
    assert!(buf[4096..].iter().all(|&b| b == 0));
    assert_eq!(from, server);
}
