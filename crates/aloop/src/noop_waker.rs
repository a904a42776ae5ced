//! A waker that does nothing, for one-shot attempts that must not register the task:
//! the send queue's immediate sends (`streams/send_queue.rs`) and the TLS session's
//! records flushed from `shutdown` (`tls/session.rs`).

use std::mem::ManuallyDrop;
use std::task::{RawWaker, RawWakerVTable, Waker};

/// A waker that does nothing, for the one-shot write attempts (`Waker::noop` is newer
/// than this crate's minimum Rust version). No allocation: a static table of no-ops.
/// `ManuallyDrop`: its drop does nothing, and skipping it saves an indirect call per send.
pub(crate) fn noop_waker() -> ManuallyDrop<Waker> {
    fn clone(_: *const ()) -> RawWaker {
        RawWaker::new(std::ptr::null(), &NOOP)
    }
    fn noop(_: *const ()) {}
    static NOOP: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);
    // SAFETY: every function of the table ignores the data pointer (null here) and
    // does nothing, which fulfils RawWaker's contract trivially.
    ManuallyDrop::new(unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &NOOP)) })
}
