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

pub(crate) use aloop_tests::cpython::{on_thread_within as bounded, until as wait_until};
