//! Workloads "timeout" and "timeout-wakes": awaits under a 30-second time limit that
//! never fires. The limit is armed (the future returns `Pending` first), then disarmed
//! when the future finishes.
//!
//! * "timeout": 200,000 limited awaits of a future that waits once (a yield): what a
//!   server pays per request for a read timeout around each head
//!   (`examples/http_server`). Per op: one limited await.
//! * "timeout-wakes": 20,000 limited awaits of a body that yields 10 times: what a body
//!   that wakes often under one deadline pays per wake (a connection's whole exchange
//!   under one limit, a select loop), the limit polled again at each. Per op: one wake.
//!
//! * aloop: `aloop::timeout(30 s, body)` (asyncio's `asyncio.timeout`), the body
//!   `sleep(ZERO)` (asyncio's yield).
//! * tokio: `tokio::time::timeout(30 s, body)`, the body `yield_now()`.
//! * smol: `futures_lite::future::or(body, async { async_io::Timer::after(30 s).await; .. })`,
//!   smol's own spelling of a time limit (it has no `timeout` function); the body
//!   `futures_lite::future::yield_now()`.

use std::time::{Duration, Instant};

use crate::{rt, Outcome, Runtime, Scale};

const FULL: u64 = 200_000;
const LIMIT: Duration = Duration::from_secs(30);
/// Wakes per limited await in "timeout-wakes".
pub const WAKES: u64 = 10;

/// "timeout" (`wakes` 1) or "timeout-wakes" (`wakes` 10): `FULL` wakes in all, each
/// limited await's body yielding `wakes` times.
pub fn run(runtime: Runtime, scale: Scale, wakes: u64) -> Outcome {
    let n = scale.n(FULL / wakes);
    let (elapsed, finished) = match runtime {
        Runtime::Aloop => rt::aloop(async move {
            let t = Instant::now();
            let mut finished = 0;
            for _ in 0..n {
                let body = async {
                    for _ in 0..wakes {
                        aloop::sleep(Duration::ZERO).await;
                    }
                };
                if aloop::timeout(LIMIT, body).await.is_ok() {
                    finished += 1;
                }
            }
            (t.elapsed(), finished)
        }),
        Runtime::TokioCt | Runtime::TokioMt => rt::tokio(runtime, async move {
            let t = Instant::now();
            let mut finished = 0;
            for _ in 0..n {
                let body = async {
                    for _ in 0..wakes {
                        tokio::task::yield_now().await;
                    }
                };
                if tokio::time::timeout(LIMIT, body).await.is_ok() {
                    finished += 1;
                }
            }
            (t.elapsed(), finished)
        }),
        Runtime::Smol => rt::smol(move |_ex| async move {
            let t = Instant::now();
            let mut finished = 0;
            for _ in 0..n {
                let work = async {
                    for _ in 0..wakes {
                        futures_lite::future::yield_now().await;
                    }
                    true
                };
                let limit = async {
                    async_io::Timer::after(LIMIT).await;
                    false
                };
                if futures_lite::future::or(work, limit).await {
                    finished += 1;
                }
            }
            (t.elapsed(), finished)
        }),
    };
    Outcome::new(n * wakes, elapsed, finished == n)
}
