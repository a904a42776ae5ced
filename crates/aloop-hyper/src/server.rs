//! Serving HTTP/1.1 with hyper on aloop's streams: [`http1_builder`] (hyper's builder
//! with aloop's timer) and [`serve_connection`] (one accepted connection), which a
//! `start_server` callback calls. The client side is `client.rs`.

use std::error::Error as StdError;

use aloop::{StreamReader, StreamWriter};
use hyper::body::{Body, Incoming};
use hyper::server::conn::http1;
use hyper::service::HttpService;

use crate::io::AloopIo;
use crate::timer::LoopTimer;

/// hyper's HTTP/1 server builder with [`LoopTimer`] set, so its timers (the 30-second
/// header-read timeout it applies by default, or the one given to
/// `header_read_timeout`) run on the loop. Configure it further, then call
/// `serve_connection` with an [`AloopIo`].
///
/// ```
/// let mut builder = aloop_hyper::http1_builder();
/// builder
///     .header_read_timeout(std::time::Duration::from_secs(5))
///     .keep_alive(true);
/// ```
pub fn http1_builder() -> http1::Builder {
    let mut builder = http1::Builder::new();
    builder.timer(LoopTimer);
    builder
}

/// Serves one connection with hyper's HTTP/1.1 server and `service`, with the defaults
/// of [`http1_builder`]; the future ends when the connection does. For a server, pass
/// it to [`aloop::start_server`] as the connection callback:
///
/// ```
/// use std::convert::Infallible;
/// use bytes::Bytes;
/// use http_body_util::Full;
/// use hyper::{service::service_fn, Request, Response};
///
/// async fn hello(_: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
///     Ok(Response::new(Full::new(Bytes::from_static(b"Hello, World!"))))
/// }
///
/// aloop::run(async {
///     let server = aloop::start_server(
///         |r, w| aloop_hyper::serve_connection(r, w, service_fn(hello)),
///         "127.0.0.1",
///         0,
///     )
///     .await
///     .unwrap();
///     let port = server.sockets()[0].port();
///     let mut client = aloop_hyper::connect("127.0.0.1", port).await.unwrap();
///     let req = Request::get("/").header("host", "localhost").body(Full::new(Bytes::new())).unwrap();
///     let resp = client.send_request(req).await.unwrap();
///     assert_eq!(resp.status(), 200);
///     server.close();
/// });
/// ```
pub fn serve_connection<S>(
    reader: StreamReader,
    writer: StreamWriter,
    service: S,
) -> http1::Connection<AloopIo, S>
where
    S: HttpService<Incoming>,
    S::Error: Into<Box<dyn StdError + Send + Sync>>,
    S::ResBody: 'static,
    <S::ResBody as Body>::Error: Into<Box<dyn StdError + Send + Sync>>,
{
    http1_builder().serve_connection(AloopIo::new(reader, writer), service)
}
