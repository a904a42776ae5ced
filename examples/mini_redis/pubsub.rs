//! Publish/subscribe: which connections listen to which channels and patterns, and
//! each subscriber's outbox, the queue through which everything the server sends it
//! goes once it has subscribed (messages and the replies to its own commands alike,
//! so they reach it in the order they happened). A forwarder task per subscriber
//! moves its outbox to its socket, waiting when the socket is full; a subscriber
//! whose outbox passes [`OUTBOX_LIMIT`] (it stopped reading) is disconnected, as
//! redis's `client-output-buffer-limit pubsub 32mb` does. The commands are in
//! `commands/pubsub.rs`; a connection's subscriber is made by `client.rs`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use aloop::{Queue, StreamWriter};

use crate::glob;
use crate::reply;

/// Bytes a subscriber may have waiting before it is disconnected (redis's default
/// hard limit for pub/sub clients).
pub const OUTBOX_LIMIT: usize = 32 * 1024 * 1024;

/// Channels (`SUBSCRIBE`) or patterns (`PSUBSCRIBE`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
}

/// One subscribed connection: its outbox and what it listens to.
pub struct Subscriber {
    outbox: Queue<Rc<[u8]>>,
    /// Bytes in the outbox.
    queued: Cell<usize>,
    writer: StreamWriter,
    /// In the order subscribed (what `UNSUBSCRIBE` without arguments answers in).
    channels: RefCell<Vec<Vec<u8>>>,
    patterns: RefCell<Vec<Vec<u8>>>,
}

impl Subscriber {
    pub fn new(writer: StreamWriter) -> Rc<Subscriber> {
        Rc::new(Subscriber {
            outbox: Queue::new(0),
            queued: Cell::new(0),
            writer,
            channels: RefCell::default(),
            patterns: RefCell::default(),
        })
    }

    /// Queues `bytes` for the connection; past the limit, disconnects it instead.
    pub fn send(&self, bytes: Rc<[u8]>) {
        if self.writer.is_closing() {
            return;
        }
        let queued = self.queued.get() + bytes.len();
        if queued > OUTBOX_LIMIT {
            // The connection's reader sees the end of the stream and cleans up.
            self.writer.abort();
            return;
        }
        self.queued.set(queued);
        // Fails only after `close_outbox`, when the connection is going away anyway.
        let _ = self.outbox.put_nowait(bytes);
    }

    /// The forwarder: writes the outbox to the socket until it is closed and empty.
    pub async fn forward(self: Rc<Self>) {
        while let Ok(bytes) = self.outbox.get().await {
            self.queued.set(self.queued.get() - bytes.len());
            if self.writer.write(&bytes).is_err() || self.writer.drain().await.is_err() {
                break;
            }
        }
    }

    /// No more sends: the forwarder ends once it has written what is queued.
    pub fn close_outbox(&self) {
        self.outbox.shutdown(false);
    }

    fn names(&self, kind: Kind) -> &RefCell<Vec<Vec<u8>>> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
        }
    }

    /// The channels or patterns it listens to, in the order subscribed.
    pub fn subscribed(&self, kind: Kind) -> Vec<Vec<u8>> {
        self.names(kind).borrow().clone()
    }

    /// How many channels and patterns it listens to.
    pub fn count(&self) -> usize {
        self.channels.borrow().len() + self.patterns.borrow().len()
    }
}

/// Who listens to what.
#[derive(Default)]
pub struct PubSub {
    channels: HashMap<Vec<u8>, Vec<Rc<Subscriber>>>,
    patterns: HashMap<Vec<u8>, Vec<Rc<Subscriber>>>,
}

impl PubSub {
    fn topics(&mut self, kind: Kind) -> &mut HashMap<Vec<u8>, Vec<Rc<Subscriber>>> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
        }
    }

    /// Subscribes `sub` to `name` (again is harmless); returns its subscription count.
    pub fn subscribe(&mut self, kind: Kind, sub: &Rc<Subscriber>, name: &[u8]) -> usize {
        let mut names = sub.names(kind).borrow_mut();
        if !names.iter().any(|n| n == name) {
            names.push(name.to_vec());
            let listeners = self.topics(kind).entry(name.to_vec()).or_default();
            listeners.push(sub.clone());
        }
        drop(names);
        sub.count()
    }

    /// Unsubscribes `sub` from `name` (if it was); returns its subscription count.
    pub fn unsubscribe(&mut self, kind: Kind, sub: &Rc<Subscriber>, name: &[u8]) -> usize {
        sub.names(kind).borrow_mut().retain(|n| n != name);
        let topics = self.topics(kind);
        if let Some(listeners) = topics.get_mut(name) {
            listeners.retain(|s| !Rc::ptr_eq(s, sub));
            if listeners.is_empty() {
                topics.remove(name);
            }
        }
        sub.count()
    }

    /// Every subscription of `sub` (its connection is closing).
    pub fn unsubscribe_all(&mut self, sub: &Rc<Subscriber>) {
        for kind in [Kind::Channel, Kind::Pattern] {
            for name in sub.subscribed(kind) {
                self.unsubscribe(kind, sub, &name);
            }
        }
    }

    /// Sends `message` to the subscribers of `channel` and of the patterns matching
    /// it; returns how many deliveries were made (redis's PUBLISH reply).
    pub fn publish(&self, channel: &[u8], message: &[u8]) -> usize {
        let mut delivered = 0;
        if let Some(listeners) = self.channels.get(channel) {
            // One encoding, shared by every subscriber's outbox.
            let mut out = Vec::new();
            reply::array(&mut out, 3);
            reply::bulk(&mut out, b"message");
            reply::bulk(&mut out, channel);
            reply::bulk(&mut out, message);
            let bytes: Rc<[u8]> = out.into();
            for sub in listeners {
                sub.send(bytes.clone());
            }
            delivered += listeners.len();
        }
        for (pattern, listeners) in &self.patterns {
            if !glob::matches(pattern, channel) {
                continue;
            }
            let mut out = Vec::new();
            reply::array(&mut out, 4);
            reply::bulk(&mut out, b"pmessage");
            reply::bulk(&mut out, pattern);
            reply::bulk(&mut out, channel);
            reply::bulk(&mut out, message);
            let bytes: Rc<[u8]> = out.into();
            for sub in listeners {
                sub.send(bytes.clone());
            }
            delivered += listeners.len();
        }
        delivered
    }
}
