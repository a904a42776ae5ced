//! [`Transport`] (asyncio's `asyncio.Transport`) and the connection state behind it
//! (`Conn`): writing goes through a `StreamWriter`'s send queue, reading is the loop in
//! `receiving.rs`, and this file decides when the protocol hears `pause_writing`,
//! `resume_writing` and, exactly once, `connection_lost`.
//!
//! Ownership: the protocol usually keeps its transport, so `Conn` holds the protocol
//! only until the connection is lost (then the cycle is gone); the send queue's hook
//! and everything else that points back at `Conn` is weak.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use aloop_executor::TaskRef;

use crate::loop_state::{EndOnClose, LoopState};
use crate::streams::raw_stream::RawStream;
use crate::streams::server::ClientSlot;
use crate::streams::StreamWriter;

/// A protocol of either kind, as the connection drives it.
pub(crate) trait Receiver {
    fn connection_made(&self, transport: Transport);
    /// One read, delivered to the protocol; `Ok(0)` is end-of-stream.
    fn poll_receive(&self, raw: &RawStream, cx: &mut Context<'_>) -> Poll<io::Result<usize>>;
    fn eof_received(&self) -> bool;
    fn connection_lost(&self, error: Option<io::Error>);
    fn pause_writing(&self);
    fn resume_writing(&self);
}

/// One connection of a protocol.
pub(super) struct Conn {
    pub(super) raw: Rc<RawStream>,
    pub(super) writer: StreamWriter,
    /// `None` once the connection is lost (that breaks the protocol -> transport ->
    /// `Conn` cycle).
    receiver: RefCell<Option<Rc<dyn Receiver>>>,
    /// `pause_reading` turns this off; the read loop then waits on `read_waker`.
    pub(super) reading: Cell<bool>,
    pub(super) read_waker: RefCell<Option<Waker>>,
    pub(super) read_task: RefCell<Option<TaskRef>>,
    lost: Cell<bool>,
    /// What the protocol was last told: paused (`pause_writing`) or not.
    told_paused: Cell<bool>,
    /// The server's count of this connection, if a server accepted it.
    slot: RefCell<Option<ClientSlot>>,
    home: Weak<LoopState>,
}

impl Conn {
    pub(super) fn new(
        raw: Rc<RawStream>,
        receiver: Rc<dyn Receiver>,
        slot: Option<ClientSlot>,
        home: Weak<LoopState>,
    ) -> Rc<Conn> {
        let writer = StreamWriter::new(raw.clone(), home.clone());
        if let Some(slot) = &slot {
            slot.track(&writer);
        }
        let conn = Rc::new(Conn {
            raw,
            writer,
            receiver: RefCell::new(Some(receiver)),
            reading: Cell::new(true),
            read_waker: RefCell::new(None),
            read_task: RefCell::new(None),
            lost: Cell::new(false),
            told_paused: Cell::new(false),
            slot: RefCell::new(slot),
            home,
        });
        let weak = Rc::downgrade(&conn);
        if let Some(home) = conn.home.upgrade() {
            let end: Weak<dyn EndOnClose> = weak.clone();
            home.end_on_close(end);
        }
        conn.writer
            .send_queue()
            .set_hook(Rc::new(move || on_writer_event(&weak)));
        conn
    }

    pub(super) fn is_lost(&self) -> bool {
        self.lost.get()
    }

    pub(super) fn receiver(&self) -> Option<Rc<dyn Receiver>> {
        self.receiver.borrow().clone()
    }

    /// Runs a protocol callback; a panic is reported and ends the connection.
    pub(super) fn call<R>(self: &Rc<Self>, f: impl FnOnce(&dyn Receiver) -> R) -> Option<R> {
        let receiver = self.receiver()?;
        match catch_unwind(AssertUnwindSafe(|| f(&*receiver))) {
            Ok(r) => Some(r),
            Err(payload) => {
                self.report_panic(payload);
                None
            }
        }
    }

    /// A protocol callback panicked: report it (the loop runs on) and end the
    /// connection, as asyncio's `_fatal_error` does with an exception.
    pub(super) fn report_panic(self: &Rc<Self>, payload: Box<dyn std::any::Any + Send>) {
        if let Some(home) = self.home.upgrade() {
            home.report_callback_panic(payload);
        }
        self.fail(io::Error::other("a protocol callback panicked"));
    }

    /// A fatal error: the connection ends now, the protocol hears the error.
    pub(super) fn fail(self: &Rc<Self>, error: io::Error) {
        self.writer.abort();
        self.lose(Some(error));
    }

    /// `connection_lost`, once: stops reading, lets go of the server's count and of
    /// the protocol.
    pub(super) fn lose(&self, error: Option<io::Error>) {
        if self.lost.replace(true) {
            return;
        }
        self.reading.set(false);
        let task = self.read_task.borrow_mut().take();
        if let Some(task) = task {
            task.abort();
        }
        drop(self.slot.borrow_mut().take());
        let receiver = self.receiver.borrow_mut().take();
        if let Some(receiver) = receiver {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| receiver.connection_lost(error)))
            {
                if let Some(home) = self.home.upgrade() {
                    home.report_callback_panic(payload);
                }
            }
        }
    }
}

