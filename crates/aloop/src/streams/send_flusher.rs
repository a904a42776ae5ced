//! The send queue's third way out (see `send_queue.rs`): the flusher task, which sends
//! what the socket did not take, and the endings that wait behind queued bytes
//! (`write_eof`, `close`, and over TLS the session's close_notify), plus `abort`,
//! which waits for nothing.

use std::cell::RefMut;
use std::future::poll_fn;
use std::io;
use std::net::Shutdown;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::send_queue::{wake_all, Inner, State};
use crate::task::spawn_on;

impl Inner {
    /// Shuts the socket down and, unless an ending TLS record still waits for the
    /// socket (the flusher then finishes, see `poll_flush`), marks the writer closed.
    pub(super) fn finish_close(self: &Rc<Self>, st: &mut State) -> Vec<Waker> {
        // The fd itself closes when the reader half is dropped too; shutting both
        // directions now sends FIN and makes our own reader see EOF, as asyncio's
        // transport.close() does.
        let _ = self.transport.shutdown(Shutdown::Both);
        if self.transport.has_pending_output() {
            self.bound_tls_shutdown();
            return Vec::new();
        }
        st.closed = true;
        self.notify(st);
        std::mem::take(&mut st.close_waiters)
    }

    /// A TLS close whose close_notify waits for the socket: after the session's
    /// shutdown timeout (asyncio's `ssl_shutdown_timeout`), the connection is aborted,
    /// so a peer that stopped reading cannot keep it forever.
    fn bound_tls_shutdown(self: &Rc<Self>) {
        let (Some(limit), Some(home)) = (self.transport.shutdown_timeout(), self.home.upgrade())
        else {
            return;
        };
        let weak = Rc::downgrade(self);
        let lp = crate::event_loop::LoopRef::from_state(home);
        let _ = lp.call_later(limit, move || {
            if let Some(inner) = weak.upgrade() {
                if !inner.st.borrow().closed {
                    inner.abort();
                }
            }
        });
    }

    /// The flusher's step: send queued bytes until the socket is full or the queue is
    /// empty, then carry out a pending `write_eof`/`close` (over TLS, after the
    /// session's last records and its close_notify are out).
    pub(super) fn poll_flush(self: &Rc<Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut woken = Vec::new();
        let result = loop {
            let mut st = self.st.borrow_mut();
            if st.error.is_some() || st.aborted {
                st.flusher = false;
                st.flusher_waker = None;
                break Poll::Ready(());
            }
            if st.buf.is_empty() {
                match self.transport.poll_flush(cx) {
                    Poll::Ready(Ok(())) => {}
                    Poll::Ready(Err(e)) => {
                        woken = self.fail(&mut st, &e);
                        st.flusher = false;
                        break Poll::Ready(());
                    }
                    Poll::Pending => {
                        set_waker(&mut st.flusher_waker, cx);
                        break Poll::Pending;
                    }
                }
                if st.eof_requested && !st.eof_sent {
                    st.eof_sent = true;
                    if let Err(e) = self.transport.shutdown(Shutdown::Write) {
                        woken = self.fail(&mut st, &e);
                    } else if self.transport.has_pending_output() {
                        continue;
                    }
                }
                if st.closing && !st.closed {
                    woken = self.finish_close(&mut st);
                    if !st.closed {
                        continue;
                    }
                }
                st.flusher = false;
                // Everything is out: `poll_sent` waiters (start_tls) go on.
                woken.append(&mut st.drain_waiters);
                break Poll::Ready(());
            }
            match self.transport.poll_write(cx, st.buf.as_slice()) {
                Poll::Ready(Ok(n)) => {
                    st.buf.consume(n);
                    if st.paused && st.buf.len() <= st.low {
                        st.paused = false;
                        self.notify(&st);
                        woken = std::mem::take(&mut st.drain_waiters);
                    }
                }
                Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Poll::Ready(Err(e)) => {
                    woken = self.fail(&mut st, &e);
                    st.flusher = false;
                    break Poll::Ready(());
                }
                Poll::Pending => {
                    set_waker(&mut st.flusher_waker, cx);
                    break Poll::Pending;
                }
            }
            if !woken.is_empty() {
                drop(st);
                wake_all(std::mem::take(&mut woken));
            }
        };
        wake_all(woken);
        result
    }

    /// `StreamWriter::abort`: drops the queue, ends the flusher, makes the socket
    /// close with a reset, and wakes whoever waits (asyncio's `transport.abort()`).
    pub(super) fn abort(&self) {
        let mut st = self.st.borrow_mut();
        if st.aborted {
            return;
        }
        st.aborted = true;
        st.buf.clear();
        st.paused = false;
        st.closing = true;
        st.queue_open = false;
        st.closed = true;
        self.transport.abort();
        self.notify(&st);
        let mut woken = std::mem::take(&mut st.drain_waiters);
        woken.append(&mut st.close_waiters);
        woken.extend(st.flusher_waker.take());
        drop(st);
        wake_all(woken);
    }

    /// Starts the flusher task for what is queued (the caller checked none runs).
    /// Without a live loop the bytes can never leave: the connection fails.
    pub(super) fn start_flusher(self: &Rc<Self>, mut st: RefMut<'_, State>) -> io::Result<()> {
        let Some(home) = self.home.upgrade().filter(|home| !home.is_closed()) else {
            let e = io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the event loop of this StreamWriter is closed",
            );
            self.fail_now(st, &e);
            return Err(e);
        };
        st.flusher = true;
        drop(st);
        let guard = FlusherGuard(self.clone());
        let task = spawn_on(&home, async move {
            poll_fn(|cx| guard.0.poll_flush(cx)).await;
        });
        task.set_name("aloop-stream-flusher");
        Ok(())
    }
}

/// Keeps `cx`'s waker in `slot`, unless the one there already wakes the same task.
fn set_waker(slot: &mut Option<Waker>, cx: &Context<'_>) {
    if !slot.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
        *slot = Some(cx.waker().clone());
    }
}

/// Resets the flusher flag if the flusher task is dropped unfinished (loop closing).
struct FlusherGuard(Rc<Inner>);

impl Drop for FlusherGuard {
    fn drop(&mut self) {
        if let Ok(mut st) = self.0.st.try_borrow_mut() {
            st.flusher = false;
        }
    }
}
