//! The keyspace: byte-string keys to byte-string values, each with an optional
//! expiry. Shared by every connection of the loop as `Rc<RefCell<Keyspace>>` (one
//! thread, so no lock; a command borrows it for its own synchronous run only).
//!
//! Expiry is on the loop's timers: a key given a deadline gets a `call_at` that
//! removes it then, cancelled (O(1)) when the key is deleted, overwritten or
//! persisted, so an expired key goes away without anyone asking for it, as redis's
//! active expiry does. Reads never show an expired key either (lazy expiry: a timer
//! due in this very loop iteration may not have run yet), and writes remove one
//! first. The commands on keys are in `commands/keys.rs` and `commands/strings.rs`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::time::{Duration, Instant};

use aloop::{LoopRef, TimerHandle};

/// A key's deadline and the timer that removes the key then; dropping it (the key
/// was deleted, overwritten, persisted) cancels the timer.
pub struct Expiry {
    at: Instant,
    timer: Option<TimerHandle>,
}

impl Drop for Expiry {
    fn drop(&mut self) {
        if let Some(timer) = &self.timer {
            timer.cancel();
        }
    }
}

/// One key's value and expiry.
pub struct Entry {
    pub value: Vec<u8>,
    expiry: Option<Expiry>,
}

impl Entry {
    fn is_expired(&self, lp: &LoopRef) -> bool {
        self.expiry.as_ref().is_some_and(|e| e.at <= lp.time())
    }

    /// The key's deadline, if it has one.
    pub fn expires_at(&self) -> Option<Instant> {
        self.expiry.as_ref().map(|e| e.at)
    }
}

pub struct Keyspace {
    map: HashMap<Vec<u8>, Entry>,
    lp: LoopRef,
    /// Itself, for the expiry timers (a strong reference would be a cycle through
    /// the loop's timer wheel).
    this: Weak<RefCell<Keyspace>>,
}

impl Keyspace {
    /// An empty keyspace whose expiry timers run on `lp`.
    pub fn new(lp: LoopRef) -> Rc<RefCell<Keyspace>> {
        Rc::new_cyclic(|this| {
            RefCell::new(Keyspace {
                map: HashMap::new(),
                lp,
                this: this.clone(),
            })
        })
    }

    /// The loop's clock, which deadlines are on.
    pub fn now(&self) -> Instant {
        self.lp.time()
    }

    /// The key's entry, unless it is missing or expired.
    pub fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.map.get(key).filter(|e| !e.is_expired(&self.lp))
    }

    /// The key's entry for changing it, unless it is missing or expired. (An expired
    /// key is left for its timer, due now, or for the next `set` to replace: one
    /// hash lookup either way.)
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        let lp = &self.lp;
        self.map.get_mut(key).filter(|e| !e.is_expired(lp))
    }

    fn remove_if_expired(&mut self, key: &[u8]) {
        if self.map.get(key).is_some_and(|e| e.is_expired(&self.lp)) {
            self.map.remove(key);
        }
    }

    /// Sets the key's value; its expiry is kept with `keep_ttl` (unless it has
    /// passed), else cleared.
    pub fn set(&mut self, key: &[u8], value: &[u8], keep_ttl: bool) {
        match self.map.get_mut(key) {
            Some(entry) => {
                // Reuse the value's allocation: SET on a hot key allocates nothing.
                entry.value.clear();
                entry.value.extend_from_slice(value);
                if !keep_ttl || entry.is_expired(&self.lp) {
                    entry.expiry = None;
                }
            }
            None => {
                let entry = Entry {
                    value: value.to_vec(),
                    expiry: None,
                };
                self.map.insert(key.to_vec(), entry);
            }
        }
    }

    /// Removes the key; whether it existed (and had not expired).
    pub fn remove(&mut self, key: &[u8]) -> bool {
        self.map
            .remove(key)
            .is_some_and(|e| !e.is_expired(&self.lp))
    }

    /// Gives an existing key a deadline (`None`: removes its deadline). A deadline
    /// not in the future removes the key at once. Returns whether the key exists.
    pub fn set_expiry(&mut self, key: &[u8], at: Option<Instant>) -> bool {
        if self.get_mut(key).is_none() {
            return false;
        }
        if at.is_some_and(|at| at <= self.now()) {
            self.map.remove(key);
            return true;
        }
        let expiry = at.map(|at| Expiry {
            at,
            timer: self.expiry_timer(key, at),
        });
        if let Some(entry) = self.map.get_mut(key) {
            entry.expiry = expiry;
        }
        true
    }

    /// The timer that removes `key` at `at` (if its deadline has come by then: a
    /// newer deadline cancelled this timer). `None` if the loop is closed, which a
    /// running server's loop never is: the key then still expires lazily.
    fn expiry_timer(&self, key: &[u8], at: Instant) -> Option<TimerHandle> {
        let this = self.this.clone();
        let key = key.to_vec();
        let timer = self.lp.call_at(at, move || {
            if let Some(this) = this.upgrade() {
                this.borrow_mut().remove_if_expired(&key);
            }
        });
        timer.ok()
    }

    /// The live keys `keep` accepts (`KEYS`), in no particular order.
    pub fn keys(&self, mut keep: impl FnMut(&[u8]) -> bool) -> Vec<&[u8]> {
        self.map
            .iter()
            .filter(|(k, e)| !e.is_expired(&self.lp) && keep(k))
            .map(|(k, _)| k.as_slice())
            .collect()
    }

    /// How many keys there are (expired ones included until their timer runs, which
    /// is as soon as the loop gets to it; redis's DBSIZE counts them the same way).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Removes every key (their timers are cancelled).
    pub fn clear(&mut self) {
        self.map.clear();
    }
}

