//! hyper on aloop met by real clients: curl (keep-alive, a chunked POST echoed byte for
//! byte) and wrk (2 s, no socket error, no non-2xx) against the `hyper_server`
//! example; and hyper's client on aloop (`aloop_hyper::connect`, and the
//! `hyper_client` example) against `hyper_server` and against the plain
//! `http_server`, keep-alive and a chunked upload included.

mod common;

use std::process::Command;
use std::time::Duration;

use bytes::Bytes;
use common::Server;
use http_body_util::{BodyExt, Empty, StreamBody};
use hyper::body::Frame;
use hyper::Request;

#[test]
fn curl_reuses_one_connection_to_the_hyper_server() {
    let server = Server::start("hyper_server", &["0"]);
    common::curl_keep_alive(
        &server.url("/"),
        "Hello, World!",
        "curl_reuses_one_connection_to_the_hyper_server",
    );
}

#[test]
fn curl_chunked_post_to_the_hyper_server_is_echoed_byte_for_byte() {
    let server = Server::start("hyper_server", &["0"]);
    common::curl_chunked_echo(
        &server.url("/echo"),
        2_000_000,
        "curl_chunked_post_to_the_hyper_server_is_echoed_byte_for_byte",
    );
}

#[test]
fn wrk_against_the_hyper_server_sees_no_error_and_only_2xx() {
    let server = Server::start("hyper_server", &["0"]);
    common::wrk_without_errors(
        &server.url("/"),
        "wrk_against_the_hyper_server_sees_no_error_and_only_2xx",
    );
}

/// With `aloop_hyper::connect`: three GETs over one connection, then a POST to
/// `/echo` whose body (of unknown length, so hyper sends it chunked) must come back
/// byte for byte.
fn hyper_client_session(server: &Server) {
    let port = server.addr.port();
    let data = common::test_bytes(300_000);
    let expected = data.clone();
    aloop::run(async move {
        let mut sender = aloop_hyper::connect("127.0.0.1", port).await.unwrap();
        for _ in 0..3 {
            sender.ready().await.unwrap();
            let req = Request::get("/")
                .header("host", "127.0.0.1")
                .body(http_body_util::Either::Left(Empty::<Bytes>::new()))
                .unwrap();
            let resp = sender.send_request(req).await.unwrap();
            assert_eq!(resp.status(), 200);
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, "Hello, World!");
        }
        // The same connection (keep-alive) for the upload, in 10 kB frames.
        sender.ready().await.unwrap();
        let frames: Vec<Result<Frame<Bytes>, std::convert::Infallible>> = data
            .chunks(10_000)
            .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
            .collect();
        let stream = futures_util::stream::iter(frames);
        let req = Request::post("/echo")
            .header("host", "127.0.0.1")
            .body(http_body_util::Either::Right(StreamBody::new(stream)))
            .unwrap();
        let resp = sender.send_request(req).await.unwrap();
        assert_eq!(resp.status(), 200);
        let body = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body.len(), expected.len());
        assert!(body == expected, "the echoed body differs");
    });
}

#[test]
fn aloop_hyper_client_against_the_hyper_server() {
    hyper_client_session(&Server::start("hyper_server", &["0"]));
}

#[test]
fn aloop_hyper_client_against_the_plain_http_server() {
    hyper_client_session(&Server::start("http_server", &["0"]));
}

/// Runs the `hyper_client` example with `args`; its stdout.
fn hyper_client(args: &[&str]) -> String {
    let out = common::run_bounded(
        Command::new(common::example_binary("hyper_client")).args(args),
        Duration::from_secs(60),
    );
    assert!(
        out.status.success(),
        "hyper_client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_hyper_client_example_fetches_from_either_server_or_its_own() {
    for example in ["http_server", "hyper_server"] {
        let server = Server::start(example, &["0"]);
        let url = server.url("/");
        let out = hyper_client(&[&url]);
        assert_eq!(
            out,
            format!("GET {url}: 200 OK, 13 body bytes\n"),
            "{example}"
        );
    }
    // No URL: its own server, two requests on one connection.
    let out = hyper_client(&[]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    for line in lines {
        assert!(line.ends_with(": 200 OK, 13 body bytes"), "{out}");
    }
}
