//! The command table and what every command goes through before it runs, in redis's
//! order: look the name up (case-insensitive), check the number of arguments, refuse
//! what subscribed mode does not allow. The commands themselves, by what they work
//! on: `strings.rs` (values), `keys.rs` (keys and expiry), `pubsub.rs` (channels),
//! `connection.rs` (the connection and the server: PING, ECHO, SELECT, QUIT,
//! COMMAND, CONFIG). Each appends its reply to `out`, errors included; `client.rs`
//! is the connection's state they may change.

mod connection;
mod keys;
mod pubsub;
mod strings;

use std::borrow::Cow;

use crate::client::Client;
use crate::int::parse_i64;
use crate::reply;

/// One argument of a request.
pub type Arg<'a> = Cow<'a, [u8]>;

type Handler = fn(&[Arg<'_>], &mut Client, &mut Vec<u8>);

/// A command: its lowercase name, redis's arity (N: exactly N arguments, the name
/// counted; -N: at least N), and whether subscribed mode allows it.
pub struct Spec {
    pub name: &'static str,
    arity: i32,
    in_subscribed_mode: bool,
    run: Handler,
}

const fn spec(name: &'static str, arity: i32, run: Handler) -> Spec {
    Spec {
        name,
        arity,
        in_subscribed_mode: false,
        run,
    }
}

const fn pubsub_spec(name: &'static str, arity: i32, run: Handler) -> Spec {
    Spec {
        name,
        arity,
        in_subscribed_mode: true,
        run,
    }
}

/// Every command, in alphabetical order.
pub static COMMANDS: &[Spec] = &[
    spec("command", -1, connection::command),
    spec("config", -2, connection::config),
    spec("dbsize", 1, keys::dbsize),
    spec("decr", 2, strings::decr),
    spec("decrby", 3, strings::decrby),
    spec("del", -2, keys::del),
    spec("echo", 2, connection::echo),
    spec("exists", -2, keys::exists),
    spec("expire", -3, keys::expire),
    spec("flushall", -1, keys::flushall),
    spec("flushdb", -1, keys::flushall),
    spec("get", 2, strings::get),
    spec("incr", 2, strings::incr),
    spec("incrby", 3, strings::incrby),
    spec("keys", 2, keys::keys),
    spec("mget", -2, strings::mget),
    spec("mset", -3, strings::mset),
    spec("persist", 2, keys::persist),
    spec("pexpire", -3, keys::pexpire),
    pubsub_spec("ping", -1, connection::ping),
    pubsub_spec("psubscribe", -2, pubsub::psubscribe),
    spec("pttl", 2, keys::pttl),
    spec("publish", 3, pubsub::publish),
    pubsub_spec("punsubscribe", -1, pubsub::punsubscribe),
    pubsub_spec("quit", -1, connection::quit),
    spec("select", 2, connection::select),
    spec("set", -3, strings::set),
    pubsub_spec("subscribe", -2, pubsub::subscribe),
    spec("ttl", 2, keys::ttl),
    pubsub_spec("unsubscribe", -1, pubsub::unsubscribe),
];

/// The command called `name`, in any case. A `match` on the lowercase name: the
/// compiler turns it into a switch on the length and a word compare or two, where a
/// search of the table by name costs a `memcmp` per probe (it was a quarter of the
/// user time per request under redis-benchmark).
fn lookup(name: &[u8]) -> Option<&'static Spec> {
    let mut buf = [0u8; 12];
    let lower = buf.get_mut(..name.len())?;
    for (l, n) in lower.iter_mut().zip(name) {
        *l = n.to_ascii_lowercase();
    }
    let index = match &*lower {
        b"command" => 0,
        b"config" => 1,
        b"dbsize" => 2,
        b"decr" => 3,
        b"decrby" => 4,
        b"del" => 5,
        b"echo" => 6,
        b"exists" => 7,
        b"expire" => 8,
        b"flushall" => 9,
        b"flushdb" => 10,
        b"get" => 11,
        b"incr" => 12,
        b"incrby" => 13,
        b"keys" => 14,
        b"mget" => 15,
        b"mset" => 16,
        b"persist" => 17,
        b"pexpire" => 18,
        b"ping" => 19,
        b"psubscribe" => 20,
        b"pttl" => 21,
        b"publish" => 22,
        b"punsubscribe" => 23,
        b"quit" => 24,
        b"select" => 25,
        b"set" => 26,
        b"subscribe" => 27,
        b"ttl" => 28,
        b"unsubscribe" => 29,
        _ => return None,
    };
    Some(&COMMANDS[index])
}

/// Runs one request (`args` not empty) and appends its reply to `out`.
pub fn execute(args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    let Some(spec) = lookup(&args[0]) else {
        return unknown_command(args, out);
    };
    let n = args.len() as i64;
    let arity = i64::from(spec.arity);
    if (arity > 0 && n != arity) || n < -arity {
        return wrong_arity(spec.name, out);
    }
    if client.subscriptions() > 0 && !spec.in_subscribed_mode {
        let message = format!(
            "Can't execute '{}': only (P)SUBSCRIBE / (P)UNSUBSCRIBE / PING / QUIT are allowed in this context",
            spec.name
        );
        return reply::error(out, &message);
    }
    (spec.run)(args, client, out);
}

/// redis's reply to an unknown command: its name and the start of its arguments,
/// each cut so that the whole stays near 128 bytes.
fn unknown_command(args: &[Arg<'_>], out: &mut Vec<u8>) {
    let mut quoted = String::new();
    for arg in &args[1..] {
        if quoted.len() >= 128 {
            break;
        }
        let room = 128 - quoted.len();
        let arg = String::from_utf8_lossy(&arg[..arg.len().min(room)]);
        quoted.push_str(&format!("'{arg}' "));
    }
    let name = String::from_utf8_lossy(&args[0][..args[0].len().min(128)]);
    let message = format!("unknown command '{name}', with args beginning with: {quoted}");
    reply::error(out, &message);
}

/// `ERR wrong number of arguments for 'get' command`.
pub fn wrong_arity(name: &str, out: &mut Vec<u8>) {
    reply::error(
        out,
        &format!("wrong number of arguments for '{name}' command"),
    );
}

/// An integer argument, or `None` after replying redis's error for one that is not.
fn integer(arg: &[u8], out: &mut Vec<u8>) -> Option<i64> {
    let n = parse_i64(arg);
    if n.is_none() {
        reply::error(out, "value is not an integer or out of range");
    }
    n
}

/// `ERR syntax error`.
fn syntax_error(out: &mut Vec<u8>) {
    reply::error(out, "syntax error");
}

#[cfg(test)]
mod tests {
    use super::{lookup, COMMANDS};

    #[test]
    fn lookup_finds_every_command_in_any_case() {
        assert!(COMMANDS.windows(2).all(|w| w[0].name < w[1].name));
        for spec in COMMANDS {
            assert_eq!(lookup(spec.name.as_bytes()).unwrap().name, spec.name);
            let upper = spec.name.to_ascii_uppercase();
            assert_eq!(lookup(upper.as_bytes()).unwrap().name, spec.name);
        }
        assert!(lookup(b"nosuchcommand").is_none());
        assert!(lookup(b"gets").is_none());
        assert!(lookup(b"a-name-longer-than-any-command").is_none());
    }
}
