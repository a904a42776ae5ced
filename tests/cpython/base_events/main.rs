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

pub(crate) use aloop_tests::cpython::{on_thread_within as bounded, until as wait_until};
