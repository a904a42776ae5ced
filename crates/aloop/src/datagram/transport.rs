//! `DatagramTransport`: the user's handle to a datagram endpoint (asyncio's
//! `DatagramTransport`): `sendto` and its send queue, `close`, `abort`, flow-control
//! limits, and the endpoint's addresses.
//!
//! `sendto` sends at once when nothing is queued; when the socket is full
//! (`WouldBlock`) the datagram is copied into a queue that the endpoint's task
//! (`pump.rs`) sends from as the socket becomes writable, in order, never dropping
//! one except on `abort()`. The queue's size drives `pause_writing`/`resume_writing`
//! at the high/low-water marks, as asyncio's. This file holds the state shared with
//! the task (`Inner`, `SendState`) and never calls the protocol: OS errors of a send
//! are queued for the task to hand to `error_received`. Uses `socket.rs`, `addr.rs`,
//! `error.rs`.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::rc::Rc;
use std::task::Waker;

use super::addr::DatagramAddr;
use super::error::SendtoError;
use super::socket::{Dest, Sock, TransportSocket};
use crate::streams::send_queue::water_marks;

/// asyncio's default high-water mark, the same as the streams'.
pub(super) use crate::streams::DEFAULT_HIGH_WATER;

/// What `sendto`, `close` and `abort` share with the endpoint's task.
pub(super) struct SendState {
    /// Datagrams waiting for the socket to take them, in order.
    pub(super) queue: VecDeque<(Vec<u8>, Dest)>,
    /// Bytes in `queue` (asyncio's `get_write_buffer_size`).
    pub(super) queued_bytes: usize,
    pub(super) high: usize,
    pub(super) low: usize,
    /// `pause_writing` was called (or is due) and `resume_writing` not yet.
    pub(super) paused: bool,
    /// `close()` or `abort()` was called: no more receiving, no more `sendto`.
    pub(super) closing: bool,
    /// `abort()` was called: the queue is dropped, the endpoint ends at once.
    pub(super) aborted: bool,
    /// OS errors of `sendto`'s immediate sends, for `error_received`.
    pub(super) errors: VecDeque<io::Error>,
    /// The endpoint task's waker, woken when it has something new to do.
    pub(super) waker: Option<Waker>,
}

/// The remote address an endpoint was made with (asyncio's `_address`).
pub(super) struct Remote {
    pub(super) addr: DatagramAddr,
    /// `Dest::Peer` when the socket is connected; the address itself when it is not
    /// (with `allow_broadcast`, asyncio does not connect).
    pub(super) dest: Dest,
}

/// One endpoint's state, shared by its transport handles and its task.
pub(super) struct Inner {
    /// `None` once the endpoint has ended (the descriptor closes with the last `Rc`).
    pub(super) sock: RefCell<Option<Rc<Sock>>>,
    pub(super) sockname: Option<DatagramAddr>,
    pub(super) peername: Option<DatagramAddr>,
    pub(super) remote: Option<Remote>,
    pub(super) st: RefCell<SendState>,
}

impl Inner {
    pub(super) fn new(sock: Rc<Sock>, remote: Option<Remote>) -> Inner {
        Inner {
            sockname: sock.sockname(),
            peername: sock.peername(),
            sock: RefCell::new(Some(sock)),
            remote,
            st: RefCell::new(SendState {
                queue: VecDeque::new(),
                queued_bytes: 0,
                high: DEFAULT_HIGH_WATER,
                low: DEFAULT_HIGH_WATER / 4,
                paused: false,
                closing: false,
                aborted: false,
                errors: VecDeque::new(),
                waker: None,
            }),
        }
    }
}

/// Wakes the endpoint's task, outside any borrow of the state.
fn wake(waker: Option<Waker>) {
    if let Some(w) = waker {
        w.wake();
    }
}

