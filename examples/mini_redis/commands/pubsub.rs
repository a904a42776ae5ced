//! PUBLISH, (P)SUBSCRIBE and (P)UNSUBSCRIBE, with redis's RESP2 replies: one
//! `[kind, channel, count]` array per channel named (or per channel left, for an
//! UNSUBSCRIBE without arguments; `[kind, nil, count]` if there was none). Part of
//! `commands/`; the registry and the subscribers' outboxes are `pubsub.rs`.

use super::Arg;
use crate::client::Client;
use crate::pubsub::Kind;
use crate::reply;

pub fn publish(args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    let delivered = client.server.pubsub.borrow().publish(&args[1], &args[2]);
    reply::integer(out, delivered as i64);
}

pub fn subscribe(args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    add(Kind::Channel, "subscribe", args, client, out);
}

pub fn psubscribe(args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    add(Kind::Pattern, "psubscribe", args, client, out);
}

pub fn unsubscribe(args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    remove(Kind::Channel, "unsubscribe", args, client, out);
}

pub fn punsubscribe(args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    remove(Kind::Pattern, "punsubscribe", args, client, out);
}

/// One confirmation: `[kind, name or nil, subscriptions left]`.
fn confirm(out: &mut Vec<u8>, kind: &str, name: Option<&[u8]>, count: usize) {
    reply::array(out, 3);
    reply::bulk(out, kind.as_bytes());
    reply::bulk_or_null(out, name);
    reply::integer(out, count as i64);
}

fn add(kind: Kind, verb: &str, args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    let sub = client.subscriber();
    let mut pubsub = client.server.pubsub.borrow_mut();
    for name in &args[1..] {
        let count = pubsub.subscribe(kind, &sub, name);
        confirm(out, verb, Some(name), count);
    }
}

fn remove(kind: Kind, verb: &str, args: &[Arg<'_>], client: &mut Client, out: &mut Vec<u8>) {
    let Some(sub) = client.existing_subscriber() else {
        // Never subscribed: nothing to leave, and no outbox to make for it.
        if args.len() == 1 {
            return confirm(out, verb, None, 0);
        }
        for name in &args[1..] {
            confirm(out, verb, Some(name), 0);
        }
        return;
    };
    let mut pubsub = client.server.pubsub.borrow_mut();
    let names: Vec<Vec<u8>> = if args.len() == 1 {
        sub.subscribed(kind)
    } else {
        args[1..].iter().map(|a| a.to_vec()).collect()
    };
    if names.is_empty() {
        return confirm(out, verb, None, sub.count());
    }
    for name in names {
        let count = pubsub.unsubscribe(kind, &sub, &name);
        confirm(out, verb, Some(&name), count);
    }
}
