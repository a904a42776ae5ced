//! Test helpers shared by the integration tests: a watchdog so a bug that would hang
//! fails the test instead, and a fresh reactor per test.
#![allow(dead_code)]

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Generous bound for anything that must "not hang": far above any real latency.
pub const HANG: Duration = Duration::from_secs(30);

/// Runs `f` on its own thread and panics if it does not finish within [`HANG`].
pub fn watchdog<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        let out = f();
        let _ = tx.send(());
        out
    });
    match rx.recv_timeout(HANG) {
        Ok(()) => handle.join().expect("test body panicked"),
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Ok(out) => out,
            Err(p) => std::panic::resume_unwind(p),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("test hung for {HANG:?}"),
    }
}

/// A deterministic byte pattern, different per connection, so misrouted or
/// reordered bytes are caught.
pub fn pattern(seed: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + seed * 7 + i / 251) % 256) as u8)
        .collect()
}