/// A handle to a datagram endpoint (asyncio's `DatagramTransport`), given to the
/// protocol's `connection_made` and returned by
/// [`create_datagram_endpoint`](crate::create_datagram_endpoint). Clones are handles
/// to the same endpoint. `!Send`: it belongs to the loop's thread.
///
/// ```
/// use std::time::Duration;
/// use aloop::{DatagramAddr, DatagramProtocol};
///
/// struct Print;
/// impl DatagramProtocol for Print {
///     fn datagram_received(&mut self, data: &[u8], addr: DatagramAddr) {
///         println!("{} bytes from {addr}", data.len());
///     }
/// }
///
/// aloop::run(async {
///     let (server, _) = aloop::create_datagram_endpoint(
///         || Print, Some(("127.0.0.1", 0)), None, Default::default()).await.unwrap();
///     let to = server.sockname().unwrap().as_inet().unwrap();
///     // Connected to the server: `sendto` takes `None` (or the server's address).
///     let (client, _) = aloop::create_datagram_endpoint(
///         || (), None, Some(("127.0.0.1", to.port())), Default::default()).await.unwrap();
///     client.sendto(b"hello", None).unwrap();
///     assert!(client.sendto(b"x", Some("127.0.0.1:1".parse::<std::net::SocketAddr>().unwrap().into())).is_err());
///     aloop::sleep(Duration::from_millis(10)).await;
///     client.close();
///     server.close();
/// });
/// ```
#[derive(Clone)]
pub struct DatagramTransport {
    pub(super) inner: Rc<Inner>,
}

