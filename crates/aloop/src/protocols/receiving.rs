//! The read side of a protocol connection: one task per connection reads the
//! `RawStream` (the same reads as a `StreamReader`'s) and hands the bytes to the
//! protocol: for a `Protocol`, a slice of the thread's one receive buffer
//! (`data_received`), or straight into the protocol's own buffer for a
//! `BufferedProtocol` (`get_buffer` / `buffer_updated`). `Receiver` is the one face
//! both kinds show `transport.rs`.

use std::cell::RefCell;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::task::{Context, Poll};

use super::traits::{Buffered, BufferedProtocol, Protocol};
use super::transport::{Conn, Receiver, Transport};
use crate::streams::raw_stream::RawStream;

/// How much one read asks for.
const READ_SIZE: usize = 64 * 1024;
/// Reads per step before the task yields, so one busy connection cannot starve the
/// loop's other work.
const READS_PER_STEP: usize = 16;

thread_local! {
    /// What every `Protocol` connection of this thread reads into. `data_received`
    /// borrows the bytes only while it runs, so one buffer serves every connection,
    /// as uvloop's loop-wide buffer does: an idle connection holds none (it held
    /// 64 KiB of its own before), and the buffer the kernel copies into stays in cache.
    /// Each connection keeps a handle, so a read does not look the thread-local up;
    /// made by the thread's first `Protocol` connection.
    static RECEIVE_BUFFER: Rc<RefCell<Vec<u8>>> = Rc::new(RefCell::new(vec![0; READ_SIZE]));
}

/// A [`Protocol`]: reads land in the thread's receive buffer, then `data_received`.
pub(crate) struct Plain<P> {
    protocol: Rc<RefCell<P>>,
    buffer: Rc<RefCell<Vec<u8>>>,
}

impl<P> Plain<P> {
    pub(crate) fn new(protocol: Rc<RefCell<P>>) -> Plain<P> {
        Plain {
            protocol,
            buffer: RECEIVE_BUFFER.with(Rc::clone),
        }
    }
}

impl<P: Protocol> Receiver for Plain<P> {
    fn connection_made(&self, transport: Transport) {
        self.protocol.borrow_mut().connection_made(transport);
    }

    fn poll_receive(&self, raw: &RawStream, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let mut shared = self.buffer.try_borrow_mut();
        let mut own;
        let buf: &mut [u8] = match &mut shared {
            Ok(buf) => buf,
            // Taken further up this thread's stack. One loop runs per thread and a
            // nested run is refused, so no `data_received` is below another; were one
            // ever, its read gets a buffer of its own rather than a panic.
            Err(_) => {
                own = vec![0; READ_SIZE];
                &mut own
            }
        };
        let read = raw.poll_read(cx, buf);
        if let Poll::Ready(Ok(n)) = read {
            if n > 0 {
                self.protocol.borrow_mut().data_received(&buf[..n]);
            }
        }
        read
    }

    fn eof_received(&self) -> bool {
        self.protocol.borrow_mut().eof_received()
    }

    fn connection_lost(&self, error: Option<io::Error>) {
        self.protocol.borrow_mut().connection_lost(error);
    }

    fn pause_writing(&self) {
        self.protocol.borrow_mut().pause_writing();
    }

    fn resume_writing(&self) {
        self.protocol.borrow_mut().resume_writing();
    }
}

/// A [`BufferedProtocol`]: reads land in its own buffer.
pub(crate) struct Zerocopy<P> {
    protocol: Rc<RefCell<Buffered<P>>>,
}

impl<P> Zerocopy<P> {
    pub(crate) fn new(protocol: Rc<RefCell<Buffered<P>>>) -> Zerocopy<P> {
        Zerocopy { protocol }
    }
}

impl<P: BufferedProtocol> Receiver for Zerocopy<P> {
    fn connection_made(&self, transport: Transport) {
        self.protocol.borrow_mut().0.connection_made(transport);
    }

    fn poll_receive(&self, raw: &RawStream, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let mut protocol = self.protocol.borrow_mut();
        let read = {
            let buf = protocol.0.get_buffer(READ_SIZE);
            if buf.is_empty() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "get_buffer() returned an empty buffer",
                )));
            }
            raw.poll_read(cx, buf)
        };
        if let Poll::Ready(Ok(n)) = read {
            if n > 0 {
                protocol.0.buffer_updated(n);
            }
        }
        read
    }

    fn eof_received(&self) -> bool {
        self.protocol.borrow_mut().0.eof_received()
    }

    fn connection_lost(&self, error: Option<io::Error>) {
        self.protocol.borrow_mut().0.connection_lost(error);
    }

    fn pause_writing(&self) {
        self.protocol.borrow_mut().0.pause_writing();
    }

    fn resume_writing(&self) {
        self.protocol.borrow_mut().0.resume_writing();
    }
}

/// The connection's read task: reads and delivers until end-of-stream, an error, or
/// the connection is lost; waits while reading is paused.
pub(super) fn poll_read_loop(conn: &Rc<Conn>, cx: &mut Context<'_>) -> Poll<()> {
    for _ in 0..READS_PER_STEP {
        if conn.is_lost() {
            return Poll::Ready(());
        }
        if !conn.reading.get() {
            *conn.read_waker.borrow_mut() = Some(cx.waker().clone());
            return Poll::Pending;
        }
        let Some(receiver) = conn.receiver() else {
            return Poll::Ready(());
        };
        let read = catch_unwind(AssertUnwindSafe(|| receiver.poll_receive(&conn.raw, cx)));
        match read {
            Err(payload) => {
                conn.report_panic(payload);
                return Poll::Ready(());
            }
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(Ok(0))) => {
                conn.reading.set(false);
                let keep_open = conn.call(|r| r.eof_received()).unwrap_or(false);
                if !keep_open && !conn.is_lost() {
                    conn.writer.close();
                }
                return Poll::Ready(());
            }
            Ok(Poll::Ready(Ok(_))) => {}
            Ok(Poll::Ready(Err(e))) if e.kind() == io::ErrorKind::Interrupted => {}
            Ok(Poll::Ready(Err(e))) => {
                conn.fail(e);
                return Poll::Ready(());
            }
        }
    }
    cx.waker().wake_by_ref();
    Poll::Pending
}

/// Either kind of protocol: every [`Protocol`], and a [`BufferedProtocol`] wrapped in
/// [`Buffered`]. Implemented by the crate only.
pub trait AnyProtocol: 'static {
    #[doc(hidden)]
    fn driver(this: Rc<RefCell<Self>>) -> Driver
    where
        Self: Sized;
}

/// How the loop drives a protocol (an implementation detail of [`AnyProtocol`]).
#[doc(hidden)]
pub struct Driver(pub(super) Rc<dyn Receiver>);

impl<P: Protocol> AnyProtocol for P {
    fn driver(this: Rc<RefCell<Self>>) -> Driver {
        Driver(Rc::new(Plain::new(this)))
    }
}

impl<P: BufferedProtocol> AnyProtocol for Buffered<P> {
    fn driver(this: Rc<RefCell<Self>>) -> Driver {
        Driver(Rc::new(Zerocopy::new(this)))
    }
}
