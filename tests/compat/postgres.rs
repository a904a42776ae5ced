//! tokio-postgres from aloop tasks, through `aloop::compat` (issue 19).
//!
//! No tokio runtime is started here: the tests run `aloop::run`, and every future that
//! owns tokio I/O (`tokio_postgres::connect`, the `Connection` that drives the socket) is
//! wrapped in `aloop::compat::Compat` and awaited or spawned as an aloop task. The
//! `Client`'s queries are plain futures talking to the connection task over a channel,
//! so they are awaited directly, from as many aloop tasks as we like.
//!
//! The server: `ALOOP_PG` (a libpq-style string), by default
//! `host=127.0.0.1 user=postgres password=postgres dbname=postgres`. With `ALOOP_PG`
//! unset and nothing answering there, each test prints `skipped: no PostgreSQL at ...`
//! and passes; with `ALOOP_PG` set, as `.ci/run` does after starting PostgreSQL, a
//! server that does not answer fails the test, so CI cannot skip it by accident.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use aloop::compat::Compat;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

const DEFAULT_PG: &str = "host=127.0.0.1 user=postgres password=postgres dbname=postgres";
const TASKS: usize = 10;
const ROWS_PER_TASK: usize = 100;

/// The connection string, and whether the user asked for this server (`ALOOP_PG` set).
fn pg_params() -> (String, bool) {
    match std::env::var("ALOOP_PG") {
        Ok(s) if !s.trim().is_empty() => (s, true),
        _ => (DEFAULT_PG.to_string(), false),
    }
}

