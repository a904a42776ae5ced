//! Port of CPython's `Lib/test/test_asyncio/test_streams.py` (see `docs/conformance.md`
//! for the version, and for each method that has no Rust form and why): one Rust test
//! per `StreamTests` method, `streams_stream_<method>`. `reader.rs` holds the tests of a
//! hand-fed `StreamReader`; `connection.rs` those over real sockets (TCP, Unix, TLS).
//!
//! asyncio's private `stream._buffer` is read through `buffered()` (its length) and the
//! reads that follow; `read(-1)` is `read_to_eof()`; `ValueError` / `IncompleteReadError`
//! / `LimitOverrunError` are the variants of `ReadError`. CPython's `run_test_server`
//! (an HTTP server answering "Test message") is an aloop server here.

mod connection;
mod reader;

/// CPython's `StreamTests.DATA`.
const DATA: &[u8] = b"line1\nline2\nline3\n";
