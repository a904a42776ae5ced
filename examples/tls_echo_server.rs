//! A TLS echo server: `start_server_with(.., ServerOptions { ssl: Some(..), .. })`;
//! every line a client sends comes back. The handshake is done before the callback
//! runs; the callback reads and writes plain text.
//!
//! Run: `cargo run --release --example tls_echo_server [-- PORT] [--cert FILE --key FILE]`
//! (default port 8443). Without `--cert`/`--key` it makes a certificate for
//! `localhost` at start and writes it to a file, so a client can trust it:
//!
//! ```text
//! openssl s_client -connect 127.0.0.1:8443 -CAfile /tmp/aloop-tls-echo-cert.pem -servername localhost
//! ```

use std::io;

use aloop::tls::ServerConfig;
use aloop::{ServerOptions, StreamReader, StreamWriter};

async fn echo(reader: StreamReader, writer: StreamWriter) -> io::Result<()> {
    let peer = writer
        .peername()
        .map_or_else(|| "?".to_owned(), |a| a.to_string());
    if let Some(info) = writer.tls_info() {
        println!(
            "{peer}: {:?}, {:?}, SNI {:?}",
            info.protocol_version.unwrap(),
            info.cipher_suite.unwrap(),
            info.server_name
        );
    }
    let mut lines = reader.lines();
    while let Some(line) = lines.next_line().await {
        writer.write(&line?)?;
        writer.drain().await?;
    }
    // close() sends close_notify: the client sees a clean end, not a truncation.
    writer.close();
    writer.wait_closed().await
}

/// The certificate and key: from files, or made now for `localhost`.
fn certificate(cert: Option<String>, key: Option<String>) -> io::Result<ServerConfig> {
    if let (Some(cert), Some(key)) = (cert, key) {
        return ServerConfig::from_pem_files(cert, key);
    }
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
        .map_err(io::Error::other)?;
    let path = std::env::temp_dir().join("aloop-tls-echo-cert.pem");
    std::fs::write(&path, made.cert.pem())?;
    println!(
        "certificate for localhost made at start: {}",
        path.display()
    );
    ServerConfig::from_pem(
        made.cert.pem().as_bytes(),
        made.signing_key.serialize_pem().as_bytes(),
    )
}

fn main() -> io::Result<()> {
    let (mut port, mut cert, mut key) = (8443u16, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--cert" => cert = args.next(),
            "--key" => key = args.next(),
            _ => {
                port = arg
                    .parse()
                    .map_err(|e| io::Error::other(format!("bad port {arg:?}: {e}")))?
            }
        }
    }
    let tls = certificate(cert, key)?;
    aloop::run(async move {
        let options = ServerOptions {
            ssl: Some(tls),
            ..Default::default()
        };
        let server = aloop::start_server_with(echo, "127.0.0.1", port, options).await?;
        println!("TLS echo server listening on {}", server.sockets()[0]);
        server.serve_forever().await
    })
}
