//! `cell <aloop|tokio-ct> pg`: what `aloop::compat`'s hop costs (issue 19), measured on
//! `tokio-postgres` against a real PostgreSQL server (`ALOOP_PG`, see `compat.sh`).
//!
//! The same client code runs on both runtimes:
//! * `aloop`: `aloop::run`; `connect` awaited inside `Compat`, the `Connection` future
//!   spawned as an aloop task wrapped in `Compat`, the queries awaited from aloop tasks.
//!   The socket belongs to the background tokio runtime that `Compat` starts: its thread
//!   waits for readiness and wakes the aloop connection task across threads.
//! * `tokio-ct`: a tokio `current_thread` runtime; the `Connection` `tokio::spawn`ed,
//!   the queries from tokio tasks. One thread does everything.
//!
//! Phases, each timed on its own: `seq` 20,000 sequential round trips (`SELECT
//! $1::int4`, prepared: one Bind/Execute/Sync each), then `conc` the same query from 50
//! tasks × 1,000 at once, pipelined by tokio-postgres on the one connection. Every
//! answer is checked.
//! Besides the wall clock, each phase reads the CPU time of every thread of this process
//! and of the server's backend process (`/proc/<pid>/task/*/schedstat`, `/proc/<pid>/
//! schedstat`, ns), so the report can say where the time went.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aloop::compat::Compat;
use tokio_postgres::{Client, NoTls, Statement};

use crate::{cpu_ns_threads, rt, Outcome, Runtime, Scale};

/// The default server, as the compat tests' (`tests/compat/postgres.rs`).
pub const DEFAULT_PG: &str = "host=127.0.0.1 user=postgres password=postgres dbname=postgres";

const SEQ: u64 = 20_000;
const TASKS: u64 = 50;
const PER_TASK: u64 = 1_000;
const WARM_UP: u64 = 500;

type Job = Pin<Box<dyn Future<Output = bool> + Send>>;

fn params() -> String {
    std::env::var("ALOOP_PG")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_PG.to_string())
}

pub fn run(rt: Runtime, scale: Scale) -> Outcome {
    let seq = scale.n(SEQ);
    let per_task = scale.n(PER_TASK);
    match rt {
        Runtime::Aloop => rt::aloop(async move {
            let (client, connection) = Compat::new(tokio_postgres::connect(&params(), NoTls))
                .await
                .unwrap_or_else(|e| panic!("pg: cannot connect ({}): {e:?}", params()));
            let conn = aloop::create_task(Compat::new(connection));
            let out = phases(Arc::new(client), seq, per_task, |jobs| async move {
                aloop::gather(jobs).await.unwrap_or_default()
            })
            .await;
            let mut out = out;
            out.checks &= conn.await.is_ok_and(|r| r.is_ok());
            out
        }),
        Runtime::TokioCt => rt::tokio(rt, async move {
            let (client, connection) = tokio_postgres::connect(&params(), NoTls)
                .await
                .unwrap_or_else(|e| panic!("pg: cannot connect ({}): {e:?}", params()));
            let conn = tokio::spawn(connection);
            let out = phases(Arc::new(client), seq, per_task, |jobs| async move {
                let handles: Vec<_> = jobs.into_iter().map(tokio::spawn).collect();
                let mut oks = Vec::with_capacity(handles.len());
                for h in handles {
                    oks.push(h.await.unwrap_or(false));
                }
                oks
            })
            .await;
            let mut out = out;
            out.checks &= conn.await.is_ok_and(|r| r.is_ok());
            out
        }),
        _ => panic!("pg: runtimes are aloop (through aloop::compat) and tokio-ct"),
    }
}

/// `n` round trips of `SELECT $1::int4` from this task, one after the other: whether
/// every answer was its own value.
async fn round_trips(client: Arc<Client>, stmt: Statement, first: u64, n: u64) -> bool {
    let mut ok = true;
    for i in first..first + n {
        let v = (i % 1_000_000) as i32;
        match client.query_one(&stmt, &[&v]).await {
            Ok(row) => ok &= row.get::<_, i32>(0) == v,
            Err(_) => ok = false,
        }
    }
    ok
}

/// Wall clock, this process's CPU and the backend's CPU over one phase.
struct Clock {
    start: Instant,
    own: f64,
    backend: f64,
    backend_pid: String,
}

impl Clock {
    fn start(backend_pid: &str) -> Clock {
        Clock {
            own: cpu_ns_threads("self"),
            backend: cpu_ns_threads(backend_pid),
            backend_pid: backend_pid.to_string(),
            start: Instant::now(),
        }
    }

    /// (elapsed, own CPU µs per op, backend CPU µs per op).
    fn per_op(&self, ops: u64) -> (Duration, f64, f64) {
        let elapsed = self.start.elapsed();
        let own = cpu_ns_threads("self") - self.own;
        let backend = cpu_ns_threads(&self.backend_pid) - self.backend;
        let ops = ops as f64;
        (elapsed, own / 1e3 / ops, backend / 1e3 / ops)
    }
}

async fn phases<F, Fut>(client: Arc<Client>, seq: u64, per_task: u64, run_all: F) -> Outcome
where
    F: FnOnce(Vec<Job>) -> Fut,
    Fut: Future<Output = Vec<bool>>,
{
    let stmt = client
        .prepare("SELECT $1::int4")
        .await
        .expect("pg: prepare");
    let backend_pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .expect("pg: pg_backend_pid()")
        .get(0);
    let backend_pid = backend_pid.to_string();
    let mut ok = round_trips(Arc::clone(&client), stmt.clone(), 0, WARM_UP).await;

    let clock = Clock::start(&backend_pid);
    ok &= round_trips(Arc::clone(&client), stmt.clone(), 0, seq).await;
    let (seq_elapsed, seq_cpu, seq_backend) = clock.per_op(seq);

    let jobs: Vec<Job> = (0..TASKS)
        .map(|t| {
            Box::pin(round_trips(
                Arc::clone(&client),
                stmt.clone(),
                t * per_task,
                per_task,
            )) as Job
        })
        .collect();
    let conc = TASKS * per_task;
    let clock = Clock::start(&backend_pid);
    let oks = run_all(jobs).await;
    let (conc_elapsed, conc_cpu, conc_backend) = clock.per_op(conc);
    ok &= oks.len() == TASKS as usize && oks.iter().all(|&o| o);

    // Dropping the last handle ends the connection task (checked by the caller).
    drop(stmt);
    drop(client);
    Outcome::new(seq + conc, seq_elapsed + conc_elapsed, ok)
        .with("seq_round_trips", seq as f64)
        .with(
            "seq_us_per_round_trip",
            seq_elapsed.as_secs_f64() * 1e6 / seq as f64,
        )
        .with("seq_cpu_us_per_round_trip", seq_cpu)
        .with("seq_backend_cpu_us_per_round_trip", seq_backend)
        .with("conc_tasks", TASKS as f64)
        .with("conc_queries", conc as f64)
        .with(
            "conc_us_per_query",
            conc_elapsed.as_secs_f64() * 1e6 / conc as f64,
        )
        .with("conc_cpu_us_per_query", conc_cpu)
        .with("conc_backend_cpu_us_per_query", conc_backend)
}
