//! Workload "timeout": 200,000 awaits, each under a 30-second time limit that never
//! fires, of a future that waits once (a yield): what a server pays per request for a
//! read timeout around each head (`examples/http_server`). The limit is armed (the
//! future returns `Pending` first), then disarmed when the future finishes.
//!
//! * aloop: `aloop::timeout(30 s, sleep(ZERO))` (asyncio's `asyncio.timeout`).
//! * tokio: `tokio::time::timeout(30 s, yield_now())`.
//! * smol: `futures_lite::future::or(fut, async { async_io::Timer::after(30 s).await; .. })`,
//!   smol's own spelling of a time limit (it has no `timeout` function).

use std::time::{Duration, Instant};

use crate::{rt, Outcome, Runtime, Scale};

const FULL: u64 = 200_000;
const LIMIT: Duration = Duration::from_secs(30);

pub fn run(runtime: Runtime, scale: Scale) -> Outcome {
    let n = scale.n(FULL);
    let (elapsed, finished) = match runtime {
        Runtime::Aloop => rt::aloop(async move {
            let t = Instant::now();
            let mut finished = 0;
            for _ in 0..n {
                if aloop::timeout(LIMIT, aloop::sleep(Duration::ZERO))
                    .await
                    .is_ok()
                {
                    finished += 1;
                }
            }
            (t.elapsed(), finished)
        }),
        Runtime::TokioCt | Runtime::TokioMt => rt::tokio(runtime, async move {
            let t = Instant::now();
            let mut finished = 0;
            for _ in 0..n {
                if tokio::time::timeout(LIMIT, tokio::task::yield_now())
                    .await
                    .is_ok()
                {
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
                    futures_lite::future::yield_now().await;
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
    Outcome::new(n, elapsed, finished == n)
}
