//! [`LoopExecutor`]: hyper's `rt::Executor` on aloop's tasks. Its neighbours are
//! `io.rs` (the connection) and `timer.rs` (the timer).

use std::future::Future;

/// Spawns hyper's background futures as tasks on the running aloop loop
/// ([`aloop::create_task`]).
///
/// hyper asks for an executor where a connection needs work of its own beside the
/// caller's (HTTP/2 streams, pooled clients such as hyper-util's). aloop's tasks may be
/// `!Send`, so this executor takes any `'static` future, `Send` or not; the task is
/// detached (its handle dropped), as `tokio::spawn`'s is when its `JoinHandle` is
/// dropped, and runs until it finishes or the loop closes.
///
/// # Panics
/// `execute` panics when called outside a running aloop loop (the task would have no
/// loop to run on). hyper calls it while polling a connection, so a connection polled
/// by an aloop task is always on one.
///
/// ```
/// use hyper::rt::Executor;
///
/// aloop::run(async {
///     let (tx, rx) = std::sync::mpsc::channel();
///     aloop_hyper::LoopExecutor.execute(async move { tx.send(7).unwrap() });
///     aloop::sleep(std::time::Duration::ZERO).await; // let the task run
///     assert_eq!(rx.try_recv(), Ok(7));
/// });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct LoopExecutor;

impl<F> hyper::rt::Executor<F> for LoopExecutor
where
    F: Future + 'static,
    F::Output: 'static,
{
    fn execute(&self, future: F) {
        drop(aloop::create_task(future));
    }
}
