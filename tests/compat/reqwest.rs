//! reqwest from aloop tasks, through `aloop::compat` (issue 19), against an HTTP/1.1
//! server written with aloop's own streams in the same loop.
//!
//! No tokio runtime is started here. Each request future is wrapped in
//! `aloop::compat::Compat` and spawned as an aloop task; reqwest (hyper underneath) then
//! finds the background tokio runtime that `Compat` enters, connects with tokio's
//! sockets there and `tokio::spawn`s each connection's task onto it. The server side is
//! plain aloop: `start_server`, `readline`, `write` + `drain`.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use aloop::compat::Compat;
use aloop::{ReadError, StreamReader, StreamWriter};

const CONCURRENT: usize = 50;
/// The `/big` body: many times the streams' 64 KiB high-water mark, so the server's
/// `drain` waits and the client reads it in many pieces.
const BIG: usize = 1 << 20;

/// What the server saw.
#[derive(Default)]
struct Seen {
    connections: Cell<usize>,
    requests: Cell<usize>,
    /// Connections whose handler has returned (the client closed, or an error).
    ended: Cell<usize>,
}

fn item_body(n: usize) -> String {
    format!("item {n}\n").repeat(n + 1)
}

fn big_body() -> Vec<u8> {
    (0..BIG).map(|i| (i % 251) as u8).collect()
}