impl EndOnClose for Conn {
    /// The loop is closing with this connection open: end it (as an abort), so the
    /// protocol hears `connection_lost` and the protocol-transport cycle is broken.
    fn end_on_close(&self) {
        if self.lost.get() {
            return;
        }
        self.writer.abort();
        self.lose(Some(io::Error::other("the event loop was closed")));
    }
}

/// The send queue's hook, run in a callback of its own after the write buffer crossed
/// a water mark or the writer ended (closed, aborted, failed).
fn on_writer_event(conn: &Weak<Conn>) {
    let Some(conn) = conn.upgrade() else { return };
    if conn.lost.get() {
        return;
    }
    let (paused, ended, error) = conn.writer.send_queue().water_and_end();
    if !ended && paused != conn.told_paused.get() {
        conn.told_paused.set(paused);
        conn.call(|r| {
            if paused {
                r.pause_writing()
            } else {
                r.resume_writing()
            }
        });
    }
    if ended {
        conn.lose(error);
    }
}

/// A connection as its protocol sees it (asyncio's `asyncio.Transport`): write to it,
/// close or abort it, pause reading, and ask about it. Cloning gives another handle to
/// the same connection.
///
/// Writes go through the same send queue as a [`StreamWriter`]'s: a write is tried on
/// the socket at once (or coalesced with the batch's other writes), and what the
/// socket does not take is queued and sent in the background.
#[derive(Clone)]
pub struct Transport {
    pub(super) conn: Rc<Conn>,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("peername", &self.peername())
            .field("closing", &self.is_closing())
            .field("reading", &self.is_reading())
            .finish()
    }
}

impl Transport {
    /// Queues `data` for sending (asyncio's `write`). An error after `close`,
    /// `write_eof` or `abort`, or once the connection failed.
    // Inlined into the protocol's code (another crate), as `StreamWriter::write` is:
    // a server's every reply comes through here.
    #[inline]
    pub fn write(&self, data: &[u8]) -> io::Result<()> {
        self.conn.writer.write(data)
    }

    /// Writes each buffer in turn (asyncio's `writelines`).
    pub fn writelines<I, B>(&self, buffers: I) -> io::Result<()>
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        self.conn.writer.writelines(buffers)
    }

    /// Sends end-of-stream once the queued bytes are sent; reading goes on.
    pub fn write_eof(&self) -> io::Result<()> {
        self.conn.writer.write_eof()
    }

    /// Whether `write_eof` is supported (always, on TCP and Unix sockets).
    pub fn can_write_eof(&self) -> bool {
        self.conn.writer.can_write_eof()
    }

    /// Stops reading now and closes once the queued bytes are sent; the protocol then
    /// hears `connection_lost(None)`. Idempotent.
    pub fn close(&self) {
        self.conn.reading.set(false);
        self.conn.writer.close();
    }

    /// Closes now: the queued bytes are dropped, the peer sees a reset, the protocol
    /// hears `connection_lost(None)`. Idempotent.
    pub fn abort(&self) {
        self.conn.reading.set(false);
        self.conn.writer.abort();
    }

    /// Whether the transport is closing or closed.
    pub fn is_closing(&self) -> bool {
        self.conn.is_lost() || self.conn.writer.is_closing()
    }

    /// Stops calling `data_received` until [`resume_reading`](Self::resume_reading);
    /// the bytes wait in the kernel meanwhile, none is lost.
    pub fn pause_reading(&self) {
        self.conn.reading.set(false);
    }

    /// Calls `data_received` again for what arrives (and what waited).
    pub fn resume_reading(&self) {
        if self.conn.is_lost() || self.conn.reading.replace(true) {
            return;
        }
        if let Some(waker) = self.conn.read_waker.borrow_mut().take() {
            waker.wake();
        }
    }

    /// Whether the transport is reading (not paused, not closing).
    pub fn is_reading(&self) -> bool {
        self.conn.reading.get() && !self.conn.is_lost()
    }

    /// Bytes queued and not yet sent.
    pub fn get_write_buffer_size(&self) -> usize {
        self.conn.writer.get_write_buffer_size()
    }

    /// Sets the high- and low-water marks that trigger `pause_writing` /
    /// `resume_writing` (64 KiB and a quarter of it by default).
    pub fn set_write_buffer_limits(
        &self,
        high: Option<usize>,
        low: Option<usize>,
    ) -> io::Result<()> {
        self.conn.writer.set_write_buffer_limits(high, low)
    }

    /// The `(low, high)` water marks.
    pub fn get_write_buffer_limits(&self) -> (usize, usize) {
        self.conn.writer.get_write_buffer_limits()
    }

    /// The writer underneath (for `loop.sendfile`).
    pub(crate) fn writer(&self) -> &StreamWriter {
        &self.conn.writer
    }

    /// The peer's address (`get_extra_info("peername")`), as connect or accept gave it.
    pub fn peername(&self) -> Option<SocketAddr> {
        self.conn.writer.peername()
    }

    /// Our address (`get_extra_info("sockname")`).
    pub fn sockname(&self) -> Option<SocketAddr> {
        self.conn.writer.sockname()
    }

    /// The peer's address on a Unix socket.
    pub fn unix_peername(&self) -> Option<std::os::unix::net::SocketAddr> {
        self.conn.writer.unix_peername()
    }

    /// Our address on a Unix socket.
    pub fn unix_sockname(&self) -> Option<std::os::unix::net::SocketAddr> {
        self.conn.writer.unix_sockname()
    }
}
