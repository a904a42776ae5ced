//! The introspection server: a program that opted in (`aloop::introspect::serve()`, or
//! `ALOOP_INTROSPECT=1` in its environment) answers `aloop-ps PID` (the `aloop-ps`
//! crate) with each of its loops' task table or call graph, without stopping.
//!
//! A thread of its own listens on a Unix socket at [`socket_path`] (mode 0600, and on
//! Linux only peers of the same user are answered), removed when the process exits.
//! A client writes one line, `ps` or `tree`; the server asks every running loop for a
//! snapshot through its cross-thread queue (`call_soon_threadsafe`), so the snapshot
//! is taken on the loop's thread between two steps, and waits for the answers at most
//! [`ANSWER_WITHIN`]: a loop stuck in one long step is reported as such, and the
//! others are still shown. The loop only captures (`snapshot.rs`); the text is made
//! here (`render.rs`), on this thread. The reply is plain text; the connection then
//! closes.

use std::ffi::CString;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::{mpsc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use super::snapshot::{capture, LoopSnapshot};
use crate::loop_handle::LoopHandle;
use crate::loop_state::live_loops;
use crate::running::running_state;

/// How long the server waits for the loops' snapshots, all together.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(2);

/// How long a client may take to send its request, or to take the reply.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);

/// The path the server serves, once started.
static SERVING: Mutex<Option<PathBuf>> = Mutex::new(None);

/// The socket to remove at exit, and by which process (a forked child that exits
/// must not remove its parent's).
static TO_REMOVE: OnceLock<(CString, u32)> = OnceLock::new();

/// Where process `pid`'s introspection socket is: `$XDG_RUNTIME_DIR/aloop-PID.sock`
/// when that variable names a directory, else `/tmp/aloop-PID.sock`. `aloop-ps` looks
/// in both places.
///
/// ```
/// let path = aloop::introspect::socket_path(1234);
/// assert!(path.ends_with("aloop-1234.sock"));
/// ```
pub fn socket_path(pid: u32) -> PathBuf {
    let dir = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_absolute() && d.is_dir())
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    dir.join(format!("aloop-{pid}.sock"))
}

/// Starts answering `aloop-ps` (once per process; later calls return the same path):
/// binds [`socket_path`] of this process and serves it from a thread of its own. The
/// socket is removed when the process exits normally (returns from `main` or calls
/// `std::process::exit`); one left by a killed process is replaced by the next process
/// that gets the same number.
///
/// Costs nothing while nobody asks: the thread sleeps in `accept`. Setting
/// `ALOOP_INTROSPECT=1` in a program's environment does the same when its first loop
/// is made.
///
/// ```
/// let path = aloop::introspect::serve().unwrap();
/// assert_eq!(path, aloop::introspect::socket_path(std::process::id()));
/// assert!(path.exists());
/// ```
pub fn serve() -> io::Result<PathBuf> {
    let mut serving = SERVING.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(path) = &*serving {
        return Ok(path.clone());
    }
    let pid = std::process::id();
    let path = socket_path(pid);
    // A socket at our own path is a dead process's (the number was reused).
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    if let Ok(c_path) = CString::new(path.as_os_str().as_bytes()) {
        if TO_REMOVE.set((c_path, pid)).is_ok() {
            // SAFETY: `remove_socket_at_exit` is an `extern "C" fn()` that only reads a
            // `OnceLock` set before this call and calls `unlink`.
            unsafe { libc::atexit(remove_socket_at_exit) };
        }
    }
    std::thread::Builder::new()
        .name("aloop-introspect".into())
        .spawn(move || accept_loop(listener))?;
    *serving = Some(path.clone());
    Ok(path)
}

/// `ALOOP_INTROSPECT=1` (or any value but `0` and empty): serve, once, reporting a
/// failure on stderr (a program that asked for it wants to know).
pub(crate) fn serve_if_asked() {
    static ASKED: std::sync::Once = std::sync::Once::new();
    ASKED.call_once(|| {
        let asked = std::env::var_os("ALOOP_INTROSPECT").is_some_and(|v| !v.is_empty() && v != "0");
        if asked {
            if let Err(e) = serve() {
                eprintln!(
                    "aloop: ALOOP_INTROSPECT is set, but the introspection socket failed: {e}"
                );
            }
        }
    });
}

