//! The commands about the connection and the server rather than the data: PING,
//! ECHO, SELECT, QUIT, and the two that clients ask at start-up, COMMAND (redis-cli's
//! `COMMAND DOCS`, for its hints) and CONFIG GET (redis-benchmark's `save` and
//! `appendonly`), answered so that both carry on. Part of `commands/`.

use super::{integer, wrong_arity, Arg, COMMANDS};
use crate::client::Client;
use crate::glob;
use crate::reply;

/// PING [message]: `+PONG` or the message; in subscribed mode, RESP2's
/// `["pong", message or ""]` array, as redis answers there.
pub fn ping(args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    if args.len() > 2 {
        return wrong_arity("ping", out);
    }
    let message = args.get(1);
    if client.subscriptions() > 0 {
        reply::array(out, 2);
        reply::bulk(out, b"pong");
        reply::bulk(out, message.map_or(&b""[..], |m| m));
    } else {
        match message {
            Some(m) => reply::bulk(out, m),
            None => out.extend_from_slice(reply::PONG),
        }
    }
}

pub fn echo(args: &[Arg<'_>], _: &mut Client, out: &mut Vec<u8>) {
    reply::bulk(out, &args[1]);
}

/// SELECT index: only database 0 exists.
pub fn select(args: &[Arg<'_>], _: &mut Client, out: &mut Vec<u8>) {
    match integer(&args[1], out) {
        Some(0) => out.extend_from_slice(reply::OK),
        Some(_) => reply::error(out, "DB index is out of range"),
        None => {}
    }
}

pub fn quit(_: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    out.extend_from_slice(reply::OK);
    client.quit();
}

/// COMMAND [subcommand ...]: `COUNT` is the number of commands; anything else (the
/// whole table, `DOCS`, `INFO`) an empty array, which clients take as "no details".
pub fn command(args: &[Arg<'_>], _: &mut Client, out: &mut Vec<u8>) {
    match args.get(1) {
        Some(sub) if sub.eq_ignore_ascii_case(b"count") => {
            reply::integer(out, COMMANDS.len() as i64);
        }
        _ => out.extend_from_slice(reply::EMPTY_ARRAY),
    }
}

/// The settings CONFIG GET knows, with their fixed values: no persistence, one
/// database.
const SETTINGS: &[(&str, &str)] = &[("appendonly", "no"), ("databases", "1"), ("save", "")];

/// CONFIG GET pattern [pattern ...]: the settings matching any pattern, as a flat
/// name/value array (an empty one when none does). A pattern without wildcards is
/// answered with its own spelling, as redis does (`CONFIG GET SAVE` gives `SAVE`).
/// No other subcommand.
pub fn config(args: &[Arg<'_>], _: &mut Client, out: &mut Vec<u8>) {
    if !args[1].eq_ignore_ascii_case(b"get") {
        let sub = String::from_utf8_lossy(&args[1]);
        let message = format!("unknown subcommand '{sub}'. Try CONFIG HELP.");
        return reply::error(out, &message);
    }
    if args.len() < 3 {
        return wrong_arity("config|get", out);
    }
    let mut found: Vec<(&[u8], &str)> = Vec::new();
    for pattern in &args[2..] {
        let lower = pattern.to_ascii_lowercase();
        let wildcards = lower.iter().any(|b| matches!(b, b'*' | b'?' | b'['));
        for (name, value) in SETTINGS {
            let spelled: &[u8] = if wildcards { name.as_bytes() } else { pattern };
            let seen = found
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()));
            if !seen && glob::matches(&lower, name.as_bytes()) {
                found.push((spelled, value));
            }
        }
    }
    reply::array(out, found.len() * 2);
    for (name, value) in found {
        reply::bulk(out, name);
        reply::bulk(out, value.as_bytes());
    }
}
