//! hyper's server and client on aloop, against each other and against raw sockets:
//! keep-alive, a large body both ways byte for byte, the header-read timeout on
//! `LoopTimer`, the typed connect error. curl and wrk against a hyper server are in
//! the examples' tests (`examples/tests/hyper.rs`).

use std::convert::Infallible;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};

/// `/echo` answers the request's body; anything else `hello <path>`.
async fn service(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, hyper::Error> {
    if req.uri().path() == "/echo" {
        let body = req.into_body().collect().await?.to_bytes();
        return Ok(Response::new(Full::new(body)));
    }
    let text = format!("hello {}", req.uri().path());
    Ok(Response::new(Full::new(Bytes::from(text))))
}

async fn start() -> (aloop::Server, u16) {
    let server = aloop::start_server(
        |r, w| aloop_hyper::serve_connection(r, w, service_fn(service)),
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let port = server.sockets()[0].port();
    (server, port)
}

fn request(path: &str, body: Bytes) -> Request<Full<Bytes>> {
    Request::post(path)
        .header("host", "127.0.0.1")
        .body(Full::new(body))
        .unwrap()
}

#[test]
fn client_and_server_keep_one_connection_for_several_requests() {
    aloop::run(async {
        let (server, port) = start().await;
        let mut client = aloop_hyper::connect("127.0.0.1", port).await.unwrap();
        for i in 0..5 {
            client.ready().await.unwrap();
            let resp = client
                .send_request(request(&format!("/n{i}"), Bytes::new()))
                .await
                .unwrap();
            assert_eq!(resp.status(), 200);
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, format!("hello /n{i}"));
        }
        // Five requests, one connection: the server saw a single client.
        assert_eq!(server.active_connections(), 1);
        drop(client);
        server.close();
        aloop::wait_for(server.wait_closed(), Duration::from_secs(10))
            .await
            .expect("the connection ends once the client is dropped");
    });
}

#[test]
fn a_large_body_goes_both_ways_byte_for_byte() {
    // 3 MiB: far past the streams' 64 KiB high-water mark and hyper's buffers, so
    // back-pressure (poll_flush = drain) and many partial reads are exercised.
    let body: Vec<u8> = (0..3 * 1024 * 1024u32)
        .map(|i| (i * 7 % 251) as u8)
        .collect();
    let sent = Bytes::from(body);
    let expected = sent.clone();
    aloop::run(async move {
        let (server, port) = start().await;
        let mut client = aloop_hyper::connect("127.0.0.1", port).await.unwrap();
        let resp = client.send_request(request("/echo", sent)).await.unwrap();
        assert_eq!(resp.status(), 200);
        let got = resp.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(got.len(), expected.len());
        assert!(got == expected, "the echoed body differs");
        server.close();
    });
}

#[test]
fn the_header_read_timeout_runs_on_the_loop_timer() {
    // A client that sends half a head and waits: hyper closes the connection once the
    // header-read timeout (on LoopTimer) passes.
    let (tx, rx) = std::sync::mpsc::channel();
    let server = std::thread::spawn(move || {
        aloop::run(async move {
            let served = std::rc::Rc::new(aloop::Event::new());
            let done = served.clone();
            let server = aloop::start_server(
                move |r, w| {
                    let done = done.clone();
                    async move {
                        let mut builder = aloop_hyper::http1_builder();
                        builder.header_read_timeout(Duration::from_millis(200));
                        let io = aloop_hyper::AloopIo::new(r, w);
                        let result = builder.serve_connection(io, service_fn(service)).await;
                        done.set();
                        result
                    }
                },
                "127.0.0.1",
                0,
            )
            .await
            .unwrap();
            tx.send(server.sockets()[0]).unwrap();
            let finished = aloop::timeout(Duration::from_secs(30), served.wait()).await;
            server.close();
            finished.expect("the connection was served and ended");
        });
    });
    let addr = rx.recv().unwrap();
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let started = Instant::now();
    let mut rest = Vec::new();
    // Closed by the server: read_to_end returns (a reset is a close too).
    let _ = conn.read_to_end(&mut rest);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(150),
        "closed after {waited:?}, before the timeout"
    );
    assert!(waited < Duration::from_secs(15), "never closed");
    server.join().unwrap();
}

#[test]
fn connect_reports_the_os_error() {
    // A port nobody listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    aloop::run(async move {
        let err = aloop_hyper::connect::<Full<Bytes>>("127.0.0.1", port)
            .await
            .unwrap_err();
        match err {
            aloop_hyper::ConnectError::Connect(e) => {
                assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused)
            }
            other => panic!("{other}"),
        }
    });
}

#[test]
fn a_service_may_hold_non_send_state() {
    // aloop's tasks are !Send-friendly, and so is a hyper connection on them: the
    // service counts requests in an Rc<Cell>.
    use std::cell::Cell;
    use std::rc::Rc;

    aloop::run(async {
        let count = Rc::new(Cell::new(0u32));
        let seen = count.clone();
        let server = aloop::start_server(
            move |r, w| {
                let count = count.clone();
                let svc = service_fn(move |_req: Request<Incoming>| {
                    let count = count.clone();
                    async move {
                        count.set(count.get() + 1);
                        Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(
                            count.get().to_string(),
                        ))))
                    }
                });
                aloop_hyper::serve_connection(r, w, svc)
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let port = server.sockets()[0].port();
        let mut client = aloop_hyper::connect("127.0.0.1", port).await.unwrap();
        for expected in ["1", "2"] {
            client.ready().await.unwrap();
            let resp = client
                .send_request(request("/", Bytes::new()))
                .await
                .unwrap();
            let body = resp.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, expected);
        }
        assert_eq!(seen.get(), 2);
        server.close();
    });
}
