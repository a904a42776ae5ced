//! What every connection of the server shares: its settings (`Config`, from the
//! command line in `main.rs`), the keyspace (`db.rs`) and the pub/sub registry
//! (`pubsub.rs`). One loop, one thread: plain `Rc`/`RefCell`, no lock.

use std::cell::RefCell;
use std::rc::Rc;

use aloop::LoopRef;

use crate::db::Keyspace;
use crate::pubsub::PubSub;

/// Default bound of a client's query buffer (`--max-query-buffer`): 64 MiB. redis's
/// default is 1 GiB (`client-query-buffer-limit`); a sixteenth of that still takes
/// any value a redis client sends in practice, and bounds what one client can make
/// the server hold.
pub const DEFAULT_MAX_QUERY_BUFFER: usize = 64 * 1024 * 1024;

/// The server's settings.
#[derive(Clone, Debug)]
pub struct Config {
    pub port: u16,
    /// Most bytes of unanswered requests one client may have buffered; a client
    /// sending more is answered with an error and disconnected.
    pub max_query_buffer: usize,
}

pub struct Server {
    pub config: Config,
    pub db: Rc<RefCell<Keyspace>>,
    pub pubsub: RefCell<PubSub>,
}

impl Server {
    pub fn new(config: Config, lp: LoopRef) -> Rc<Server> {
        Rc::new(Server {
            config,
            db: Keyspace::new(lp),
            pubsub: RefCell::default(),
        })
    }
}
