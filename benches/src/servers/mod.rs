//! `cell serve <http|resp> <server> [--port P] [--secs N]`: a real server for
//! `servers.sh` to load with `wrk` (http) or `redis-benchmark` (resp), on 127.0.0.1.
//!
//! ```text
//! cell serve http <aloop|aloop-into|aloop-protocol|aloop-rt2|tokio-ct|tokio-mt2|hyper-aloop|hyper-tokio>
//! cell serve resp <aloop|aloop-into|aloop-batched|aloop-chunks|aloop-protocol|tokio-ct|tokio-fields|tokio-plain>
//!     --port P   port to listen on (default 0: any free port)
//!     --secs N   exit after N seconds whatever happens (default 300)
//! ```
//!
//! Prints `port <N>` on stdout once it listens; `servers.sh` reads that, measures the
//! process's CPU time from /proc around the load generator's run, then kills it. The
//! time limit bounds a server that is forgotten. Each server runs on one thread (an
//! aloop event loop, or a tokio current_thread runtime) but `aloop-rt2` and
//! `tokio-mt2` (two). `servers.sh` also runs two servers that are not cells: the real
//! `examples/http_server` binary and a Python uvloop server (`http_uvloop.py`).

mod http;
mod hyper_servers;
mod protocol_servers;
mod resp;
/// Also the `read-fields` cell's reads (read_fields.rs).
pub(crate) mod resp_fields;
mod resp_plain;
mod resp_servers;

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str =
    "usage: cell serve http <aloop|aloop-into|aloop-protocol|aloop-rt2|tokio-ct|tokio-mt2|hyper-aloop|hyper-tokio> [--port P] [--secs N]\n       \
cell serve resp <aloop|aloop-into|aloop-batched|aloop-chunks|aloop-protocol|tokio-ct|tokio-fields|tokio-plain> [--port P] [--secs N]";

/// Tells `servers.sh` the port (one line on stdout, flushed).
fn listening(port: u16) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "port {port}");
    let _ = out.flush();
}

/// Serves `handler` with aloop's streams on 127.0.0.1:`port` until the process ends.
async fn aloop_serve<F, Fut>(handler: F, port: u16)
where
    F: Fn(aloop::StreamReader, aloop::StreamWriter) -> Fut + 'static,
    Fut: std::future::Future<Output = ()> + 'static,
{
    let server = aloop::start_server(handler, "127.0.0.1", port)
        .await
        .expect("start_server on 127.0.0.1");
    listening(server.sockets()[0].port());
    server.serve_forever().await.expect("serve_forever");
}

/// A tokio listener on 127.0.0.1:`port`, announced.
async fn tokio_listen(port: u16) -> tokio::net::TcpListener {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind 127.0.0.1");
    listening(listener.local_addr().expect("local addr").port());
    listener
}

/// Exits the process after `secs`, whatever the server is doing.
fn exit_after(secs: u64) {
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(secs));
        eprintln!("cell serve: time limit of {secs} s reached, exiting");
        std::process::exit(0);
    });
}

fn parse_options(rest: &[&str]) -> Option<(u16, u64)> {
    let (mut port, mut secs) = (0, 300);
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        let value = it.next()?;
        match *flag {
            "--port" => port = value.parse().ok()?,
            "--secs" => secs = value.parse().ok().filter(|s| *s > 0)?,
            _ => return None,
        }
    }
    Some((port, secs))
}

fn tokio_ct<F: std::future::Future>(server: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime could not start")
        .block_on(server)
}

fn tokio_mt<F: std::future::Future>(workers: usize, server: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("tokio runtime could not start")
        .block_on(server)
}

pub fn main(args: &[&str]) -> ExitCode {
    let (proto, server, rest) = match args {
        [proto, server, rest @ ..] => (*proto, *server, rest),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let Some((port, secs)) = parse_options(rest) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match (proto, server) {
        (
            "http",
            "aloop" | "aloop-into" | "aloop-protocol" | "aloop-rt2" | "tokio-ct" | "tokio-mt2"
            | "hyper-aloop" | "hyper-tokio",
        )
        | (
            "resp",
            "aloop" | "aloop-into" | "aloop-batched" | "aloop-chunks" | "aloop-protocol"
            | "tokio-ct" | "tokio-fields" | "tokio-plain",
        ) => {}
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    }
    exit_after(secs);
    match (proto, server) {
        ("http", "aloop") => aloop::run(http::aloop_plain(port)),
        ("http", "aloop-into") => aloop::run(http::aloop_into(port)),
        ("http", "aloop-protocol") => aloop::run(protocol_servers::http_hello(port)),
        ("http", "aloop-rt2") => http::aloop_runtime(port, 2),
        ("http", "tokio-mt2") => tokio_mt(2, http::tokio_batched(port)),
        ("http", "hyper-aloop") => aloop::run(hyper_servers::aloop_hyper(port)),
        ("http", "hyper-tokio") => tokio_ct(hyper_servers::tokio_hyper(port)),
        ("http", _) => tokio_ct(http::tokio_batched(port)),
        ("resp", "aloop") => aloop::run(resp_servers::aloop_plain(port)),
        ("resp", "aloop-into") => aloop::run(resp_servers::aloop_into(port)),
        ("resp", "tokio-fields") => tokio_ct(resp_servers::tokio_fields(port)),
        ("resp", "tokio-plain") => tokio_ct(resp_servers::tokio_plain(port)),
        ("resp", "aloop-protocol") => aloop::run(protocol_servers::resp(port)),
        ("resp", "aloop-batched") => aloop::run(resp_servers::aloop_batched(port)),
        ("resp", "aloop-chunks") => aloop::run(resp_servers::aloop_chunks(port)),
        _ => tokio_ct(resp_servers::tokio_batched(port)),
    }
    ExitCode::SUCCESS
}
