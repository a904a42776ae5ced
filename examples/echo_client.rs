//! A client for `echo_server`: connects with `open_connection`, sends a few lines,
//! prints each echo, then half-closes with `write_eof` and waits for the server to
//! close its side.
//!
//! Run: `cargo run --release --example echo_client [-- PORT [LINE...]]` (default port
//! 8888), with `echo_server` running.

fn main() {
    let mut args = std::env::args().skip(1);
    let port: u16 = match args.next().map(|p| p.parse()) {
        None => 8888,
        Some(Ok(port)) => port,
        Some(Err(e)) => return eprintln!("echo_client: bad port: {e}"),
    };
    let mut lines: Vec<String> = args.collect();
    if lines.is_empty() {
        lines = ["hello", "asyncio-shaped", "streams"]
            .map(String::from)
            .to_vec();
    }
    aloop::run(async move {
        let (reader, writer) = match aloop::open_connection("127.0.0.1", port).await {
            Ok(pair) => pair,
            Err(e) => return eprintln!("echo_client: {e} (is echo_server running?)"),
        };
        println!("connected to {:?}", writer.peername());
        for line in &lines {
            let sent = format!("{line}\n");
            if let Err(e) = writer.write(sent.as_bytes()) {
                return eprintln!("echo_client: {e}");
            }
            match reader.readline().await {
                Ok(echo) => print!("echo: {}", String::from_utf8_lossy(&echo)),
                Err(e) => return eprintln!("echo_client: {e}"),
            }
        }
        let _ = writer.write_eof();
        match reader.read_to_eof().await {
            Ok(rest) if rest.is_empty() => println!("server closed the connection"),
            Ok(rest) => println!("server sent {} more bytes, then closed", rest.len()),
            Err(e) => println!("echo_client: {e}"),
        }
        writer.close();
        let _ = writer.wait_closed().await;
    });
}
