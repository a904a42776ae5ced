//! Helpers shared by the aloop-blocking integration tests.

use std::thread;
use std::time::Duration;

/// Polls `cond` for up to 5 s (generous: no test asserts tight timing).
pub fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    for _ in 0..500 {
        if cond() {
            return true;
        }
        thread::sleep(Duration::from_millis(10));
    }
    cond()
}
