//! The hyper "hello" servers `servers.sh` runs under `wrk`: the same hyper 1.x HTTP/1.1
//! server and service on both runtimes, so the difference is the runtime underneath.
//!
//! * `hyper-aloop`: `aloop::start_server`, each connection given to
//!   `aloop_hyper::serve_connection` (aloop's streams, `LoopTimer`).
//! * `hyper-tokio`: tokio current_thread, `TcpListener::accept` + `tokio::spawn`, each
//!   connection given to hyper through hyper-util's `TokioIo`, with `TokioTimer`: how
//!   a tokio user serves hyper without hyper-util's `server` module.
//!
//! Both with hyper's defaults (its 30 s header-read timeout armed, `Date` header).
//! `GET /` gets the 13-byte hello; anything else 404.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};

async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    if req.uri().path() == "/" {
        return Ok(Response::new(Full::new(Bytes::from_static(
            b"Hello, World!",
        ))));
    }
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = StatusCode::NOT_FOUND;
    Ok(response)
}

/// hyper on aloop.
pub async fn aloop_hyper(port: u16) {
    super::aloop_serve(
        |r, w| async move {
            let _ = aloop_hyper::serve_connection(r, w, service_fn(hello)).await;
        },
        port,
    )
    .await;
}

/// hyper on tokio current_thread.
pub async fn tokio_hyper(port: u16) {
    let listener = super::tokio_listen(port).await;
    loop {
        let Ok((s, _)) = listener.accept().await else {
            continue;
        };
        let _ = s.set_nodelay(true);
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .serve_connection(hyper_util::rt::TokioIo::new(s), service_fn(hello))
                .await;
        });
    }
}