/// One parsed request head.
struct Request {
    method: String,
    path: String,
    /// Header names in lower case.
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Reads one request head: `None` at a clean end of stream (the client closed between
/// requests), `Err` for a broken or malformed one.
async fn read_head(reader: &StreamReader) -> Result<Option<Request>, String> {
    let line = match reader.readline().await {
        Ok(line) if line.is_empty() => return Ok(None),
        Ok(line) => line,
        Err(ReadError::IncompleteRead(e)) if e.partial.is_empty() => return Ok(None),
        Err(e) => return Err(format!("request line: {e}")),
    };
    let line = String::from_utf8(line).map_err(|_| "request line is not UTF-8".to_string())?;
    let mut parts = line.trim_end_matches(['\r', '\n']).split(' ');
    let (Some(method), Some(path), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("malformed request line {line:?}"));
    };
    if version != "HTTP/1.1" {
        return Err(format!("not HTTP/1.1: {line:?}"));
    }
    let mut headers = Vec::new();
    loop {
        let line = reader
            .readline()
            .await
            .map_err(|e| format!("header line: {e}"))?;
        let line = String::from_utf8(line).map_err(|_| "header is not UTF-8".to_string())?;
        let line = line.trim_end_matches(['\r', '\n']);
        if line.is_empty() {
            break;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("malformed header {line:?}"))?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
    }
    Ok(Some(Request {
        method: method.to_string(),
        path: path.to_string(),
        headers,
    }))
}

fn respond(
    writer: &StreamWriter,
    status: &str,
    extra: &[(&str, &str)],
    body: &[u8],
    close: bool,
) -> std::io::Result<()> {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n",
        body.len()
    );
    for (name, value) in extra {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    if close {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    writer.write(head.as_bytes())?;
    writer.write(body)
}

/// One connection: requests one after the other (keep-alive) until the client closes
/// or asks for `Connection: close`.
///
/// `GET /items/N` → 200, `item N\n` × (N + 1), the request's `X-Request-Id` echoed as
/// `X-Echo-Id`; `GET /big` → 200, 1 MiB; any other GET → 404; another method → 405.
async fn serve_connection(
    reader: StreamReader,
    writer: StreamWriter,
    seen: Rc<Seen>,
) -> Result<(), String> {
    seen.connections.set(seen.connections.get() + 1);
    let outcome = async {
        while let Some(request) = read_head(&reader).await? {
            seen.requests.set(seen.requests.get() + 1);
            if request.header("host").is_none() {
                respond(&writer, "400 Bad Request", &[], b"no Host\n", true)
                    .map_err(|e| e.to_string())?;
                break;
            }
            if let Some(len) = request.header("content-length") {
                let len: usize = len.parse().map_err(|_| "bad Content-Length")?;
                reader
                    .readexactly(len)
                    .await
                    .map_err(|e| format!("body: {e}"))?;
            }
            let close = request
                .header("connection")
                .is_some_and(|v| v.eq_ignore_ascii_case("close"));
            let echo = request.header("x-request-id").unwrap_or("").to_string();
            let item = request
                .path
                .strip_prefix("/items/")
                .and_then(|n| n.parse::<usize>().ok());
            let sent = match (request.method.as_str(), request.path.as_str(), item) {
                ("GET", _, Some(n)) => respond(
                    &writer,
                    "200 OK",
                    &[("X-Echo-Id", &echo)],
                    item_body(n).as_bytes(),
                    close,
                ),
                ("GET", "/big", _) => respond(&writer, "200 OK", &[], &big_body(), close),
                ("GET", path, _) => respond(
                    &writer,
                    "404 Not Found",
                    &[],
                    format!("no such path: {path}\n").as_bytes(),
                    close,
                ),
                _ => respond(&writer, "405 Method Not Allowed", &[], b"GET only\n", true),
            };
            sent.map_err(|e| e.to_string())?;
            writer.drain().await.map_err(|e| e.to_string())?;
            if close {
                break;
            }
        }
        Ok::<(), String>(())
    }
    .await;
    writer.close();
    seen.ended.set(seen.ended.get() + 1);
    outcome
}

#[test]
fn reqwest_from_aloop_tasks_against_an_aloop_server() {
    aloop::run(async {
        let seen = Rc::new(Seen::default());
        let server = aloop::start_server(
            {
                let seen = Rc::clone(&seen);
                move |reader, writer| serve_connection(reader, writer, Rc::clone(&seen))
            },
            "127.0.0.1",
            0,
        )
        .await
        .expect("start_server");
        let base = format!("http://127.0.0.1:{}", server.sockets()[0].port());

        // No proxy from the environment: these requests are for 127.0.0.1 only.
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("reqwest client");

        // 50 concurrent GETs, each an aloop task running a `Compat`-wrapped future.
        let gets = (0..CONCURRENT).map(|i| {
            let client = client.clone();
            let url = format!("{base}/items/{i}");
            Compat::new(async move {
                let response = client
                    .get(&url)
                    .header("X-Request-Id", i.to_string())
                    .send()
                    .await?;
                let status = response.status();
                let echo = response
                    .headers()
                    .get("x-echo-id")
                    .map(|v| v.to_str().unwrap_or("?").to_string());
                let length = response.content_length();
                let body = response.text().await?;
                Ok::<_, reqwest::Error>((i, status, echo, length, body))
            })
        });
        let responses = aloop::gather(gets).await.expect("no request task panicked");
        assert_eq!(responses.len(), CONCURRENT);
        for (n, response) in responses.into_iter().enumerate() {
            let (i, status, echo, length, body) =
                response.unwrap_or_else(|e| panic!("GET /items/{n}: {e}"));
            assert_eq!(i, n);
            assert_eq!(status, reqwest::StatusCode::OK, "GET /items/{i}");
            assert_eq!(
                echo.as_deref(),
                Some(i.to_string().as_str()),
                "GET /items/{i}"
            );
            assert_eq!(body, item_body(i), "GET /items/{i}");
            assert_eq!(length, Some(body.len() as u64), "GET /items/{i}");
        }

        // A path the server does not have.
        let missing = aloop::create_task(Compat::new({
            let client = client.clone();
            let url = format!("{base}/missing");
            async move {
                let response = client.get(&url).send().await?;
                let status = response.status();
                Ok::<_, reqwest::Error>((status, response.text().await?))
            }
        }))
        .await
        .expect("the 404 task")
        .expect("GET /missing");
        assert_eq!(missing.0, reqwest::StatusCode::NOT_FOUND);
        assert_eq!(missing.1, "no such path: /missing\n");

        // A body many times the server's write buffer limit, read by reqwest in pieces.
        let big = Compat::new({
            let client = client.clone();
            let url = format!("{base}/big");
            async move { client.get(&url).send().await?.bytes().await }
        })
        .await
        .expect("GET /big");
        assert_eq!(big.len(), BIG);
        assert!(big.iter().eq(big_body().iter()), "GET /big: wrong bytes");

        let requests = seen.requests.get();
        assert_eq!(requests, CONCURRENT + 2, "requests the server answered");
        let connections = seen.connections.get();
        assert!(
            (1..=requests).contains(&connections),
            "{connections} connections for {requests} requests"
        );

        // Dropping the client drops its pool; its connections' tasks (on the background
        // tokio runtime) close their sockets, so every server-side handler sees the end
        // of stream and the server can close.
        drop(client);
        server.close();
        aloop::timeout(Duration::from_secs(30), server.wait_closed())
            .await
            .expect("the server's connections did not end after the client was dropped");
        assert_eq!(seen.ended.get(), connections);
    });
}
