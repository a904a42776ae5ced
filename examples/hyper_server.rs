//! hyper's HTTP/1.1 server on aloop (the `aloop-hyper` crate): `start_server` accepts,
//! and each connection is handed to hyper with `aloop_hyper::serve_connection`.
//! `GET /` says hello; `POST /echo` answers the body it was sent; anything else is 404.
//! hyper's header-read timeout (30 s) runs on the loop's timers.
//!
//! Run: `cargo run --release --example hyper_server [-- PORT]` (default 3000; 0 picks a
//! free port), then `curl http://127.0.0.1:3000/`, `curl --data-binary @FILE
//! http://127.0.0.1:3000/echo`, `wrk -t1 -c50 -d5s http://127.0.0.1:3000/` or
//! `cargo run --example hyper_client -- http://127.0.0.1:3000/`. Ctrl-C stops it.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    let response = match (req.method(), req.uri().path()) {
        (&Method::GET | &Method::HEAD, "/") => {
            Response::new(Full::new(Bytes::from_static(b"Hello, World!")))
        }
        (&Method::POST | &Method::PUT, "/echo") => {
            // The whole body: hyper has decoded chunked framing already.
            let body = req.into_body().collect().await?.to_bytes();
            Response::new(Full::new(body))
        }
        _ => {
            let mut response = Response::new(Full::new(Bytes::from_static(b"Not Found\n")));
            *response.status_mut() = StatusCode::NOT_FOUND;
            response
        }
    };
    Ok(response)
}

fn main() {
    let port: u16 = match std::env::args().nth(1).map(|p| p.parse()) {
        None => 3000,
        Some(Ok(port)) => port,
        Some(Err(e)) => return eprintln!("hyper_server: bad port: {e}"),
    };
    aloop::run(async move {
        let serve = |reader, writer| async move {
            // A client that goes away mid-request is its own business, not the server's.
            let _ = aloop_hyper::serve_connection(reader, writer, service_fn(handle)).await;
        };
        let server = match aloop::start_server(serve, "127.0.0.1", port).await {
            Ok(server) => server,
            Err(e) => return eprintln!("hyper_server: {e}"),
        };
        println!(
            "listening on http://{}/ (Ctrl-C to stop)",
            server.sockets()[0]
        );
        if let Err(e) = server.serve_forever().await {
            eprintln!("hyper_server: {e}");
        }
    });
}
