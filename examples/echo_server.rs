//! A TCP echo server with `start_server`: every line a client sends comes back.
//! Each connection is served by a task of its own.
//!
//! Run: `cargo run --release --example echo_server [-- PORT] [--loops N]` (default
//! 8888, one loop), then `cargo run --release --example echo_client` in another
//! terminal. With `--loops N` (0: one per core) the server runs on an `aloop::Runtime`
//! of N loops, one `SO_REUSEPORT` listener each, until Enter is pressed.

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
    let mut port: u16 = 8888;
    let mut loops: Option<usize> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let parsed = if arg == "--loops" {
            args.next().map(|n| n.parse().map(|n| loops = Some(n)))
        } else {
            Some(arg.parse().map(|p| port = p))
        };
        if let Some(Err(e)) = parsed {
            return eprintln!("echo_server: bad argument {arg:?}: {e}");
        }
    }
    match loops {
        None => one_loop(port),
        Some(n) => many_loops(port, n),
    }
}

fn one_loop(port: u16) {
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

fn many_loops(port: u16, loops: usize) {
    let rt = match aloop::Runtime::new(loops) {
        Ok(rt) => rt,
        Err(e) => return eprintln!("echo_server: {e}"),
    };
    let server = match rt.start_server(|| handle, "127.0.0.1", port) {
        Ok(server) => server,
        Err(e) => return eprintln!("echo_server: {e}"),
    };
    println!(
        "serving on {} with {} loops (Enter to stop)",
        server.local_addr(),
        rt.len()
    );
    let _ = std::io::stdin().read_line(&mut String::new());
    let finished = server.shutdown(std::time::Duration::from_secs(5));
    println!("stopped; every connection finished: {finished}");
}
