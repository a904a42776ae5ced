//! The TLS examples run as child processes: `https_get` fetches its 20 pages from its
//! own HTTPS server, and `tls_echo_server` echoes a line to an aloop TLS client that
//! trusts the certificate the server wrote at start.

mod common;

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn https_get_fetches_twenty_pages_over_tls() {
    let out = common::run_bounded(
        &mut Command::new(common::example_binary("https_get")),
        Duration::from_secs(60),
    );
    assert!(out.status.success(), "https_get failed: {out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let ok = stdout
        .lines()
        .filter(|l| l.contains("HTTP/1.1 200 OK"))
        .count();
    assert_eq!(ok, 20, "20 status lines: {stdout}");
    for n in 0..20 {
        assert!(
            stdout.contains(&format!("GET /page/{n:<2} HTTP/1.1 200 OK")),
            "page {n}: {stdout}"
        );
    }
}

#[test]
fn tls_echo_server_echoes_to_a_client_trusting_its_certificate() {
    let mut child = Command::new(common::example_binary("tls_echo_server"))
        .arg("0")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let cert_line = lines.next().unwrap().unwrap();
    let cert_path = cert_line.rsplit(": ").next().unwrap().to_owned();
    let listen_line = lines.next().unwrap().unwrap();
    let port: u16 = listen_line.rsplit(':').next().unwrap().parse().unwrap();
    let echoed = aloop::run(async move {
        let tls =
            aloop::tls::ClientConfig::with_root_file(&cert_path)?.server_hostname("localhost");
        let options = aloop::ConnectOptions {
            ssl: Some(tls),
            ..Default::default()
        };
        let (r, w) = aloop::open_connection_with("127.0.0.1", port, options).await?;
        w.write(b"hello, TLS echo\n")?;
        let line = aloop::wait_for(r.readline(), Duration::from_secs(20))
            .await
            .map_err(std::io::Error::other)??;
        w.close();
        std::io::Result::Ok(line)
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(echoed.unwrap(), b"hello, TLS echo\n");
}
