//! `SendfileMixin` over TLS (the facade's `tls` feature): `sendfile` reads the file and
//! writes it through the session, as asyncio's fallback does. Neighbours: `sock.rs`,
//! `transport.rs`.

use aloop::get_running_loop;
use aloop::tls::{ClientConfig, ServerConfig};
use aloop_tests::tls_certs::localhost;

use super::transport::{pre_and_post_data, prepare_sendfile};
use super::{bounded, data, data_file, tell};

/// CPython's `simple_server_sslcontext` / `simple_client_sslcontext`: a certificate for
/// 127.0.0.1, and a client that trusts its CA.
fn tls_pair() -> (ServerConfig, ClientConfig) {
    let (ca, leaf) = localhost();
    let server = ServerConfig::from_pem(leaf.cert_pem.as_bytes(), leaf.key_pem.as_bytes()).unwrap();
    let client = ClientConfig::with_root_pem(ca.cert_pem().as_bytes())
        .unwrap()
        .server_hostname("127.0.0.1");
    (server, client)
}

/// The whole file over TLS. Difference: the file's position is not moved.
#[aloop::test]
async fn sendfile_sendfile_sendfile_ssl() {
    let lp = get_running_loop().unwrap();
    let file = data_file();
    let (srv, cli) = prepare_sendfile(0, Some(tls_pair())).await;
    let ret = bounded(lp.sendfile_transport(&cli.transport, &file, 0, None))
        .await
        .unwrap();
    cli.close_and_finish(&srv).await;
    assert_eq!(ret, data().len() as u64);
    assert!(srv.received() == data(), "the file did not arrive as it is");
    assert_eq!(tell(&file), 0);
}

#[aloop::test]
async fn sendfile_sendfile_sendfile_ssl_pre_and_post_data() {
    let (prefix, suffix) = (b"zxcvbnm".repeat(1024), b"0987654321".repeat(1024));
    pre_and_post_data(Some(tls_pair()), prefix, suffix).await;
}

#[aloop::test]
async fn sendfile_sendfile_sendfile_ssl_partial() {
    let lp = get_running_loop().unwrap();
    let file = data_file();
    let (srv, cli) = prepare_sendfile(0, Some(tls_pair())).await;
    let ret = bounded(lp.sendfile_transport(&cli.transport, &file, 1000, Some(100)))
        .await
        .unwrap();
    cli.close_and_finish(&srv).await;
    assert_eq!(ret, 100);
    assert_eq!(srv.received(), data()[1000..1100]);
    assert_eq!(tell(&file), 0);
}

/// The server closes once it has the whole file; the client does not close first, and
/// its `sendfile` still succeeds.
#[aloop::test]
async fn sendfile_sendfile_sendfile_ssl_close_peer_after_receiving() {
    let lp = get_running_loop().unwrap();
    let file = data_file();
    let (srv, cli) = prepare_sendfile(data().len(), Some(tls_pair())).await;
    let ret = bounded(lp.sendfile_transport(&cli.transport, &file, 0, None))
        .await
        .unwrap();
    bounded(srv.done.wait()).await;
    assert_eq!(ret, data().len() as u64);
    assert!(srv.received() == data(), "the file did not arrive as it is");
    assert_eq!(tell(&file), 0);
    cli.close_and_finish(&srv).await;
}
