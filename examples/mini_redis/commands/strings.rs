//! The commands on values: GET, SET (with EX/PX/EXAT/PXAT, NX/XX, KEEPTTL, GET),
//! MGET, MSET, and the counters INCR/DECR/INCRBY/DECRBY, with redis's replies and
//! error texts. Part of `commands/`; the keyspace is `db.rs`.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::{integer, syntax_error, wrong_arity, Arg};
use crate::client::Client;
use crate::db::deadline_in;
use crate::int::{parse_i64, write_i64};
use crate::reply;

pub fn get(args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    let db = client.server.db.borrow();
    reply::bulk_or_null(out, db.get(&args[1]).map(|e| e.value.as_slice()));
}

pub fn mget(args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    let db = client.server.db.borrow();
    reply::array(out, args.len() - 1);
    for key in &args[1..] {
        reply::bulk_or_null(out, db.get(key).map(|e| e.value.as_slice()));
    }
}

pub fn mset(args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    let pairs = args[1..].chunks_exact(2);
    if !pairs.remainder().is_empty() {
        return wrong_arity("mset", out);
    }
    let mut db = client.server.db.borrow_mut();
    for pair in pairs {
        db.set(&pair[0], &pair[1], false);
    }
    out.extend_from_slice(reply::OK);
}

/// SET's expiry option: which one, and its argument.
#[derive(Clone, Copy)]
enum ExpireOption {
    Ex,
    Px,
    ExAt,
    PxAt,
}

/// When a SET's key expires.
enum Deadline {
    Never,
    At(Instant),
    /// An EXAT/PXAT time already past: the key is set and gone at once.
    Passed,
}

#[derive(Default)]
struct SetOptions<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keep_ttl: bool,
    expire: Option<(ExpireOption, &'a [u8])>,
}

/// SET's options after the value, in any order and case; `None` for a syntax error
/// (an unknown option, a conflicting pair, an expiry without its argument).
fn set_options<'a>(options: &'a [Arg<'a>]) -> Option<SetOptions<'a>> {
    let mut o = SetOptions::default();
    let mut i = 0;
    while let Some(option) = options.get(i) {
        let option = option.to_ascii_lowercase();
        let expire = match option.as_slice() {
            b"ex" => Some(ExpireOption::Ex),
            b"px" => Some(ExpireOption::Px),
            b"exat" => Some(ExpireOption::ExAt),
            b"pxat" => Some(ExpireOption::PxAt),
            _ => None,
        };
        match (option.as_slice(), expire) {
            (b"nx", _) if !o.xx => o.nx = true,
            (b"xx", _) if !o.nx => o.xx = true,
            (b"get", _) => o.get = true,
            (b"keepttl", _) if o.expire.is_none() => o.keep_ttl = true,
            (_, Some(kind)) if !o.keep_ttl && o.expire.is_none() => {
                i += 1;
                o.expire = Some((kind, options.get(i)?));
            }
            _ => return None,
        }
        i += 1;
    }
    Some(o)
}

/// The deadline an expiry option gives, or `None` after replying its error.
fn deadline(option: ExpireOption, arg: &[u8], now: Instant, out: &mut Vec<u8>) -> Option<Deadline> {
    let n = integer(arg, out)?;
    let seconds = matches!(option, ExpireOption::Ex | ExpireOption::ExAt);
    let invalid = |out: &mut Vec<u8>| reply::error(out, "invalid expire time in 'set' command");
    if n <= 0 || (seconds && n > i64::MAX / 1000) {
        invalid(out);
        return None;
    }
    let ms = if seconds { n * 1000 } else { n };
    let from_now = match option {
        // redis keeps deadlines on the wall clock in ms: now + ms must fit.
        ExpireOption::Ex | ExpireOption::Px if ms.checked_add(unix_ms()).is_none() => {
            invalid(out);
            return None;
        }
        ExpireOption::Ex | ExpireOption::Px => ms,
        ExpireOption::ExAt | ExpireOption::PxAt => ms.saturating_sub(unix_ms()),
    };
    if from_now <= 0 {
        return Some(Deadline::Passed);
    }
    match deadline_in(now, from_now) {
        Some(at) => Some(Deadline::At(at)),
        None => {
            invalid(out);
            None
        }
    }
}

/// The wall clock in milliseconds since 1970 (EXAT and PXAT are given in it).
pub fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis().try_into().unwrap_or(i64::MAX))
}

/// SET key value [NX | XX] [GET] [EX s | PX ms | EXAT unix-s | PXAT unix-ms | KEEPTTL]
pub fn set(args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    let (key, value) = (&args[1], &args[2]);
    let mut db = client.server.db.borrow_mut();
    if args.len() == 3 {
        // The plain SET, by far the most common: no options to look at.
        db.set(key, value, false);
        return out.extend_from_slice(reply::OK);
    }
    let Some(o) = set_options(&args[3..]) else {
        return syntax_error(out);
    };
    let deadline = match o.expire {
        Some((option, arg)) => match deadline(option, arg, db.now(), out) {
            Some(deadline) => deadline,
            None => return,
        },
        None => Deadline::Never,
    };
    let old = db.get(key);
    let exists = old.is_some();
    if o.get {
        reply::bulk_or_null(out, old.map(|e| e.value.as_slice()));
    }
    if (o.nx && exists) || (o.xx && !exists) {
        if !o.get {
            out.extend_from_slice(reply::NULL);
        }
        return;
    }
    db.set(key, value, o.keep_ttl);
    match deadline {
        Deadline::Never => {}
        Deadline::At(at) => {
            db.set_expiry(key, Some(at));
        }
        Deadline::Passed => {
            db.remove(key);
        }
    }
    if !o.get {
        out.extend_from_slice(reply::OK);
    }
}

pub fn incr(args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    add(&args[1], 1, client, out);
}

pub fn decr(args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    add(&args[1], -1, client, out);
}

pub fn incrby(args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    if let Some(by) = integer(&args[2], out) {
        add(&args[1], by, client, out);
    }
}

pub fn decrby(args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    match integer(&args[2], out) {
        Some(i64::MIN) => reply::error(out, "decrement would overflow"),
        Some(by) => add(&args[1], -by, client, out),
        None => {}
    }
}

/// Adds `by` to the integer at `key` (0 if missing), keeping its expiry.
fn add(key: &[u8], by: i64, client: &mut Client, out: &mut Vec<u8>) {
    let mut db = client.server.db.borrow_mut();
    let entry = db.get_mut(key);
    let current = match &entry {
        Some(entry) => match parse_i64(&entry.value) {
            Some(n) => n,
            None => return reply::error(out, "value is not an integer or out of range"),
        },
        None => 0,
    };
    let Some(new) = current.checked_add(by) else {
        return reply::error(out, "increment or decrement would overflow");
    };
    match entry {
        Some(entry) => {
            entry.value.clear();
            write_i64(&mut entry.value, new);
        }
        None => {
            let mut text = Vec::new();
            write_i64(&mut text, new);
            db.set(key, &text, false);
        }
    }
    reply::integer(out, new);
}
