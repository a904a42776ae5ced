//! A TCP echo server with `start_server`: every line a client sends comes back.
//! Each connection is served by a task of its own.
//!
//! Run: `cargo run --release --example echo_server [-- PORT]` (default 8888), then
//! `cargo run --release --example echo_client` in another terminal.

use aloop::{StreamReader, StreamWriter};

async fn handle(reader: StreamReader, writer: StreamWriter) {
    let peer = writer
        .peername()
        .map_or_else(|| "?".to_owned(), |a| a.to_string());
    println!("{peer}: connected");
    let mut lines = reader.lines();
    let mut count = 0;
    while let Some(line) = lines.next_line().await {
        let line = match line {
            Ok(line) => line,
            Err(e) => {
                println!("{peer}: {e}");
                break;
            }
        };
        count += 1;
        // drain(): if the client stops reading, stop producing (bounded memory).
        if writer.write(&line).is_err() || writer.drain().await.is_err() {
            break;
        }
    }
    writer.close();
    println!("{peer}: closed after {count} lines");
}

fn main() {
    let port: u16 = match std::env::args().nth(1).map(|p| p.parse()) {
        None => 8888,
        Some(Ok(port)) => port,
        Some(Err(e)) => return eprintln!("echo_server: bad port: {e}"),
    };
    aloop::run(async move {
        let server = match aloop::start_server(handle, "127.0.0.1", port).await {
            Ok(server) => server,
            Err(e) => return eprintln!("echo_server: {e}"),
        };
        println!("serving on {} (Ctrl-C to stop)", server.sockets()[0]);
        if let Err(e) = server.serve_forever().await {
            eprintln!("echo_server: {e}");
        }
    });
}
