//! `loadgen serve <aloop|tokio-ct|tokio-mt> [--loops N] [--pin] [--port P] [--secs N]`: line
//! echo servers for `loadgen run` (generate.rs), each written as that runtime's users
//! write one, on 127.0.0.1.
//!
//! * `aloop`: an `aloop::Runtime` of `--loops` loops (default 1), `start_server` on
//!   every loop (one `SO_REUSEPORT` listener each); per connection `readline`, `write`
//!   and `drain`, asyncio's echo server. `--pin`: `Runtime::new_pinned`, each loop on
//!   a CPU of its own.
//! * `tokio-ct` / `tokio-mt`: a `TcpListener` accept loop spawning a task per
//!   connection, `BufReader::read_until(b'\n')` + `write_all`; on a current_thread
//!   runtime, or a multi_thread one of `--loops` workers (default 2).
//!
//! TCP_NODELAY on every connection (aloop sets it, as asyncio does; tokio's side sets
//! it by hand). Prints `port <N>` once listening, then serves until killed or `--secs`
//! (default 300) have passed, a bound for a server left behind.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _};

/// Parses the arguments after `serve` and runs the server; `Err` is a usage problem.
pub fn main(args: &[&str]) -> Result<ExitCode, String> {
    let (kind, rest) = args.split_first().ok_or("serve needs a server")?;
    let (mut loops, mut port, mut secs, mut pin) = (None, 0u16, 300u64, false);
    let mut it = rest.iter();
    while let Some(&flag) = it.next() {
        if flag == "--pin" {
            pin = true;
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag {
            "--loops" => loops = Some(crate::parse::<usize>(flag, value)?),
            "--port" => port = crate::parse(flag, value)?,
            "--secs" => secs = crate::parse(flag, value)?,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if loops == Some(0) || secs == 0 {
        return Err("--loops and --secs must be at least 1".into());
    }
    // The time limit: the process ends then, whatever the server is doing.
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(secs));
        eprintln!("loadgen serve: time limit of {secs} s reached, exiting");
        std::process::exit(0);
    });
    match *kind {
        "aloop" => Ok(aloop_server(loops.unwrap_or(1), pin, port)),
        "tokio-ct" if loops.is_none() && !pin => {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            Ok(tokio_server(rt, port))
        }
        "tokio-mt" if !pin => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(loops.unwrap_or(2))
                .enable_all()
                .build();
            Ok(tokio_server(rt, port))
        }
        _ => Err(format!(
            "unknown server {kind:?} (or --loops given to tokio-ct, or --pin to tokio)"
        )),
    }
}

/// Tells `latency.sh` the port (one line on stdout, flushed).
fn listening(port: u16) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "port {port}");
    let _ = out.flush();
}

fn aloop_server(loops: usize, pin: bool, port: u16) -> ExitCode {
    let rt = if pin {
        aloop::Runtime::new_pinned(loops)
    } else {
        aloop::Runtime::new(loops)
    };
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadgen serve: the runtime did not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.start_server(|| aloop_echo, "127.0.0.1", port) {
        Ok(server) => listening(server.local_addr().port()),
        Err(e) => {
            eprintln!("loadgen serve: start_server: {e}");
            return ExitCode::FAILURE;
        }
    }
    // The loops serve on their own threads; this one only waits for the end.
    loop {
        std::thread::park();
    }
}

async fn aloop_echo(reader: aloop::StreamReader, writer: aloop::StreamWriter) {
    // readline returns an empty line at EOF.
    while let Ok(line) = reader.readline().await {
        if line.is_empty() || writer.write(&line).is_err() || writer.drain().await.is_err() {
            break;
        }
    }
    writer.close();
}

fn tokio_server(rt: std::io::Result<tokio::runtime::Runtime>, port: u16) -> ExitCode {
    let rt = match rt {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadgen serve: the runtime did not start: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("loadgen serve: bind: {e}");
                return ExitCode::FAILURE;
            }
        };
        listening(listener.local_addr().map_or(port, |a| a.port()));
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(tokio_echo(stream));
                }
                // Out of fds, say: tell, and go on accepting after a pause.
                Err(e) => {
                    eprintln!("loadgen serve: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    })
}

async fn tokio_echo(mut stream: tokio::net::TcpStream) {
    let _ = stream.set_nodelay(true);
    let (read, mut write) = stream.split();
    let mut read = tokio::io::BufReader::new(read);
    let mut line = Vec::with_capacity(128);
    loop {
        line.clear();
        match read.read_until(b'\n', &mut line).await {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        if write.write_all(&line).await.is_err() {
            break;
        }
    }
}
