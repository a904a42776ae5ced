//! The commands on keys: DEL, EXISTS, KEYS, DBSIZE, FLUSHALL/FLUSHDB, and expiry:
//! EXPIRE/PEXPIRE (with NX/XX/GT/LT), TTL/PTTL, PERSIST, with redis's replies (TTL's
//! -2 for a missing key, -1 for one without expiry) and error texts. Part of
//! `commands/`; the keyspace and its expiry timers are `db.rs`.

use std::time::Instant;

use super::{integer, syntax_error, Arg};
use crate::client::Client;
use crate::commands::strings::unix_ms;
use crate::db::deadline_in;
use crate::glob;
use crate::reply;

pub fn del(args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    let mut db = client.server.db.borrow_mut();
    let removed = args[1..].iter().filter(|key| db.remove(key)).count();
    reply::integer(out, removed as i64);
}

/// EXISTS key [key ...]: how many of the keys exist, a key named twice counted twice.
pub fn exists(args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    let db = client.server.db.borrow();
    let found = args[1..].iter().filter(|key| db.get(key).is_some()).count();
    reply::integer(out, found as i64);
}

/// KEYS pattern: every key matching the glob pattern (`glob.rs`), in no order.
pub fn keys(args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    let pattern = &args[1];
    let db = client.server.db.borrow();
    // `*` takes every key, the empty one too (which `glob::matches` would not match),
    // as redis's KEYS does.
    let all = pattern.as_ref() == b"*";
    let keys = db.keys(|key| all || glob::matches(pattern, key));
    reply::array(out, keys.len());
    for key in keys {
        reply::bulk(out, key);
    }
}

pub fn dbsize(_: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    reply::integer(out, client.server.db.borrow().len() as i64);
}

/// FLUSHALL / FLUSHDB [ASYNC | SYNC]: both empty the only database, synchronously.
pub fn flushall(args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    match &args[1..] {
        [] => {}
        [mode] if mode.eq_ignore_ascii_case(b"async") || mode.eq_ignore_ascii_case(b"sync") => {}
        _ => return syntax_error(out),
    }
    client.server.db.borrow_mut().clear();
    out.extend_from_slice(reply::OK);
}

pub fn expire(args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    expire_generic("expire", 1000, args, client, out);
}

pub fn pexpire(args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    expire_generic("pexpire", 1, args, client, out);
}

/// EXPIRE's condition: set the deadline only if the key has none (NX), has one
/// (XX), or the new one is later (GT) or earlier (LT) than it; no deadline counts
/// as infinitely late.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Condition {
    Always,
    Nx,
    Xx,
    Gt,
    Lt,
}

/// The condition options of EXPIRE, or `None` after replying redis's error.
fn condition(options: &[Arg<'_>], out: &mut Vec<u8>) -> Option<Condition> {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for option in options {
        match option.to_ascii_lowercase().as_slice() {
            b"nx" => nx = true,
            b"xx" => xx = true,
            b"gt" => gt = true,
            b"lt" => lt = true,
            _ => {
                let option = String::from_utf8_lossy(option);
                reply::error(out, &format!("Unsupported option {option}"));
                return None;
            }
        }
    }
    if nx && (xx || gt || lt) {
        reply::error(
            out,
            "NX and XX, GT or LT options at the same time are not compatible",
        );
        return None;
    }
    if gt && lt {
        reply::error(out, "GT and LT options at the same time are not compatible");
        return None;
    }
    Some(match (nx, xx, gt, lt) {
        (true, ..) => Condition::Nx,
        (_, _, true, _) => Condition::Gt,
        (_, _, _, true) => Condition::Lt,
        (_, true, ..) => Condition::Xx,
        _ => Condition::Always,
    })
}

/// EXPIRE / PEXPIRE key time [NX | XX | GT | LT]: `unit_ms` is the unit of `time`.
/// A time not in the future deletes the key (reply 1), as redis does.
fn expire_generic(
    name: &str,
    unit_ms: i64,
    args: &[Arg<'_>],
    client: &mut Client,
    out: &mut Vec<u8>,
) {
    let Some(condition) = condition(&args[3..], out) else {
        return;
    };
    let Some(time) = integer(&args[2], out) else {
        return;
    };
    // redis's overflow checks, on the wall clock it keeps deadlines in.
    let Some(ms) = time
        .checked_mul(unit_ms)
        .filter(|ms| ms.checked_add(unix_ms()).is_some())
    else {
        return reply::error(out, &format!("invalid expire time in '{name}' command"));
    };
    let mut db = client.server.db.borrow_mut();
    let now = db.now();
    let Some(entry) = db.get(&args[1]) else {
        return reply::integer(out, 0);
    };
    let new = deadline_in(now, ms);
    let allowed = match (condition, entry.expires_at()) {
        (Condition::Always, _) => true,
        (Condition::Nx, current) => current.is_none(),
        (Condition::Xx, current) => current.is_some(),
        // A deadline already passed is earlier than any.
        (Condition::Gt, Some(current)) => new.is_some_and(|new| new > current),
        (Condition::Gt, None) => false,
        (Condition::Lt, Some(current)) => match new {
            Some(new) => new < current,
            None => true,
        },
        (Condition::Lt, None) => true,
    };
    if !allowed {
        return reply::integer(out, 0);
    }
    // `None`: the deadline has passed, the key goes now.
    db.set_expiry(&args[1], Some(new.unwrap_or(now)));
    reply::integer(out, 1);
}

/// TTL / PTTL: the time left, -1 without expiry, -2 for a missing key.
fn time_to_live(key: &[u8], client: &Client, unit_ms: u128) -> i64 {
    let db = client.server.db.borrow();
    let Some(entry) = db.get(key) else {
        return -2;
    };
    let Some(at) = entry.expires_at() else {
        return -1;
    };
    let ms = at.saturating_duration_since(db.now()).as_millis();
    // TTL rounds to the nearest second, as redis does.
    ((ms + unit_ms / 2) / unit_ms) as i64
}

pub fn ttl(args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    reply::integer(out, time_to_live(&args[1], client, 1000));
}

pub fn pttl(args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    reply::integer(out, time_to_live(&args[1], client, 1));
}

/// PERSIST key: 1 if it removed a deadline, 0 if the key is missing or had none.
pub fn persist(args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    let mut db = client.server.db.borrow_mut();
    let had: Option<Instant> = db.get(&args[1]).and_then(|e| e.expires_at());
    if had.is_some() {
        db.set_expiry(&args[1], None);
    }
    reply::integer(out, i64::from(had.is_some()));
}
