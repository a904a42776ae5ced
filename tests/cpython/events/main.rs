//! Port of CPython's `Lib/test/test_asyncio/test_events.py` (see `docs/conformance.md`
//! for the version, and for each method that has no Rust form and why). CPython runs
//! `EventLoopTestsMixin` and `SubprocessTestsMixin` once per selector (epoll, poll,
//! select, kqueue): aloop has one reactor, so each method is one Rust test,
//! `events_event_loop_<method>` / `events_subprocess_<method>`; `HandleTests` and
//! `TimerTests` become `events_handle_<method>` / `events_timer_<method>`.
//!
//! The files: `run_loop.rs` (running, stopping, closing, `call_soon*`, the executor),
//! `fds.rs` (`add_reader` / `add_writer`, `sock_recv` cancellation), `signals.rs`,
//! `connections.rs` (TCP and Unix `create_connection` / `create_server`), `tls.rs`,
//! `datagram.rs`, `subprocess.rs`, `handles.rs`.

mod connections;
mod datagram;
mod fds;
mod handles;
mod run_loop;
mod signals;
mod subprocess;
mod tls;

use std::time::Duration;

/// Runs `f` (which makes its own loop) on a thread of its own and fails the test if it
/// has not returned within `secs` seconds, so a loop that failed to stop cannot hang
/// CI. The loop is `!Send`, so it is made inside `f`.
#[track_caller]
fn bounded<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(value) => {
            worker.join().unwrap();
            value
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match worker.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => unreachable!("the sender is dropped only after sending"),
        },
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("the loop did not return within {secs} s")
        }
    }
}

/// Waits on the running loop until `cond` holds, failing the test after 10 s
/// (CPython's `test_utils.run_until`).
async fn wait_until(mut cond: impl FnMut() -> bool) {
    aloop::timeout(Some(Duration::from_secs(10)), async {
        while !cond() {
            aloop::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the condition did not hold within 10 s");
}
