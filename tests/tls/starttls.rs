//! STARTTLS through the facade (feature `tls`), both ends aloop: `start_tls` on
//! streams on both sides, protocols over TLS (`create_server` / `create_connection`
//! with `ssl`), `loop.start_tls` upgrading a protocol connection, and a cancelled one
//! aborting it. Helpers in `common.rs`.

use std::io;
use std::time::Duration;

use aloop::{StreamReader, StreamWriter};
use aloop_tests::tls_certs::localhost;

#[allow(dead_code)] // each binary uses part of it
mod common;

use common::*;

#[test]
fn starttls_on_streams_both_sides() {
    let (ca, leaf) = localhost();
    let server_tls = server_config(&leaf);
    aloop::run(async move {
        let server = aloop::start_server(
            move |r: StreamReader, w: StreamWriter| {
                let server_tls = server_tls.clone();
                async move {
                    assert_eq!(r.readline().await?, b"EHLO\n");
                    w.write(b"250 ok\n")?;
                    assert_eq!(r.readline().await?, b"STARTTLS\n");
                    w.write(b"220 go ahead\n")?;
                    w.start_tls(server_tls).await?;
                    let line = r.readline().await?;
                    w.write(&line.to_ascii_uppercase())?;
                    w.close();
                    w.wait_closed().await
                }
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let port = server.sockets()[0].port();
        let (r, w) = aloop::open_connection("127.0.0.1", port).await.unwrap();
        w.write(b"EHLO\n").unwrap();
        assert_eq!(r.readline().await.unwrap(), b"250 ok\n");
        assert!(w.tls_info().is_none());
        w.write(b"STARTTLS\n").unwrap();
        assert_eq!(r.readline().await.unwrap(), b"220 go ahead\n");
        w.start_tls(client_config(&ca).server_hostname("localhost"))
            .await
            .unwrap();
        assert!(w.tls_info().is_some());
        w.write(b"secret words\n").unwrap();
        assert_eq!(r.readline().await.unwrap(), b"SECRET WORDS\n");
        assert_eq!(r.read_to_eof().await.unwrap(), b"");
        // A second upgrade of the same connection is refused.
        let again = w
            .start_tls(client_config(&ca).server_hostname("localhost"))
            .await;
        assert!(again.is_err());
        server.close();
        server.wait_closed().await;
    });
}

#[test]
fn a_client_start_tls_without_a_hostname_is_refused() {
    let (ca, _leaf) = localhost();
    aloop::run(async move {
        let server = aloop::start_server(
            |r: StreamReader, _w: StreamWriter| async move {
                let _ = r.read_to_eof().await;
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let (_r, w) = aloop::open_connection("127.0.0.1", server.sockets()[0].port())
            .await
            .unwrap();
        let err = w.start_tls(client_config(&ca)).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains("server_hostname"), "{err}");
        w.close();
        server.close();
    });
}

/// A protocol that collects what it receives and notes the end; as a server
/// (`echo`), it answers each line upper-cased.
#[derive(Default)]
struct Collect {
    echo: bool,
    got: Vec<u8>,
    transport: Option<aloop::Transport>,
    lost: bool,
}

impl Collect {
    fn echoing() -> Collect {
        Collect {
            echo: true,
            ..Default::default()
        }
    }
}

impl aloop::Protocol for Collect {
    fn connection_made(&mut self, transport: aloop::Transport) {
        self.transport = Some(transport);
    }
    fn data_received(&mut self, data: &[u8]) {
        self.got.extend_from_slice(data);
        if self.echo && self.got.ends_with(b"\n") {
            if let Some(t) = &self.transport {
                let _ = t.write(&self.got.to_ascii_uppercase());
            }
            self.got.clear();
        }
    }
    fn connection_lost(&mut self, _error: Option<io::Error>) {
        self.lost = true;
    }
}

#[test]
fn protocols_over_tls_create_server_and_create_connection() {
    let (ca, leaf) = localhost();
    aloop::run(async move {
        let lp = aloop::get_running_loop().unwrap();
        let options = tls_server_options(server_config(&leaf));
        let server = lp
            .create_server(Collect::echoing, "127.0.0.1", 0, options)
            .await
            .unwrap();
        let port = server.sockets()[0].port();
        let (r, w) = connect_localhost(&ca, port).await;
        w.write(b"hello protocol\n").unwrap();
        assert_eq!(r.readline().await.unwrap(), b"HELLO PROTOCOL\n");

        // And a client protocol, with create_connection_with.
        let config = client_config(&ca).server_hostname("localhost");
        let (t, p) = lp
            .create_connection_with(
                Collect::default,
                "127.0.0.1",
                port,
                tls_connect_options(config),
            )
            .await
            .unwrap();
        assert!(t.tls_info().is_some());
        t.write(b"abc\n").unwrap();
        until(|| p.borrow().got.len() >= 4).await;
        assert_eq!(p.borrow().got, b"ABC\n");
        t.close();
        until(|| p.borrow().lost).await;
        server.close();
    });
}

#[test]
fn loop_start_tls_upgrades_a_protocol_connection() {
    let (ca, leaf) = localhost();
    let server_tls = server_config(&leaf);
    aloop::run(async move {
        let lp = aloop::get_running_loop().unwrap();
        // The server speaks plain text first, then upgrades (streams' start_tls) and
        // echoes one line.
        let server = aloop::start_server(
            move |r: StreamReader, w: StreamWriter| {
                let server_tls = server_tls.clone();
                async move {
                    w.write(b"ready\n")?;
                    w.start_tls(server_tls).await?;
                    let line = r.readline().await?;
                    w.write(&line)?;
                    w.close();
                    w.wait_closed().await
                }
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let port = server.sockets()[0].port();
        // The client is a protocol, upgraded by loop.start_tls.
        let (t, p) = lp
            .create_connection(Collect::default, "127.0.0.1", port)
            .await
            .unwrap();
        until(|| p.borrow().got == b"ready\n").await;
        p.borrow_mut().got.clear();
        let config = client_config(&ca).server_hostname("localhost");
        let t = lp.start_tls(&t, config).await.unwrap();
        assert!(t.tls_info().is_some());
        assert!(t.is_reading(), "reading resumed after the handshake");
        t.write(b"over tls\n").unwrap();
        until(|| p.borrow().lost).await;
        assert_eq!(p.borrow().got, b"over tls\n", "the echo, decrypted");
        server.close();
        server.wait_closed().await;
    });
}

#[test]
fn a_cancelled_loop_start_tls_aborts_the_connection() {
    let (ca, _leaf) = localhost();
    aloop::run(async move {
        let lp = aloop::get_running_loop().unwrap();
        // A peer that never answers the handshake.
        let silent = aloop::start_server(
            |r: StreamReader, _w: StreamWriter| async move {
                let _ = r.read_to_eof().await;
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let (t, p) = lp
            .create_connection(Collect::default, "127.0.0.1", silent.sockets()[0].port())
            .await
            .unwrap();
        let config = client_config(&ca).server_hostname("localhost");
        let gave_up = aloop::timeout(Duration::from_millis(100), lp.start_tls(&t, config)).await;
        assert!(gave_up.is_err());
        // Halfway between plain text and TLS: aborted, as a failed handshake is.
        assert!(t.is_closing());
        until(|| p.borrow().lost).await;
        silent.close();
    });
}
