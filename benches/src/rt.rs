//! How each runtime is started and handed a workload's main future, the same way for
//! every workload so cells differ only in the work.
//!
//! Every workload's main future runs as a *task* of its runtime (aloop:
//! `run_until_complete` wraps it in one; tokio: `spawn`ed from `block_on`, so on
//! multi_thread it sits on a worker with a local run queue rather than on the blocked
//! main thread; smol: `spawn`ed on the executor that `block_on` drives). Runtime
//! construction is outside every measurement: workloads time themselves.

use std::future::Future;

use async_executor::LocalExecutor;

use crate::Runtime;

/// Cores to give tokio's multi_thread runtime (its default, spelled out).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Runs `body` as the main task of a fresh aloop event loop.
pub fn aloop<F>(body: F) -> F::Output
where
    F: Future + 'static,
    F::Output: 'static,
{
    let lp = aloop::new_event_loop();
    lp.run_until_complete(body)
        .expect("aloop: the benchmark's main task failed")
}

/// A fresh tokio runtime of the kind `rt` names.
pub fn tokio_runtime(rt: Runtime) -> tokio::runtime::Runtime {
    let mut builder = match rt {
        Runtime::TokioCt => tokio::runtime::Builder::new_current_thread(),
        Runtime::TokioMt => {
            let mut b = tokio::runtime::Builder::new_multi_thread();
            b.worker_threads(cores());
            b
        }
        _ => unreachable!("not a tokio runtime: {rt:?}"),
    };
    builder
        .enable_all()
        .build()
        .expect("tokio runtime could not start")
}

/// Runs `body` as a spawned task of a fresh tokio runtime (`rt`: tokio-ct or tokio-mt).
pub fn tokio<F>(rt: Runtime, body: F) -> F::Output
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let runtime = tokio_runtime(rt);
    runtime.block_on(async { tokio::spawn(body).await.expect("tokio: main task failed") })
}

/// Runs the future `make` builds as a task of a fresh `LocalExecutor`, driven by
/// `async_io::block_on` (which also drives async-io's reactor and timers: smol's setup).
///
/// The executor is leaked so tasks can hold `&'static` to it for spawning; a cell is
/// one process, so this is reclaimed at exit.
pub fn smol<F, Fut>(make: F) -> Fut::Output
where
    F: FnOnce(&'static LocalExecutor<'static>) -> Fut,
    Fut: Future + 'static,
    Fut::Output: 'static,
{
    let ex: &'static LocalExecutor<'static> = Box::leak(Box::new(LocalExecutor::new()));
    let main = ex.spawn(make(ex));
    async_io::block_on(ex.run(main))
}

/// A small, seeded PRNG (SplitMix64), so every runtime sees the same "random" delays.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