impl DatagramTransport {
    /// Sends `data` as one datagram to `addr` (asyncio's `sendto(data, addr)`).
    ///
    /// On an endpoint made with a remote address, `addr` must be `None` or that
    /// address ([`SendtoError::WrongPeer`] otherwise, asyncio's `ValueError`); on one
    /// without, it is required ([`SendtoError::NoAddress`]). After `close()` or
    /// `abort()` it is [`SendtoError::Closing`].
    ///
    /// Sent at once when nothing is queued; otherwise, or when the socket is full,
    /// the datagram is queued and sent in order when the socket can take it. An OS
    /// error of the send (e.g. `ECONNREFUSED` from an earlier datagram, `EMSGSIZE`)
    /// is not returned here: it goes to the protocol's `error_received`, as in
    /// asyncio, on the endpoint's next step. An empty `data` sends an empty datagram
    /// (Python 3.11 sends nothing; later versions send it).
    pub fn sendto(&self, data: &[u8], addr: Option<DatagramAddr>) -> Result<(), SendtoError> {
        let inner = &*self.inner;
        let sock = inner.sock.borrow();
        let Some(sock) = sock.as_deref() else {
            return Err(SendtoError::Closing);
        };
        let dest = match (&inner.remote, addr) {
            (Some(remote), None) => remote.dest.clone(),
            (Some(remote), Some(given)) if given == remote.addr => remote.dest.clone(),
            (Some(remote), Some(given)) => {
                return Err(SendtoError::WrongPeer {
                    given,
                    peer: remote.addr.clone(),
                })
            }
            (None, None) => return Err(SendtoError::NoAddress),
            (None, Some(given)) => match sock.dest_for(&given) {
                Some(dest) => dest,
                None => return Err(SendtoError::Unreachable(given)),
            },
        };
        let mut st = inner.st.borrow_mut();
        if st.closing {
            return Err(SendtoError::Closing);
        }
        let was_empty = st.queue.is_empty();
        if was_empty {
            match sock.send_now(data, &dest) {
                Ok(_) => return Ok(()),
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock
                        || e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    st.errors.push_back(e);
                    let waker = st.waker.clone();
                    drop(st);
                    wake(waker);
                    return Ok(());
                }
            }
        }
        st.queue.push_back((data.to_vec(), dest));
        st.queued_bytes += data.len();
        // The task must learn of a first queued datagram (to wait for writability)
        // and of a queue past the high-water mark (to call `pause_writing`).
        let notify = was_empty || (!st.paused && st.queued_bytes > st.high);
        let waker = if notify { st.waker.clone() } else { None };
        drop(st);
        wake(waker);
        Ok(())
    }

    /// Bytes queued and not yet handed to the socket (asyncio's
    /// `get_write_buffer_size`).
    pub fn get_write_buffer_size(&self) -> usize {
        self.inner.st.borrow().queued_bytes
    }

    /// Sets the send queue's high- and low-water marks (asyncio's
    /// `set_write_buffer_limits`): `high` defaults to 64 KiB (or 4 × `low`), `low` to
    /// `high / 4`. Above `high` the protocol's `pause_writing` is called; at `low`
    /// after that, `resume_writing`. Nothing is ever dropped: the marks only tell the
    /// protocol to hold back. `InvalidInput` if `high < low`.
    pub fn set_write_buffer_limits(
        &self,
        high: Option<usize>,
        low: Option<usize>,
    ) -> io::Result<()> {
        let (high, low) = water_marks(high, low)?;
        let mut st = self.inner.st.borrow_mut();
        st.high = high;
        st.low = low;
        let waker = st.waker.clone();
        drop(st);
        // The task re-checks the marks (pause or resume may be due now).
        wake(waker);
        Ok(())
    }

    /// The send queue's `(low, high)` water marks (asyncio's
    /// `get_write_buffer_limits`).
    pub fn get_write_buffer_limits(&self) -> (usize, usize) {
        let st = self.inner.st.borrow();
        (st.low, st.high)
    }

    /// Closes the endpoint (asyncio's `close`): stops receiving at once, sends what is
    /// queued, then calls the protocol's `connection_lost(None)` and closes the
    /// socket. Calling it again does nothing.
    pub fn close(&self) {
        let mut st = self.inner.st.borrow_mut();
        if st.closing {
            return;
        }
        st.closing = true;
        let waker = st.waker.clone();
        drop(st);
        wake(waker);
    }

    /// Closes the endpoint now (asyncio's `abort`): queued datagrams are dropped, then
    /// `connection_lost(None)` is called. Also ends a `close()` still flushing.
    pub fn abort(&self) {
        let mut st = self.inner.st.borrow_mut();
        if st.aborted {
            return;
        }
        st.aborted = true;
        st.closing = true;
        st.queue.clear();
        st.queued_bytes = 0;
        let waker = st.waker.clone();
        drop(st);
        wake(waker);
    }

    /// Whether `close()` or `abort()` was called (asyncio's `is_closing`).
    pub fn is_closing(&self) -> bool {
        self.inner.st.borrow().closing
    }

    /// The local address (asyncio's `get_extra_info("sockname")`), read when the
    /// endpoint was made.
    pub fn sockname(&self) -> Option<DatagramAddr> {
        self.inner.sockname.clone()
    }

    /// The connected peer's address (asyncio's `get_extra_info("peername")`): `None`
    /// for an endpoint made without a remote address, or with `allow_broadcast` (whose
    /// socket is not connected, as in asyncio).
    pub fn peername(&self) -> Option<DatagramAddr> {
        self.inner.peername.clone()
    }

    /// The socket, for options aloop does not wrap (asyncio's
    /// `get_extra_info("socket")`); `None` once the endpoint has ended.
    pub fn socket(&self) -> Option<TransportSocket> {
        let sock = self.inner.sock.borrow().clone()?;
        Some(TransportSocket { sock })
    }
}

impl fmt::Debug for DatagramTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.inner.st.borrow();
        f.debug_struct("DatagramTransport")
            .field("sockname", &self.inner.sockname)
            .field("peername", &self.inner.peername)
            .field("queued", &st.queue.len())
            .field("queued_bytes", &st.queued_bytes)
            .field("closing", &st.closing)
            .finish()
    }
}