/// Removes the socket, if this process serves one (at exit, and before `aloop::run`
/// ends the process by re-raising Ctrl-C's SIGINT, which skips `atexit`).
#[cfg_attr(not(feature = "process"), allow(dead_code))]
pub(crate) fn remove_socket() {
    if let Some((path, pid)) = TO_REMOVE.get() {
        if *pid == std::process::id() {
            // SAFETY: `path` is a valid NUL-terminated string that lives forever.
            unsafe { libc::unlink(path.as_ptr()) };
        }
    }
}

extern "C" fn remove_socket_at_exit() {
    remove_socket();
}

fn accept_loop(listener: UnixListener) {
    for client in listener.incoming() {
        let Ok(client) = client else {
            // EMFILE and the like: wait a little rather than spin.
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        // A client that misbehaves only loses its own answer.
        let _ = answer(client);
    }
}

/// Serves one client: reads its request line, writes the reply.
fn answer(client: UnixStream) -> io::Result<()> {
    client.set_read_timeout(Some(CLIENT_TIMEOUT))?;
    client.set_write_timeout(Some(CLIENT_TIMEOUT))?;
    let mut out = &client;
    if !same_user(&client) {
        return out.write_all(b"error: this process answers its own user only\n");
    }
    let mut request = String::new();
    BufReader::new((&client).take(64)).read_line(&mut request)?;
    let reply = match request.trim() {
        "ps" => report(LoopSnapshot::format_table),
        "tree" => report(LoopSnapshot::format_call_graph),
        other => format!("error: unknown request {other:?} (expected `ps` or `tree`)\n"),
    };
    out.write_all(reply.as_bytes())
}

/// Every loop's snapshot, formatted by `format`, one section per loop.
fn report(format: fn(&LoopSnapshot) -> String) -> String {
    let asked: Vec<(String, Option<mpsc::Receiver<LoopSnapshot>>)> = live_loops()
        .into_iter()
        .map(|shared| {
            let id = format!("loop {} (thread {})", shared.id(), shared.thread());
            if !shared.is_running() {
                return (id, None);
            }
            let (tx, rx) = mpsc::sync_channel(1);
            let asked = LoopHandle::new(shared).call_soon_threadsafe(move || {
                if let Some(state) = running_state() {
                    let _ = tx.send(capture(&state));
                }
            });
            (id, asked.ok().map(|()| rx))
        })
        .collect();
    let deadline = Instant::now() + ANSWER_WITHIN;
    let n = asked.len();
    let mut out = format!(
        "aloop process {}: {n} loop{}\n",
        std::process::id(),
        plural(n)
    );
    for (id, rx) in asked {
        out.push('\n');
        let Some(rx) = rx else {
            out.push_str(&format!("{id}: not running\n"));
            continue;
        };
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(snapshot) => {
                let n = snapshot.tasks.len();
                out.push_str(&format!("{id}: {n} task{}\n", plural(n)));
                out.push_str(&format(&snapshot));
            }
            Err(_) => out.push_str(&format!(
                "{id}: no answer within {} s (stuck in one callback or task step, or it just stopped)\n",
                ANSWER_WITHIN.as_secs()
            )),
        }
    }
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// Whether the peer runs as this process's user (Linux: `SO_PEERCRED`; elsewhere the
/// socket's mode 0600 keeps other users out).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn same_user(client: &UnixStream) -> bool {
    use std::os::unix::io::AsRawFd;
    let mut cred = libc::ucred {
        pid: 0,
        uid: u32::MAX,
        gid: u32::MAX,
    };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: `cred` and `len` are valid for writes of the sizes given; the fd is open
    // for the duration of the call.
    let rc = unsafe {
        libc::getsockopt(
            client.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    // SAFETY: `geteuid` has no preconditions.
    let me = unsafe { libc::geteuid() };
    rc == 0 && (cred.uid == me || cred.uid == 0)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn same_user(_client: &UnixStream) -> bool {
    true
}
