//! mini-redis: a small redis server on aloop's streams, that redis-cli and
//! redis-benchmark talk to as to the real one. RESP2, pipelining, inline commands;
//! strings with expiry, keys with glob patterns, publish/subscribe.
//!
//! Run: `cargo run --release --example mini_redis [-- PORT] [--max-query-buffer BYTES]`
//! (default port 6380, 127.0.0.1 only), then e.g.
//! `redis-cli -p 6380 SET greeting hello EX 60`, `redis-cli -p 6380 SUBSCRIBE news`
//! and `redis-benchmark -p 6380 -q -t ping,set,get,incr,mset`. Ctrl-C stops it.
//!
//! Commands: PING ECHO GET SET (EX PX EXAT PXAT NX XX KEEPTTL GET) MGET MSET INCR
//! DECR INCRBY DECRBY DEL EXISTS KEYS EXPIRE PEXPIRE (NX XX GT LT) TTL PTTL PERSIST
//! PUBLISH SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE SELECT (0 only) DBSIZE
//! FLUSHALL FLUSHDB QUIT, and COMMAND / CONFIG GET enough for the clients' start-up.
//!
//! One event loop serves every connection, as one redis thread does: the keyspace is
//! a plain `Rc<RefCell<..>>`. (It does not offer `--loops N` as `echo_server` does:
//! connections on N loops would need one keyspace behind a lock, which is no longer
//! the single-threaded design redis and this example share.)
//!
//! The files: `connection.rs` (a client's read-answer loop), `querybuf.rs` and
//! `resp.rs` (+ `inline.rs`) (requests in), `reply.rs` (replies out), `commands/`,
//! `db.rs` (keys, expiry on the loop's timers), `pubsub.rs`, `glob.rs`, `int.rs`,
//! `client.rs` and `server.rs` (state).

mod client;
mod commands;
mod connection;
mod db;
mod glob;
mod inline;
mod int;
mod pubsub;
mod querybuf;
mod reply;
mod resp;
mod server;

use std::process::ExitCode;

use server::{Config, Server, DEFAULT_MAX_QUERY_BUFFER};

const USAGE: &str = "usage: mini_redis [PORT] [--max-query-buffer BYTES]";

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Config, String> {
    let mut config = Config {
        port: 6380,
        max_query_buffer: DEFAULT_MAX_QUERY_BUFFER,
    };
    while let Some(arg) = args.next() {
        if arg == "--max-query-buffer" {
            let value = args
                .next()
                .ok_or("--max-query-buffer needs a number of bytes")?;
            config.max_query_buffer = value
                .parse()
                .ok()
                .filter(|&n| n > 0)
                .ok_or(format!("bad --max-query-buffer {value:?}"))?;
        } else {
            config.port = arg.parse().map_err(|e| format!("bad port {arg:?}: {e}"))?;
        }
    }
    Ok(config)
}

fn main() -> ExitCode {
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("mini_redis: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    aloop::run(async move {
        let lp = aloop::get_running_loop().expect("inside aloop::run");
        let port = config.port;
        let server = Server::new(config, lp);
        let listener = aloop::start_server(
            move |reader, writer| connection::serve(reader, writer, server.clone()),
            "127.0.0.1",
            port,
        )
        .await;
        let listener = match listener {
            Ok(listener) => listener,
            Err(e) => {
                eprintln!("mini_redis: cannot listen on 127.0.0.1:{port}: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("listening on {}", listener.sockets()[0]);
        match listener.serve_forever().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("mini_redis: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