/// The connection string with its password hidden, for messages.
fn redacted(params: &str) -> String {
    params
        .split_whitespace()
        .map(|kv| {
            if kv.starts_with("password=") {
                "password=***"
            } else {
                kv
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

type ConnectionTask = aloop::Task<Result<(), tokio_postgres::Error>>;

/// Connects from the running aloop task: the handshake runs inside `Compat` (tokio's
/// `TcpStream::connect` needs a runtime), and the connection future, which owns the
/// socket, becomes an aloop task wrapped in `Compat`. It ends when every `Client` handle
/// is dropped.
async fn connect(params: &str) -> Result<(Client, ConnectionTask), tokio_postgres::Error> {
    let mut config: tokio_postgres::Config = params.parse()?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(10));
    }
    let (client, connection) = Compat::new(config.connect(NoTls)).await?;
    Ok((client, aloop::create_task(Compat::new(connection))))
}

/// Connects, or says why the test is skipped (`None`): only when `ALOOP_PG` is unset.
async fn connect_or_skip(test: &str) -> Option<(Client, ConnectionTask)> {
    let (params, required) = pg_params();
    match connect(&params).await {
        Ok(pair) => Some(pair),
        Err(e) if !required => {
            println!(
                "{test}: skipped: no PostgreSQL at {}: {} (set ALOOP_PG to a libpq \
                 connection string to run it)",
                redacted(&params),
                with_causes(&e)
            );
            None
        }
        Err(e) => panic!(
            "ALOOP_PG is set ({}) but PostgreSQL cannot be reached: {}",
            redacted(&params),
            with_causes(&e)
        ),
    }
}

/// An error with its causes: tokio-postgres's own message ("error connecting to server")
/// keeps the OS error in its source.
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A table name no other run (or test of this binary) uses at the same time.
fn table_name(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("aloop_compat_{tag}_{}_{nanos}", std::process::id())
}

fn payload(task: usize, row: usize) -> String {
    format!("task {task} row {row}: {}", "x".repeat(row % 17))
}

/// Drops `table` when the test ends, also when it fails: on a thread of its own with a
/// loop and a connection of its own, since the drop may happen while the test's loop is
/// unwinding, and the test's connection may be what failed.
struct DropTable(String);

impl Drop for DropTable {
    fn drop(&mut self) {
        let table = self.0.clone();
        let (params, _) = pg_params();
        let dropped = std::thread::spawn(move || {
            aloop::try_run(async move {
                let (client, conn) = connect(&params).await?;
                client
                    .batch_execute(&format!("DROP TABLE IF EXISTS {table}"))
                    .await?;
                drop(client);
                conn.await.expect("connection task")
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(Ok(())))) {
            eprintln!("could not drop table {}: {dropped:?}", self.0);
        }
    }
}

/// The scenario: a table, 1,000 inserts from 10 concurrent aloop tasks sharing
/// one client, a transaction rolled back, then every row checked.
#[test]
fn inserts_from_concurrent_aloop_tasks_and_a_rollback() {
    let (params, _) = pg_params();
    let table = table_name("rows");
    let _cleanup = aloop::run({
        let table = table.clone();
        async move {
            let (client, conn) =
                connect_or_skip("inserts_from_concurrent_aloop_tasks_and_a_rollback").await?;
            let cleanup = DropTable(table.clone());
            client
                .batch_execute(&format!(
                    "SET synchronous_commit TO off; \
                     CREATE TABLE {table} (id INT PRIMARY KEY, task INT NOT NULL, payload TEXT NOT NULL)"
                ))
                .await
                .expect("CREATE TABLE");

            // (No fsync per INSERT for this session: the test is about the client side.)
            // One client shared by the ten tasks, through an `Rc` (aloop tasks may hold
            // `!Send` data; under `tokio::spawn` this would have to be an `Arc`):
            // tokio-postgres pipelines the requests of every handle on its one
            // connection, so ten tasks keep ten inserts in flight on one socket and one
            // connection task, which is the pattern the library is built for. Ten
            // clients would be ten connections, ten server processes, ten sockets on the
            // background runtime: more of PostgreSQL, no more of aloop.
            let client = Rc::new(client);
            let insert = client
                .prepare(&format!(
                    "INSERT INTO {table} (id, task, payload) VALUES ($1, $2, $3)"
                ))
                .await
                .expect("prepare INSERT");
            // Which task each completed insert belonged to, in completion order.
            let completions = Rc::new(RefCell::new(Vec::with_capacity(TASKS * ROWS_PER_TASK)));
            let inserters = (0..TASKS).map(|t| {
                let client = Rc::clone(&client);
                let insert = insert.clone();
                let completions = Rc::clone(&completions);
                async move {
                    for r in 0..ROWS_PER_TASK {
                        let id = (t * ROWS_PER_TASK + r) as i32;
                        let n = client
                            .execute(&insert, &[&id, &(t as i32), &payload(t, r)])
                            .await?;
                        assert_eq!(n, 1, "one row per INSERT");
                        completions.borrow_mut().push(t);
                    }
                    Ok::<usize, tokio_postgres::Error>(t)
                }
            });
            let done = aloop::gather(inserters)
                .await
                .expect("no inserter panicked");
            for (t, outcome) in done.into_iter().enumerate() {
                assert_eq!(outcome.expect("every INSERT succeeded"), t);
            }
            // The tasks ran side by side, not one after the other: every task had an
            // insert done before any task had all of its own done.
            {
                let completions = completions.borrow();
                assert_eq!(completions.len(), TASKS * ROWS_PER_TASK);
                let first_finished = (0..TASKS)
                    .filter_map(|t| completions.iter().rposition(|&c| c == t))
                    .min()
                    .unwrap();
                for t in 0..TASKS {
                    let first = completions.iter().position(|&c| c == t).unwrap();
                    assert!(
                        first < first_finished,
                        "task {t}'s first insert completed after another task had finished all \
                         of its own: the tasks were serialized ({completions:?})"
                    );
                }
            }

            // A transaction rolled back, on a second connection (a `Transaction` needs
            // `&mut Client`, and a transaction on the shared client would take in
            // whatever the other handles send meanwhile). While it is open, the first
            // connection does not see its rows; after the rollback nobody does.
            let (mut other, other_conn) = connect(&params).await.expect("second connection");
            let tx = other.transaction().await.expect("BEGIN");
            let rolled_back = tx
                .execute(
                    &format!(
                        "INSERT INTO {table} (id, task, payload) \
                         SELECT g, -1, 'rolled back' FROM generate_series(100000, 100049) AS g"
                    ),
                    &[],
                )
                .await
                .expect("INSERT in the transaction");
            assert_eq!(rolled_back, 50);
            let inside: i64 = tx
                .query_one(&format!("SELECT count(*) FROM {table}"), &[])
                .await
                .expect("count inside")
                .get(0);
            assert_eq!(inside, (TASKS * ROWS_PER_TASK + 50) as i64);
            let outside: i64 = client
                .query_one(&format!("SELECT count(*) FROM {table}"), &[])
                .await
                .expect("count outside")
                .get(0);
            assert_eq!(
                outside,
                (TASKS * ROWS_PER_TASK) as i64,
                "uncommitted rows seen"
            );
            tx.rollback().await.expect("ROLLBACK");
            drop(other);
            other_conn
                .await
                .expect("second connection task")
                .expect("second connection ended cleanly");

            // Every row: the count, then each value.
            let count: i64 = client
                .query_one(&format!("SELECT count(*) FROM {table}"), &[])
                .await
                .expect("count")
                .get(0);
            assert_eq!(count, (TASKS * ROWS_PER_TASK) as i64);
            let gone: i64 = client
                .query_one(&format!("SELECT count(*) FROM {table} WHERE task < 0"), &[])
                .await
                .expect("count rolled back")
                .get(0);
            assert_eq!(gone, 0, "rolled-back rows are there");
            let rows = client
                .query(
                    &format!("SELECT id, task, payload FROM {table} ORDER BY id"),
                    &[],
                )
                .await
                .expect("SELECT every row");
            assert_eq!(rows.len(), TASKS * ROWS_PER_TASK);
            for (i, row) in rows.iter().enumerate() {
                let (id, task, text): (i32, i32, String) = (row.get(0), row.get(1), row.get(2));
                assert_eq!(id as usize, i);
                assert_eq!(task as usize, i / ROWS_PER_TASK, "row {id}");
                assert_eq!(
                    text,
                    payload(i / ROWS_PER_TASK, i % ROWS_PER_TASK),
                    "row {id}"
                );
            }

            // Dropping the last client handle ends the connection task, cleanly.
            drop(client);
            conn.await
                .expect("connection task")
                .expect("connection ended cleanly");
            Some(cleanup)
        }
    });
}

/// A server-side error reaches the aloop task as tokio-postgres's error, with its
/// SQLSTATE, and the connection goes on serving.
#[test]
fn a_sql_error_reaches_the_task_and_the_connection_goes_on() {
    let table = table_name("errors");
    let _cleanup = aloop::run({
        let table = table.clone();
        async move {
            let (client, conn) =
                connect_or_skip("a_sql_error_reaches_the_task_and_the_connection_goes_on").await?;
            let cleanup = DropTable(table.clone());
            client
                .batch_execute(&format!(
                    "CREATE TABLE {table} (id INT PRIMARY KEY); INSERT INTO {table} VALUES (1)"
                ))
                .await
                .expect("CREATE TABLE");
            let err = client
                .execute(&format!("INSERT INTO {table} VALUES (1)"), &[])
                .await
                .expect_err("a duplicate key must fail");
            assert_eq!(err.code(), Some(&SqlState::UNIQUE_VIOLATION), "{err}");
            let err = client
                .query("SELECT * FROM aloop_no_such_table_anywhere", &[])
                .await
                .expect_err("an unknown table must fail");
            assert_eq!(err.code(), Some(&SqlState::UNDEFINED_TABLE), "{err}");
            let n: i64 = client
                .query_one(&format!("SELECT count(*) FROM {table}"), &[])
                .await
                .expect("the connection still serves")
                .get(0);
            assert_eq!(n, 1);
            drop(client);
            conn.await
                .expect("connection task")
                .expect("connection ended cleanly");
            Some(cleanup)
        }
    });
}

/// Cancelling an aloop task that awaits a query (asyncio's `task.cancel()`) drops the
/// query future; tokio-postgres still reads and discards that reply, so the next query
/// on the same client gets its own answer, not the cancelled one's.
#[test]
fn cancelling_a_task_mid_query_leaves_the_client_usable() {
    aloop::run(async {
        let Some((client, conn)) =
            connect_or_skip("cancelling_a_task_mid_query_leaves_the_client_usable").await
        else {
            return;
        };
        let client = Rc::new(client);
        let slow = aloop::create_task({
            let client = Rc::clone(&client);
            async move {
                client
                    .query_one("SELECT 'slow'::text FROM pg_sleep(1)", &[])
                    .await
                    .map(|row| row.get::<_, String>(0))
            }
        });
        // Let it send its query (one loop iteration is enough; 50 ms is plenty), then
        // cancel it while the server sleeps.
        aloop::sleep(Duration::from_millis(50)).await;
        assert!(
            slow.cancel(),
            "the query of pg_sleep(1) was already answered"
        );
        assert!(matches!(slow.await, Err(aloop::TaskError::Cancelled)));
        let fast: String = client
            .query_one("SELECT 'fast'::text", &[])
            .await
            .expect("the client after a cancelled query")
            .get(0);
        assert_eq!(fast, "fast");
        drop(client);
        conn.await
            .expect("connection task")
            .expect("connection ended cleanly");
    });
}
