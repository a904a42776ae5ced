//! One HTTP/1.1 connection of `http_server`, the asyncio way: `readuntil(b"\r\n\r\n")`
//! for each request head (inside a timeout), parse it (`request.rs`), read the body
//! (`readexactly`, or the chunked decoder of `chunked.rs` fed by `readuntil` and
//! `readexactly`), `write` the response (`routes.rs`, `response.rs`), `drain`, and go
//! on while the connection is kept alive. Pipelined requests need nothing special: the
//! next head is already in the reader's buffer, and the stream sends the responses of
//! one loop iteration together.

use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use aloop::sync::EventWait;
use aloop::{Event, ReadError, StreamReader, StreamWriter};

use crate::chunked::{ChunkedDecoder, Need};
use crate::request::{self, BodyFraming, Parsed, RequestError};
use crate::response::{Persistence, Response};
use crate::routes::route;

/// The server's bounds.
#[derive(Debug, Clone, Copy)]
pub struct Config {
    /// How long a client may take to send a whole request head, and to send each
    /// piece of a body. An idle keep-alive connection is closed after it too.
    pub read_timeout: Duration,
    /// The largest request body accepted (413 beyond).
    pub max_body: u64,
}

/// How much of a `Content-Length` body one read waits for (each under the timeout).
const BODY_PIECE: usize = 64 * 1024;

/// Why the connection stops.
enum Stop {
    /// Nothing more to answer: the client closed, or the server is stopping.
    Quietly,
    /// Answer with this status, then close.
    Answer(Response),
}

impl From<RequestError> for Stop {
    fn from(e: RequestError) -> Stop {
        let (status, reason) = e.status();
        Stop::Answer(Response::plain(status, reason))
    }
}

fn timed_out() -> Stop {
    Stop::Answer(Response::plain(408, "Request Timeout"))
}

/// Serves requests on one connection until it closes, the client asks to close, a
/// request is refused, or `stop` is set (the server is shutting down: the request in
/// flight is answered, with `Connection: close`).
pub async fn serve(reader: StreamReader, writer: StreamWriter, config: Config, stop: Arc<Event>) {
    let mut out = Vec::new();
    // One wait for the whole connection: registered with the event once, not once per
    // request.
    let mut stopping = pin!(stop.wait());
    loop {
        match serve_one(&reader, &writer, config, &stop, stopping.as_mut(), &mut out).await {
            Ok(true) => continue,
            Ok(false) | Err(Stop::Quietly) => break,
            Err(Stop::Answer(response)) => {
                out.clear();
                response.encode(Persistence::Close, false, &mut out);
                if writer.write(&out).is_ok() {
                    linger(&reader, &writer).await;
                }
                break;
            }
        }
    }
    // Sends what is queued, then closes (the client sees the end after the response).
    writer.close();
}

/// After refusing a request whose client may still be sending (a body too large, a
/// head cut short): end our side once the answer is sent (FIN), and read and drop what
/// still comes for a while. Closing at once with unread bytes makes the kernel send a
/// reset, which can destroy the answer before the client reads it.
async fn linger(reader: &StreamReader, writer: &StreamWriter) {
    const LINGER: Duration = Duration::from_secs(2);
    const LINGER_BYTES: usize = 4 << 20;
    if writer.write_eof().is_err() {
        return;
    }
    let _ = aloop::timeout(LINGER, async {
        let mut scratch = vec![0u8; 64 * 1024];
        let mut dropped = 0;
        while dropped < LINGER_BYTES {
            match reader.read_into(&mut scratch).await {
                Ok(0) | Err(_) => break,
                Ok(n) => dropped += n,
            }
        }
    })
    .await;
}

