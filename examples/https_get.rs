//! The seed's concurrent GETs, over TLS: 20 `GET` requests at once with
//! `open_connection_with(.., ConnectOptions { ssl: Some(..), .. })`, status lines
//! printed in completion order.
//!
//! With no argument it starts its own HTTPS server on 127.0.0.1, with a certificate
//! for `localhost` generated at start (`rcgen`), and the client trusts only that
//! certificate (Python's `create_default_context(cadata=...)`). With a URL it fetches
//! that URL once, trusting the operating system's roots (`ClientConfig::new()`, as
//! `ssl.create_default_context()`).
//!
//! Run: `cargo run --release --example https_get [-- https://host[:port]/path]`

use std::io;
use std::time::Instant;

use aloop::tls::{ClientConfig, ServerConfig};
use aloop::{ConnectOptions, ServerOptions, StreamReader, StreamWriter};

const REQUESTS: usize = 20;

/// `https://host[:port]/path` as (host, port, path).
fn parse_url(url: &str) -> Result<(String, u16, String), String> {
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| format!("{url}: only https:// URLs are supported"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().map_err(|_| format!("{url}: bad port {p:?}"))?),
        None => (authority, 443),
    };
    let path = if path.is_empty() { "/" } else { path };
    Ok((host.to_owned(), port, path.to_owned()))
}

/// The local server: reads the request head, answers, closes (with close_notify).
async fn serve(reader: StreamReader, writer: StreamWriter) -> io::Result<()> {
    let request = reader.readline().await?;
    while !matches!(&reader.readline().await?[..], b"\r\n" | b"\n" | b"") {}
    let body = format!(
        "Hello over TLS!\nYou sent: {}\n",
        String::from_utf8_lossy(&request).trim_end()
    );
    writer.write(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )?;
    writer.close();
    writer.wait_closed().await
}

/// One `GET`; the status line and the response's size.
async fn fetch(
    tls: ClientConfig,
    host: String,
    port: u16,
    path: String,
) -> io::Result<(String, usize)> {
    let options = ConnectOptions {
        ssl: Some(tls),
        ..Default::default()
    };
    let (reader, writer) = aloop::open_connection_with(&host, port, options).await?;
    writer.write(
        format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: aloop-https_get\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )?;
    let status = reader.readline().await?;
    let rest = reader.read_to_eof().await?;
    writer.close();
    Ok((
        String::from_utf8_lossy(&status).trim_end().to_owned(),
        status.len() + rest.len(),
    ))
}

fn main() -> io::Result<()> {
    let url = std::env::args().nth(1);
    aloop::run(async move {
        let Some(url) = url else {
            return local_demo().await;
        };
        let (host, port, path) = parse_url(&url).map_err(io::Error::other)?;
        let (status, size) = fetch(ClientConfig::new()?, host, port, path).await?;
        println!("{url}: {status} ({size} bytes)");
        Ok(())
    })
}

async fn local_demo() -> io::Result<()> {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
        .map_err(io::Error::other)?;
    let (cert_pem, key_pem) = (cert.cert.pem(), cert.signing_key.serialize_pem());
    let server_tls = ServerConfig::from_pem(cert_pem.as_bytes(), key_pem.as_bytes())?;
    let options = ServerOptions {
        ssl: Some(server_tls),
        ..Default::default()
    };
    let server = aloop::start_server_with(serve, "127.0.0.1", 0, options).await?;
    let port = server.sockets()[0].port();
    println!("local HTTPS server on 127.0.0.1:{port}, certificate for localhost made at start");

    // Trust only that certificate; check it against the name "localhost".
    let client_tls = ClientConfig::with_root_pem(cert_pem.as_bytes())?.server_hostname("localhost");
    let start = Instant::now();
    let requests = (0..REQUESTS).map(|n| {
        let tls = client_tls.clone();
        async move {
            (
                n,
                fetch(tls, "127.0.0.1".into(), port, format!("/page/{n}")).await,
            )
        }
    });
    let mut finished = aloop::as_completed(requests, None);
    while let Some(item) = finished.next().await {
        let ms = start.elapsed().as_secs_f64() * 1e3;
        match item {
            Ok(Ok((n, Ok((status, size))))) => {
                println!("{ms:>7.1} ms  GET /page/{n:<2} {status} ({size} bytes)")
            }
            Ok(Ok((n, Err(e)))) => println!("{ms:>7.1} ms  GET /page/{n:<2} failed: {e}"),
            Ok(Err(e)) => println!("{ms:>7.1} ms  a request task failed: {e}"),
            Err(e) => println!("{ms:>7.1} ms  {e}"),
        }
    }
    server.close();
    server.wait_closed().await;
    Ok(())
}
