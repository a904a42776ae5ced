//! The HTTP/1.1 "hello" servers `servers.sh` runs under `wrk`: keep-alive, `GET /`
//! answered with a fixed 13-byte body, the request head parsed with `httparse` by both.
//!
//! * `aloop`: written the plain asyncio way: `start_server`, then per request
//!   `readuntil(b"\r\n\r\n")`, parse the head, `write(response)`, `await drain()`.
//! * `aloop-into`: the same, but `readuntil_into` a `Vec` the connection keeps (no
//!   allocation per request).
//! * `tokio-ct`: how a tokio user writes it: `read_buf` into a `Vec`, parse every
//!   complete head in it, one `write_all` of the responses.
//!
//! GET only: a request with another method gets 405 and the connection is closed (so
//! no request body is ever left to skip); HTTP/1.0 or `Connection: close` closes after
//! the response.

use aloop::{StreamReader, StreamWriter};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const OK: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
const OK_CLOSE: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\nHello, World!";
const NOT_FOUND: &[u8] = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
const NOT_FOUND_CLOSE: &[u8] =
    b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
const NOT_ALLOWED: &[u8] =
    b"HTTP/1.1 405 Method Not Allowed\r\nAllow: GET\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
pub(super) const BAD_REQUEST: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// What to answer a request head, and whether the connection stays open after it.
pub(super) struct Answer {
    pub(super) response: &'static [u8],
    pub(super) keep_alive: bool,
}

pub(super) enum Head {
    /// Not a whole head yet.
    Partial,
    /// A head of `len` bytes and its answer.
    Complete(usize, Answer),
}

/// Parses the head at the start of `buf` and decides the answer.
pub(super) fn parse(buf: &[u8]) -> Head {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Head::Partial,
        Err(_) => {
            let answer = Answer {
                response: BAD_REQUEST,
                keep_alive: false,
            };
            return Head::Complete(buf.len(), answer);
        }
    };
    if req.method != Some("GET") {
        let answer = Answer {
            response: NOT_ALLOWED,
            keep_alive: false,
        };
        return Head::Complete(len, answer);
    }
    let close_asked = req.headers.iter().any(|h| {
        h.name.eq_ignore_ascii_case("connection") && h.value.eq_ignore_ascii_case(b"close")
    });
    let keep_alive = req.version == Some(1) && !close_asked;
    let response = match (req.path == Some("/"), keep_alive) {
        (true, true) => OK,
        (true, false) => OK_CLOSE,
        (false, true) => NOT_FOUND,
        (false, false) => NOT_FOUND_CLOSE,
    };
    Head::Complete(
        len,
        Answer {
            response,
            keep_alive,
        },
    )
}

/// One connection, the asyncio way: each request head, one `write` + `drain`.
async fn aloop_connection(reader: StreamReader, writer: StreamWriter) {
    // A head longer than the reader's limit (64 KiB) or a client that hangs up
    // mid-head ends the connection.
    while let Ok(head) = reader.readuntil(b"\r\n\r\n").await {
        let answer = match parse(&head) {
            Head::Complete(_, answer) => answer,
            Head::Partial => unreachable!("readuntil returned a whole head"),
        };
        if writer.write(answer.response).is_err()
            || writer.drain().await.is_err()
            || !answer.keep_alive
        {
            break;
        }
    }
    writer.close();
}

/// `aloop_connection` reading each head into one `Vec` it keeps.
async fn aloop_connection_into(reader: StreamReader, writer: StreamWriter) {
    let mut head = Vec::new();
    loop {
        head.clear();
        if reader.readuntil_into(b"\r\n\r\n", &mut head).await.is_err() {
            break;
        }
        let answer = match parse(&head) {
            Head::Complete(_, answer) => answer,
            Head::Partial => unreachable!("readuntil_into read a whole head"),
        };
        if writer.write(answer.response).is_err()
            || writer.drain().await.is_err()
            || !answer.keep_alive
        {
            break;
        }
    }
    writer.close();
}

/// aloop, the asyncio way, the head into a `Vec` it keeps.
pub async fn aloop_into(port: u16) {
    super::aloop_serve(aloop_connection_into, port).await;
}

/// aloop, the asyncio way.
pub async fn aloop_plain(port: u16) {
    super::aloop_serve(aloop_connection, port).await;
}

/// aloop on a `Runtime` of `loops` loops: one `SO_REUSEPORT` listener each, the same
/// connection code (issue 16's thread-per-core server).
pub fn aloop_runtime(port: u16, loops: usize) {
    let rt = aloop::Runtime::new(loops).expect("the runtime's loops");
    let server = rt
        .start_server(|| aloop_connection, "127.0.0.1", port)
        .expect("start_server on every loop");
    super::listening(server.local_addr().port());
    loop {
        std::thread::park(); // until the process ends (exit_after)
    }
}

/// tokio current_thread: a `Vec` buffer, every complete head, one `write_all`.
pub async fn tokio_batched(port: u16) {
    let listener = super::tokio_listen(port).await;
    loop {
        let Ok((mut s, _)) = listener.accept().await else {
            continue;
        };
        let _ = s.set_nodelay(true);
        tokio::spawn(async move {
            let (mut buf, mut out) = (Vec::with_capacity(4096), Vec::new());
            loop {
                match s.read_buf(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let (mut used, mut close) = (0, false);
                while !close {
                    match parse(&buf[used..]) {
                        Head::Partial => break,
                        Head::Complete(len, answer) => {
                            out.extend_from_slice(answer.response);
                            used += len;
                            close = !answer.keep_alive;
                        }
                    }
                }
                if buf.len() - used > 64 * 1024 {
                    out.extend_from_slice(BAD_REQUEST); // a head past 64 KiB, as aloop's limit
                    close = true;
                }
                buf.drain(..used);
                if !out.is_empty() {
                    if s.write_all(&out).await.is_err() {
                        break;
                    }
                    out.clear();
                }
                if close {
                    break;
                }
            }
        });
    }
}
