//! One connection's state between its commands: where its replies go (straight to
//! the socket, or through its pub/sub outbox once it has subscribed: `pubsub.rs`),
//! and whether it asked to quit. The read loop that drives it is `connection.rs`;
//! the commands that change it are in `commands/`.

use std::io;
use std::rc::Rc;

use aloop::{StreamWriter, Task};

use crate::pubsub::Subscriber;
use crate::server::Server;

pub struct Client {
    pub server: Rc<Server>,
    writer: StreamWriter,
    /// Made by the first (P)SUBSCRIBE, with the task forwarding its outbox.
    subscriber: Option<(Rc<Subscriber>, Task<()>)>,
    quit: bool,
}

impl Client {
    pub fn new(server: Rc<Server>, writer: StreamWriter) -> Client {
        Client {
            server,
            writer,
            subscriber: None,
            quit: false,
        }
    }

    /// Sends one reply: `write` on the socket (the runtime coalesces the replies of
    /// pipelined commands into one send), or into the outbox of a subscriber.
    pub fn send(&self, reply: &[u8]) -> io::Result<()> {
        match &self.subscriber {
            Some((sub, _)) => {
                sub.send(reply.into());
                Ok(())
            }
            None => self.writer.write(reply),
        }
    }

    /// Waits while the socket's send queue is above its high-water mark.
    pub async fn drain(&self) -> io::Result<()> {
        self.writer.drain().await
    }

    /// The connection as a subscriber, made (and its forwarder started) on first use.
    pub fn subscriber(&mut self) -> Rc<Subscriber> {
        let (sub, _) = self.subscriber.get_or_insert_with(|| {
            let sub = Subscriber::new(self.writer.clone());
            let forwarder = aloop::create_task(sub.clone().forward());
            (sub, forwarder)
        });
        sub.clone()
    }

    /// The subscriber, if the connection ever subscribed.
    pub fn existing_subscriber(&self) -> Option<Rc<Subscriber>> {
        self.subscriber.as_ref().map(|(sub, _)| sub.clone())
    }

    /// How many channels and patterns it listens to: above 0, only the pub/sub
    /// commands are allowed (redis's RESP2 subscribed mode).
    pub fn subscriptions(&self) -> usize {
        self.subscriber.as_ref().map_or(0, |(sub, _)| sub.count())
    }

    /// QUIT: close once this reply is sent.
    pub fn quit(&mut self) {
        self.quit = true;
    }

    pub fn wants_to_quit(&self) -> bool {
        self.quit
    }

    /// The connection is over: leaves every channel, lets the forwarder send what is
    /// queued, then closes the socket once its queue is sent.
    pub async fn finish(self) {
        if let Some((sub, forwarder)) = self.subscriber {
            self.server.pubsub.borrow_mut().unsubscribe_all(&sub);
            sub.close_outbox();
            let _ = forwarder.await;
        }
        self.writer.close();
    }
}