/// A deadline `ms` milliseconds from `now` on the loop's clock, or `None` if `ms` is
/// not positive (the deadline has passed).
pub fn deadline_in(now: Instant, ms: i64) -> Option<Instant> {
    u64::try_from(ms)
        .ok()
        .filter(|&ms| ms > 0)
        .and_then(|ms| now.checked_add(Duration::from_millis(ms)))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Keyspace;

    /// Runs `body` on a loop with virtual time, so deadlines of seconds pass at once.
    fn with_loop(body: impl std::future::Future<Output = ()> + 'static) {
        let lp = aloop::new_event_loop();
        lp.use_virtual_time();
        lp.run_until_complete(body).unwrap();
    }

    #[test]
    fn a_timer_removes_an_expired_key_without_anyone_reading_it() {
        with_loop(async {
            let lp = aloop::get_running_loop().unwrap();
            let db = Keyspace::new(lp.clone());
            db.borrow_mut().set(b"k", b"v", false);
            db.borrow_mut().set(b"other", b"v", false);
            let at = lp.time() + Duration::from_secs(10);
            assert!(db.borrow_mut().set_expiry(b"k", Some(at)));
            aloop::sleep(Duration::from_secs(9)).await;
            assert_eq!(db.borrow().len(), 2);
            assert!(db.borrow().get(b"k").is_some());
            aloop::sleep(Duration::from_secs(2)).await;
            assert_eq!(db.borrow().len(), 1, "the timer removed the key");
            assert!(db.borrow().get(b"k").is_none());
        });
    }

    #[test]
    fn overwriting_or_persisting_cancels_the_expiry() {
        with_loop(async {
            let lp = aloop::get_running_loop().unwrap();
            let db = Keyspace::new(lp.clone());
            for key in [&b"set"[..], b"persist", b"keep"] {
                db.borrow_mut().set(key, b"v", false);
                let at = lp.time() + Duration::from_secs(1);
                db.borrow_mut().set_expiry(key, Some(at));
            }
            db.borrow_mut().set(b"set", b"new", false);
            db.borrow_mut().set_expiry(b"persist", None);
            db.borrow_mut().set(b"keep", b"new", true);
            aloop::sleep(Duration::from_secs(2)).await;
            let db = db.borrow();
            assert_eq!(db.get(b"set").unwrap().value, b"new");
            assert!(db.get(b"persist").is_some());
            assert!(db.get(b"keep").is_none(), "KEEPTTL kept the deadline");
        });
    }

    #[test]
    fn a_deadline_in_the_past_removes_the_key_now() {
        with_loop(async {
            let lp = aloop::get_running_loop().unwrap();
            let db = Keyspace::new(lp.clone());
            db.borrow_mut().set(b"k", b"v", false);
            assert!(db.borrow_mut().set_expiry(b"k", Some(lp.time())));
            assert!(db.borrow().get(b"k").is_none());
            assert!(!db.borrow_mut().set_expiry(b"missing", Some(lp.time())));
        });
    }
}
