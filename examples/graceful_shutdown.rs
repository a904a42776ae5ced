//! A TCP server that stops cleanly on SIGINT (Ctrl-C) or SIGTERM: it stops accepting,
//! lets the requests in flight finish within a deadline, and exits with status 0.
//!
//! Each request is one line; the server "works" on it for a while (a sleep), then
//! replies with a header line, a 100,000-byte body and `END`, and closes.
//!
//! Run: `cargo run --release --example graceful_shutdown [-- PORT]` (default 8890; 0
//! picks a free port), then `echo hi | nc 127.0.0.1 8890` and press Ctrl-C while it
//! works. `examples/tests/graceful_shutdown.rs` does this with a real SIGTERM.

use std::rc::Rc;
use std::time::Duration;

use aloop::{signal, Event, StreamReader, StreamWriter};

/// How long one request takes to serve.
const WORK: Duration = Duration::from_millis(700);
/// How long shutdown waits for requests in flight.
const DEADLINE: Duration = Duration::from_secs(10);
const BODY_LEN: usize = 100_000;

async fn handle(reader: StreamReader, writer: StreamWriter) {
    let Ok(request) = reader.readline().await else {
        return;
    };
    aloop::sleep(WORK).await;
    let request = String::from_utf8_lossy(&request);
    let reply = format!("OK {BODY_LEN} for {}\n", request.trim_end());
    let body = vec![b'x'; BODY_LEN];
    let sent = writer
        .write(reply.as_bytes())
        .and_then(|()| writer.write(&body))
        .and_then(|()| writer.write(b"\nEND\n"));
    if sent.is_ok() {
        let _ = writer.drain().await;
    }
    writer.close();
    let _ = writer.wait_closed().await;
}

fn main() {
    let port: u16 = match std::env::args().nth(1).map(|p| p.parse()) {
        None => 8890,
        Some(Ok(port)) => port,
        Some(Err(e)) => return eprintln!("graceful_shutdown: bad port: {e}"),
    };
    let status = aloop::run(async move {
        let server = match aloop::start_server(handle, "127.0.0.1", port).await {
            Ok(server) => server,
            Err(e) => {
                eprintln!("graceful_shutdown: {e}");
                return 1;
            }
        };
        println!("listening on {}", server.sockets()[0]);

        let lp = aloop::get_running_loop().expect("inside aloop::run");
        let stop = Rc::new(Event::new());
        for signum in [signal::SIGINT, signal::SIGTERM] {
            let stop = stop.clone();
            lp.add_signal_handler(signum, move || {
                println!("got signal {signum}: shutting down");
                stop.set();
            })
            .expect("SIGINT and SIGTERM can be handled");
        }
        stop.wait().await;

        server.close(); // no new connections from here on
        let in_flight = server.active_connections();
        println!("closed the listener; {in_flight} request(s) in flight");
        match aloop::wait_for(server.wait_closed(), DEADLINE).await {
            Ok(()) => println!("every request finished; bye"),
            Err(_) => println!(
                "deadline passed with {} request(s) unfinished; bye",
                server.active_connections()
            ),
        }
        0
    });
    std::process::exit(status);
}
