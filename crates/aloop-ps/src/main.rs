//! `aloop-ps`: asks a running aloop program for its tasks (Python's
//! `python -m asyncio ps PID` and `pstree PID`).
//!
//! The program serves its Unix socket from aloop's `introspect` module
//! (`crates/aloop/src/introspect/server.rs`, which also documents the protocol: one
//! request line, `ps` or `tree`, and a plain-text reply). This side only finds the
//! socket, asks, and copies the reply to stdout; the text is made by the program, so
//! it is exactly what the program's own `lp.format_call_graph()` and
//! `lp.format_task_table()` print.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// The program answers within 2 s per request (then it reports the loops that did
/// not); this bounds a program that is itself stuck.
const REPLY_WITHIN: Duration = Duration::from_secs(10);

const USAGE: &str = "\
usage: aloop-ps [ps] PID    the tasks of each loop of process PID, as a table
       aloop-ps tree PID    the call graph of each loop (each task under the one waiting on it)

The program must have opted in: ALOOP_INTROSPECT=1 in its environment, or a call to
aloop::introspect::serve().";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (request, pid) = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["-h" | "--help"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        [pid] | ["ps", pid] => ("ps", pid),
        ["tree", pid] => ("tree", pid),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let Ok(pid) = pid.parse::<u32>() else {
        eprintln!("aloop-ps: not a process number: {pid:?}\n\n{USAGE}");
        return ExitCode::from(2);
    };
    match ask(pid, request) {
        Ok(reply) => {
            let mut out = io::stdout().lock();
            // A closed pipe (`aloop-ps PID | head`) is not an error worth a message.
            let _ = out.write_all(reply.as_bytes()).and_then(|()| out.flush());
            if reply.starts_with("error:") {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(message) => {
            eprintln!("aloop-ps: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Where process `pid` may have its socket, in the order the program picks them: under
/// `$XDG_RUNTIME_DIR` when set (the program's own environment may differ from ours, so
/// `/tmp` is tried as well).
fn candidates(pid: u32) -> Vec<PathBuf> {
    let name = format!("aloop-{pid}.sock");
    let mut paths = Vec::new();
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
        if dir.is_absolute() {
            paths.push(dir.join(&name));
        }
    }
    paths.push(PathBuf::from("/tmp").join(name));
    paths
}

fn ask(pid: u32, request: &str) -> Result<String, String> {
    let paths = candidates(pid);
    let Some(path) = paths.iter().find(|p| p.exists()) else {
        let tried: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(format!(
            "process {pid} does not answer: no socket at {} (is it an aloop program run \
             with ALOOP_INTROSPECT=1, or calling aloop::introspect::serve()?)",
            tried.join(" or ")
        ));
    };
    let fail = |what: &str, e: io::Error| format!("{what} {}: {e}", path.display());
    let mut stream = UnixStream::connect(path).map_err(|e| match e.kind() {
        io::ErrorKind::ConnectionRefused => format!(
            "nobody listens on {} (process {pid} has exited, or is not an aloop program)",
            path.display()
        ),
        _ => fail("cannot connect to", e),
    })?;
    stream
        .set_read_timeout(Some(REPLY_WITHIN))
        .and_then(|()| stream.set_write_timeout(Some(REPLY_WITHIN)))
        .map_err(|e| fail("cannot set a timeout on", e))?;
    stream
        .write_all(format!("{request}\n").as_bytes())
        .map_err(|e| fail("cannot write to", e))?;
    let mut reply = String::new();
    stream
        .read_to_string(&mut reply)
        .map_err(|e| match e.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => format!(
                "process {pid} did not answer within {} s",
                REPLY_WITHIN.as_secs()
            ),
            _ => fail("cannot read from", e),
        })?;
    Ok(reply)
}
