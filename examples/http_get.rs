//! The seed's example: 20 concurrent HTTP `GET` requests with `open_connection`, each
//! response read line by line with `reader.lines()` (asyncio's `async for line in
//! reader`), results printed in completion order with `as_completed`; then the same 20
//! requests one after another, to show what concurrency bought.
//!
//! There is no internet here, so by default the example starts its own small HTTP
//! server with `start_server` on 127.0.0.1, in the same loop, answering each request
//! after 100 ms plus up to 60 ms of jitter (so the concurrency is visible and the
//! completion order differs from the request order). Give a URL to fetch elsewhere.
//!
//! Run: `cargo run --release --example http_get [-- http://host[:port]/path]`

use std::cell::Cell;
use std::io;
use std::rc::Rc;
use std::time::{Duration, Instant};

use aloop::{StreamReader, StreamWriter};

const REQUESTS: usize = 20;
const SERVER_DELAY: Duration = Duration::from_millis(100);

#[derive(Debug, Clone)]
struct Url {
    host: String,
    port: u16,
    path: String,
}

/// Parses `http://host[:port]/path` (plain HTTP only; no TLS in this example).
fn parse_url(url: &str) -> Result<Url, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().map_err(|_| format!("{url}: bad port {p:?}"))?),
        None => (authority, 80),
    };
    if host.is_empty() {
        return Err(format!("{url}: no host"));
    }
    Ok(Url {
        host: host.trim_matches(['[', ']']).to_owned(),
        port,
        path: path.to_owned(),
    })
}

/// The local server: reads the request head, waits a little, answers, closes.
async fn serve(reader: StreamReader, writer: StreamWriter, delay: Duration) {
    let mut lines = reader.lines();
    let mut request = String::new();
    while let Some(Ok(line)) = lines.next_line().await {
        if request.is_empty() {
            request = String::from_utf8_lossy(&line).trim_end().to_owned();
        }
        if line == b"\r\n" || line == b"\n" {
            break;
        }
    }
    aloop::sleep(delay).await;
    let body = format!("Hello from aloop!\nYou sent: {request}\nBye.\n");
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if writer.write(response.as_bytes()).is_ok() {
        writer.close();
        let _ = writer.wait_closed().await;
    }
}

struct Fetched {
    number: usize,
    status: String,
    lines: usize,
    bytes: usize,
}

/// One `GET`: writes the request, then reads the whole response line by line.
async fn fetch(url: Rc<Url>, number: usize) -> io::Result<Fetched> {
    let (reader, writer) = aloop::open_connection(&url.host, url.port).await?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: aloop-http_get\r\nConnection: close\r\n\r\n",
        url.path, url.host
    );
    writer.write(request.as_bytes())?;
    let mut fetched = Fetched {
        number,
        status: String::new(),
        lines: 0,
        bytes: 0,
    };
    let mut lines = reader.lines();
    while let Some(line) = lines.next_line().await {
        let line = line?;
        if fetched.lines == 0 {
            fetched.status = String::from_utf8_lossy(&line).trim_end().to_owned();
        }
        fetched.lines += 1;
        fetched.bytes += line.len();
    }
    writer.close();
    Ok(fetched)
}

fn main() {
    let arg = std::env::args().nth(1);
    aloop::run(async move {
        let (url, server) = match arg {
            Some(arg) => match parse_url(&arg) {
                Ok(url) => (url, None),
                Err(e) => return eprintln!("http_get: {e}"),
            },
            None => {
                // Deterministic jitter: the k-th connection waits 100 + (37 k mod 60) ms.
                let accepted = Rc::new(Cell::new(0u64));
                let handler = move |reader, writer| {
                    let k = accepted.get();
                    accepted.set(k + 1);
                    serve(
                        reader,
                        writer,
                        SERVER_DELAY + Duration::from_millis(k * 37 % 60),
                    )
                };
                let server = aloop::start_server(handler, "127.0.0.1", 0)
                    .await
                    .expect("could not start the local HTTP server");
                let port = server.sockets()[0].port();
                println!(
                    "local HTTP server on 127.0.0.1:{port} (answers after {}-{} ms)",
                    SERVER_DELAY.as_millis(),
                    SERVER_DELAY.as_millis() + 59
                );
                let url = Url {
                    host: "127.0.0.1".into(),
                    port,
                    path: "/".into(),
                };
                (url, Some(server))
            }
        };
        let url = Rc::new(url);
        println!(
            "GET http://{}:{}{} x {REQUESTS}, concurrently:",
            url.host, url.port, url.path
        );
        let start = Instant::now();
        let mut finished = aloop::as_completed((0..REQUESTS).map(|n| fetch(url.clone(), n)), None);
        while let Some(item) = finished.next().await {
            let ms = start.elapsed().as_secs_f64() * 1e3;
            match item {
                Ok(Ok(Ok(f))) => println!(
                    "{ms:>8.1} ms  request #{:<2} {} ({} lines, {} bytes)",
                    f.number, f.status, f.lines, f.bytes
                ),
                Ok(Ok(Err(e))) => println!("{ms:>8.1} ms  a request failed: {e}"),
                Ok(Err(e)) => println!("{ms:>8.1} ms  a request task failed: {e}"),
                Err(e) => println!("{ms:>8.1} ms  {e}"),
            }
        }
        let concurrent = start.elapsed();

        let start = Instant::now();
        let mut failed = 0;
        for n in 0..REQUESTS {
            if fetch(url.clone(), n).await.is_err() {
                failed += 1;
            }
        }
        let sequential = start.elapsed();
        println!(
            "{REQUESTS} requests: {:.1} ms concurrently, {:.1} ms one after another{} ({:.1}x)",
            concurrent.as_secs_f64() * 1e3,
            sequential.as_secs_f64() * 1e3,
            if failed > 0 {
                format!(", {failed} failed")
            } else {
                String::new()
            },
            sequential.as_secs_f64() / concurrent.as_secs_f64().max(1e-9)
        );
        if let Some(server) = server {
            server.close();
            server.wait_closed().await;
        }
    });
}
