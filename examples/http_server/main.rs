//! An HTTP/1.1 server on aloop's streams, written as an asyncio user writes one: read a
//! request head, parse it with `httparse`, read the body, `write` the response,
//! `drain`. Keep-alive and pipelining, `Content-Length` and chunked request bodies,
//! 400 on malformed requests, 413/431/501 on what it will not take, a read timeout
//! (408) so a slow client cannot hold a connection, and a graceful stop on Ctrl-C or
//! SIGTERM: stop accepting, finish the requests in flight (within a deadline), exit 0.
//!
//! Routes: `GET /` says hello; `POST /echo` answers the body it was sent.
//!
//! Run: `cargo run --release --example http_server [-- PORT] [--loops N]
//! [--read-timeout SECS] [--max-body BYTES] [--stop-deadline SECS]` (default port
//! 8080; 0 picks a free one), then
//! `curl -v http://127.0.0.1:8080/ http://127.0.0.1:8080/` (one connection, two
//! requests), `curl -H 'Transfer-Encoding: chunked' --data-binary @FILE
//! http://127.0.0.1:8080/echo`, or `wrk -t1 -c50 -d5s http://127.0.0.1:8080/`. With
//! `--loops N` (0: one per core) it serves on an `aloop::Runtime` of N loops, one
//! `SO_REUSEPORT` listener each.
//!
//! The modules: `request.rs` (head parser) and `chunked.rs` (body decoder) are pure;
//! `connection.rs` serves one connection; `routes.rs` and `response.rs` answer.

mod chunked;
mod connection;
mod request;
mod response;
mod routes;

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use aloop::{signal, Event};

use connection::Config;

struct Args {
    port: u16,
    loops: Option<usize>,
    config: Config,
    stop_deadline: Duration,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        port: 8080,
        loops: None,
        config: Config {
            read_timeout: Duration::from_secs(10),
            max_body: 1 << 20,
        },
        stop_deadline: Duration::from_secs(10),
    };
    let secs = |v: &str| {
        v.parse::<f64>()
            .ok()
            .and_then(|s| Duration::try_from_secs_f64(s).ok())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| format!("not a positive number of seconds: {v:?}"))
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--loops" => args.loops = Some(value()?.parse().map_err(|e| format!("--loops: {e}"))?),
            "--read-timeout" => args.config.read_timeout = secs(&value()?)?,
            "--max-body" => {
                args.config.max_body = value()?.parse().map_err(|e| format!("--max-body: {e}"))?
            }
            "--stop-deadline" => args.stop_deadline = secs(&value()?)?,
            port => {
                args.port = port
                    .parse()
                    .map_err(|e| format!("bad port {port:?}: {e}"))?
            }
        }
    }
    Ok(args)
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("http_server: {e}");
            std::process::exit(2);
        }
    };
    let status = match args.loops {
        None => one_loop(&args),
        Some(n) => many_loops(&args, n),
    };
    std::process::exit(status);
}

/// Sets `stopping` on the first SIGINT or SIGTERM; a second one ends the process at
/// once (for an operator who will not wait for the deadline).
fn on_stop_signals(stopping: Rc<Event>) {
    let lp = aloop::get_running_loop().expect("inside a running loop");
    for signum in [signal::SIGINT, signal::SIGTERM] {
        let stopping = stopping.clone();
        lp.add_signal_handler(signum, move || {
            if stopping.is_set() {
                println!("got signal {signum} again: exiting now");
                std::process::exit(1);
            }
            println!("got signal {signum}: stopping");
            stopping.set();
        })
        .expect("SIGINT and SIGTERM can be handled");
    }
}

fn one_loop(args: &Args) -> i32 {
    let (port, config, deadline) = (args.port, args.config, args.stop_deadline);
    aloop::run(async move {
        let stop = Arc::new(Event::new());
        let conn_stop = stop.clone();
        let serve = move |r, w| connection::serve(r, w, config, conn_stop.clone());
        let server = match aloop::start_server(serve, "127.0.0.1", port).await {
            Ok(server) => server,
            Err(e) => {
                eprintln!("http_server: {e}");
                return 1;
            }
        };
        println!(
            "listening on http://{}/ with 1 loop (Ctrl-C or SIGTERM stops it)",
            server.sockets()[0]
        );
        let stopping = Rc::new(Event::new());
        on_stop_signals(stopping.clone());
        stopping.wait().await;

        stop.set(); // idle connections close, busy ones after their response
        server.close(); // no new connections
        println!(
            "closed the listener; {} connection(s) open",
            server.active_connections()
        );
        match aloop::wait_for(server.wait_closed(), deadline).await {
            Ok(()) => println!("every connection finished; bye"),
            Err(_) => {
                println!(
                    "deadline passed with {} connection(s) open; bye",
                    server.active_connections()
                );
                server.abort_clients();
            }
        }
        0
    })
}

fn many_loops(args: &Args, loops: usize) -> i32 {
    let (config, deadline) = (args.config, args.stop_deadline);
    let rt = match aloop::Runtime::new(loops) {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("http_server: {e}");
            return 1;
        }
    };
    let stop = Arc::new(Event::new());
    let make_stop = stop.clone();
    let make = move || {
        let stop = make_stop.clone();
        move |r, w| connection::serve(r, w, config, stop.clone())
    };
    let server = match rt.start_server(make, "127.0.0.1", args.port) {
        Ok(server) => server,
        Err(e) => {
            eprintln!("http_server: {e}");
            return 1;
        }
    };
    println!(
        "listening on http://{}/ with {} loops (Ctrl-C or SIGTERM stops it)",
        server.local_addr(),
        rt.len()
    );
    // The signal handlers live on the first loop; this thread waits for them.
    let signalled = rt.block_on(|| async {
        let stopping = Rc::new(Event::new());
        on_stop_signals(stopping.clone());
        stopping.wait().await;
    });
    if signalled.is_err() {
        eprintln!("http_server: the signal task failed");
    }
    server.close(); // every loop's listener closed: no new connections
    stop.set(); // idle connections close, busy ones after their response
    let finished = server.shutdown(deadline);
    println!(
        "{}; bye",
        if finished {
            "every connection finished"
        } else {
            "deadline passed with connections open"
        }
    );
    0
}
