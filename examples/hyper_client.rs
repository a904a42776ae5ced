//! hyper's HTTP/1.1 client on aloop (the `aloop-hyper` crate): GET a URL and print the
//! response's status and body length. Without a URL, it starts a hyper server of its
//! own on a free port (as `hyper_server` does) in the same loop and fetches from it,
//! twice over one kept-alive connection.
//!
//! Run: `cargo run --example hyper_client [-- URL]`, e.g. with `http_server` or
//! `hyper_server` running: `cargo run --example hyper_client -- http://127.0.0.1:8080/`.
//! Plain `http://` only (no TLS).

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Full};
use hyper::service::service_fn;
use hyper::{Request, Response, Uri};

/// Fetches `uri`'s path `times` times over one connection; prints each response.
async fn fetch(uri: &Uri, times: usize) -> Result<(), Box<dyn std::error::Error>> {
    if uri.scheme_str() != Some("http") {
        return Err(format!("{uri}: only http:// URLs are supported").into());
    }
    let host = uri.host().ok_or("the URL has no host")?;
    let port = uri.port_u16().unwrap_or(80);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut sender = aloop_hyper::connect(host, port).await?;
    for _ in 0..times {
        sender.ready().await?; // the previous response is done: the connection is free
        let request = Request::get(path)
            .header(
                hyper::header::HOST,
                uri.authority().map_or(host, |a| a.as_str()),
            )
            .body(Empty::<Bytes>::new())?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        println!("GET {uri}: {status}, {} body bytes", body.len());
    }
    Ok(())
}

fn main() {
    let url = std::env::args().nth(1);
    let result = aloop::run(async move {
        let Some(url) = url else {
            return fetch_from_own_server().await;
        };
        let uri: Uri = url.parse()?;
        fetch(&uri, 1).await
    });
    if let Err(e) = result {
        eprintln!("hyper_client: {e}");
        std::process::exit(1);
    }
}

/// Starts a hello server on a free port and fetches from it over one connection.
async fn fetch_from_own_server() -> Result<(), Box<dyn std::error::Error>> {
    let hello = |_req| async {
        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(
            b"Hello, World!",
        ))))
    };
    let serve = move |r, w| aloop_hyper::serve_connection(r, w, service_fn(hello));
    let server = aloop::start_server(serve, "127.0.0.1", 0).await?;
    let uri: Uri = format!("http://{}/", server.sockets()[0]).parse()?;
    let fetched = fetch(&uri, 2).await;
    server.close();
    fetched
}
