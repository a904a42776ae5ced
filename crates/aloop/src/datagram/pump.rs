//! The endpoint's task: one per endpoint, it receives datagrams into one reused
//! buffer, sends the queued ones as the socket becomes writable, and calls the
//! protocol for each event (asyncio's `_read_ready` / `_sendto_ready` callbacks, in
//! one task).
//!
//! Each step (`Endpoint::poll_step`) reports one event; the task then calls the
//! protocol with no borrow of the shared state held, so a callback may call `sendto`,
//! `close` or `abort`. A panic in a callback is caught and reported to the loop's
//! exception handler, and the task goes on. Receive errors (`ECONNREFUSED` on a
//! connected UDP socket, ...) go to `error_received` and the task goes on, as in
//! asyncio. After 32 events in a row the task yields, so a flood of datagrams does
//! not starve the rest of the loop. `connection_lost` is called from `Endpoint`'s
//! `Drop`, so it runs exactly once however the task ends: done (closed or aborted)
//! or cancelled (the loop closing). Made by `endpoint.rs`; uses `transport.rs`,
//! `socket.rs`, `protocol.rs`, `addr.rs`.

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

use super::addr::DatagramAddr;
use super::protocol::DatagramProtocol;
use super::socket::Sock;
use super::transport::Inner;
use crate::exception::ExceptionContext;
use crate::loop_state::LoopState;

/// Events handled before the task yields to the rest of the loop.
const EVENT_BUDGET: u32 = 32;

/// What one step of the endpoint found.
enum Step {
    Datagram(usize, DatagramAddr),
    Error(io::Error),
    Pause,
    Resume,
    /// Closed with the queue sent, or aborted.
    Done,
}

/// Everything the task owns. Dropping it ends the endpoint: see `Drop`.
pub(super) struct Endpoint {
    inner: Rc<Inner>,
    sock: Rc<Sock>,
    protocol: Rc<RefCell<dyn DatagramProtocol>>,
    state: Weak<LoopState>,
}

impl Endpoint {
    pub(super) fn new(
        inner: Rc<Inner>,
        sock: Rc<Sock>,
        protocol: Rc<RefCell<dyn DatagramProtocol>>,
        state: Weak<LoopState>,
    ) -> Endpoint {
        Endpoint {
            inner,
            sock,
            protocol,
            state,
        }
    }

    /// Calls the protocol, catching a panic; reports a panic, or a protocol the user
    /// holds borrowed, to the loop's exception handler.
    pub(super) fn call(&self, what: &str, f: impl FnOnce(&mut dyn DatagramProtocol)) {
        let outcome = catch_unwind(AssertUnwindSafe(|| match self.protocol.try_borrow_mut() {
            Ok(mut protocol) => {
                f(&mut *protocol);
                true
            }
            Err(_) => false,
        }));
        if let Ok(true) = outcome {
            return;
        }
        let Some(state) = self.state.upgrade() else {
            return;
        };
        match outcome {
            Ok(_) => state.call_exception_handler(&ExceptionContext::new(format!(
                "DatagramProtocol.{what} skipped: the protocol was already borrowed \
                 (do not hold a borrow of it across an await)"
            ))),
            Err(payload) => state.report_callback_panic(payload),
        }
    }

    /// One step: the next event, or `Pending` with the task registered for what it
    /// waits on (readability, writability while datagrams are queued, and a wake from
    /// `sendto`/`close`/`abort` through the stored waker).
    fn poll_step(&self, cx: &mut Context<'_>, buf: &mut [u8], budget: &mut u32) -> Poll<Step> {
        let mut st = self.inner.st.borrow_mut();
        if !st.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            st.waker = Some(cx.waker().clone());
        }
        if st.aborted {
            return Poll::Ready(Step::Done);
        }
        if let Some(e) = st.errors.pop_front() {
            return Poll::Ready(Step::Error(e));
        }
        while let Some((data, dest)) = st.queue.front() {
            let sent = match self.sock.poll_send(cx, data, dest) {
                Poll::Pending => break,
                Poll::Ready(sent) => sent,
            };
            if let Some((data, _)) = st.queue.pop_front() {
                st.queued_bytes -= data.len();
            }
            if let Err(e) = sent {
                // As asyncio: the datagram is gone, the error goes to the protocol.
                return Poll::Ready(Step::Error(e));
            }
        }
        if !st.paused && st.queued_bytes > st.high {
            st.paused = true;
            return Poll::Ready(Step::Pause);
        }
        if st.paused && st.queued_bytes <= st.low {
            st.paused = false;
            return Poll::Ready(Step::Resume);
        }
        if st.closing {
            // No more receiving (asyncio removes the reader at close()).
            return if st.queue.is_empty() {
                Poll::Ready(Step::Done)
            } else {
                Poll::Pending
            };
        }
        drop(st);
        if *budget == 0 {
            *budget = EVENT_BUDGET;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        match self.sock.poll_recv(cx, buf) {
            Poll::Ready(Ok((n, addr))) => {
                *budget -= 1;
                Poll::Ready(Step::Datagram(n, addr))
            }
            Poll::Ready(Err(e)) => {
                *budget -= 1;
                Poll::Ready(Step::Error(e))
            }
            Poll::Pending => {
                *budget = EVENT_BUDGET;
                Poll::Pending
            }
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        {
            let mut st = self.inner.st.borrow_mut();
            st.closing = true;
            st.aborted = true;
            st.queue.clear();
            st.queued_bytes = 0;
            st.errors.clear();
            // The waker is this task's: keeping it would keep the task alive.
            st.waker = None;
        }
        self.call("connection_lost", |p| p.connection_lost(None));
        // The socket closes when its last `Rc` goes: this one, after the callback (as
        // asyncio closes it after `connection_lost`), unless a `TransportSocket` is held.
        let taken = self.inner.sock.borrow_mut().take();
        drop(taken);
    }
}

/// The endpoint's task body.
pub(super) async fn pump(endpoint: Endpoint) {
    let mut buf = vec![0u8; endpoint.sock.recv_size()];
    let mut budget = EVENT_BUDGET;
    loop {
        let step = poll_fn(|cx| endpoint.poll_step(cx, &mut buf, &mut budget)).await;
        match step {
            Step::Datagram(n, addr) => endpoint.call("datagram_received", |p| {
                p.datagram_received(&buf[..n], addr)
            }),
            Step::Error(e) => endpoint.call("error_received", |p| p.error_received(e)),
            Step::Pause => endpoint.call("pause_writing", |p| p.pause_writing()),
            Step::Resume => endpoint.call("resume_writing", |p| p.resume_writing()),
            Step::Done => return,
        }
    }
}
