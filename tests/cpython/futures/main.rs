//! Port of CPython's `Lib/test/test_asyncio/test_futures.py` (see `docs/conformance.md`
//! for the version, and for each method that has no Rust form and why). CPython runs
//! `BaseFutureTests` and `BaseFutureDoneCallbackTests` once per implementation (the C
//! `Future`, a C subclass, the pure-Python one); aloop has one `Promise`, so each method
//! becomes one Rust test named after the base class: `futures_base_future_<method>`
//! (`future.rs`) and `futures_base_future_done_callback_<method>` (`done_callback.rs`).
//!
//! `asyncio.Future` is `aloop::Promise`; `set_exception(e)` is `set_result(Err(e))` on a
//! `Promise<Result<T, E>>` (the Python exception's name stands for `e`); the
//! `concurrent.futures` future that `wrap_future` adapts is aloop's `JobFuture`, which a
//! task awaits directly; asyncio's logger is the loop's exception handler.

mod done_callback;
mod future;
