//! Port of CPython's `Lib/test/test_asyncio/test_base_events.py` (see
//! `docs/conformance.md` for the version, and for each method that has no Rust form and
//! why). Most of that file drives `BaseEventLoop` through mocks of its private parts
//! (`_selector`, `_run_once`, `_process_events`, a mocked `socket` module); what is
//! ported here is what a user of the loop can see: scheduling and running
//! (`run_loop.rs`), the exception handler, debug mode and the executor
//! (`handlers.rs`), the network calls' behaviour and errors (`network.rs`), and
//! `sock_sendfile` (`sendfile.rs`). Each test is `base_events_<class>_<method>`.

mod handlers;
mod network;
mod run_loop;
mod sendfile;

use std::time::Duration;

/// Runs `f` (which makes its own loop) on a thread of its own and fails the test if it
/// has not returned within `secs` seconds: a loop that failed to stop cannot hang CI.
/// The loop is `!Send`, so it is made inside `f`.
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
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            // `f` panicked: re-raise its panic here.
            match worker.join() {
                Err(panic) => std::panic::resume_unwind(panic),
                Ok(()) => unreachable!("the sender is dropped only after sending"),
            }
        }
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