/// One request and its response; whether the connection stays open.
async fn serve_one(
    reader: &StreamReader,
    writer: &StreamWriter,
    config: Config,
    stop: &Event,
    stopping: Pin<&mut EventWait<'_>>,
    out: &mut Vec<u8>,
) -> Result<bool, Stop> {
    let head = read_head(reader, config.read_timeout, stopping).await?;
    let request = match request::parse_head(&head, config.max_body)? {
        Parsed::Complete(request, _) => request,
        // readuntil found the blank line, but httparse skips blank lines before a
        // request: a head of blank lines only.
        Parsed::Incomplete => return Err(RequestError::Malformed("empty request").into()),
    };
    let wants_body = request.body != BodyFraming::Length(0);
    if request.expect_continue && wants_body && request.minor_version == 1 {
        writer
            .write(b"HTTP/1.1 100 Continue\r\n\r\n")
            .map_err(|_| Stop::Quietly)?;
    }
    let body = match request.body {
        BodyFraming::Length(0) => Vec::new(),
        BodyFraming::Length(n) => read_sized_body(reader, n, config.read_timeout).await?,
        BodyFraming::Chunked => read_chunked_body(reader, config).await?,
    };
    // Once stopping, each connection ends after the response in flight.
    let persistence = match (request.keep_alive && !stop.is_set(), request.minor_version) {
        (false, _) => Persistence::Close,
        (true, 0) => Persistence::KeepAliveHttp10,
        (true, _) => Persistence::KeepAlive,
    };
    let response = route(&request, body);
    out.clear();
    response.encode(persistence, request.method == "HEAD", out);
    writer.write(out).map_err(|_| Stop::Quietly)?;
    writer.drain().await.map_err(|_| Stop::Quietly)?;
    Ok(persistence != Persistence::Close)
}

/// The next request head, within the read timeout. Between requests (nothing of the
/// next one received yet) it also gives up when `stop` is set; a head that has begun
/// arriving is read to its end.
async fn read_head(
    reader: &StreamReader,
    timeout: Duration,
    mut stopping: Pin<&mut EventWait<'_>>,
) -> Result<Vec<u8>, Stop> {
    let mut read = pin!(aloop::timeout(timeout, reader.readuntil(b"\r\n\r\n")));
    let read = poll_fn(|cx| {
        if let Poll::Ready(head) = read.as_mut().poll(cx) {
            return Poll::Ready(Some(head));
        }
        if reader.buffered() == 0 && stopping.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await;
    match read {
        None => Err(Stop::Quietly),
        Some(Ok(Ok(head))) => Ok(head),
        // An idle keep-alive connection times out quietly; half a head gets a 408.
        Some(Err(_)) if reader.buffered() == 0 => Err(Stop::Quietly),
        Some(Err(_)) => Err(timed_out()),
        // Past the reader's limit (64 KiB) with no end of head in sight.
        Some(Ok(Err(ReadError::LimitOverrun(_)))) => Err(RequestError::HeadTooLarge.into()),
        // The client closed (between requests or within one) or the socket failed.
        Some(Ok(Err(_))) => Err(Stop::Quietly),
    }
}

/// A `Content-Length` body, read in pieces, each within the timeout.
async fn read_sized_body(
    reader: &StreamReader,
    len: u64,
    timeout: Duration,
) -> Result<Vec<u8>, Stop> {
    // parse_head bounded `len` by max_body, which the server holds in memory.
    let len = usize::try_from(len).map_err(|_| Stop::from(RequestError::BodyTooLarge))?;
    let mut body = vec![0u8; len];
    for piece in body.chunks_mut(BODY_PIECE) {
        match aloop::timeout(timeout, reader.readexactly_into(piece)).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => return Err(Stop::Quietly), // the client left mid-body
            Err(_) => return Err(timed_out()),
        }
    }
    Ok(body)
}

/// A chunked body: each size line with `readuntil`, each chunk with `readexactly`, as
/// the decoder asks; never a byte past the body's end.
async fn read_chunked_body(reader: &StreamReader, config: Config) -> Result<Vec<u8>, Stop> {
    let mut decoder = ChunkedDecoder::new(config.max_body);
    let mut body = Vec::new();
    loop {
        let read = match decoder.need() {
            Need::Done => return Ok(body),
            Need::Line => aloop::timeout(config.read_timeout, reader.readuntil(b"\r\n")).await,
            Need::Bytes(n) => aloop::timeout(config.read_timeout, reader.readexactly(n)).await,
        };
        let input = match read {
            Ok(Ok(input)) => input,
            Ok(Err(ReadError::LimitOverrun(_))) => {
                return Err(RequestError::Malformed("chunk size line too long").into())
            }
            Ok(Err(_)) => return Err(Stop::Quietly),
            Err(_) => return Err(timed_out()),
        };
        decoder.feed(&input, &mut body)?;
    }
}
