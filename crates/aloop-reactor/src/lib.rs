//! # aloop-reactor
//!
//! I/O readiness for the aloop runtime, on top of the [`polling`] crate: a
//! [`Reactor`] that the event loop polls once per iteration, the [`Async<T>`]
//! readiness wrapper, non-blocking [`TcpListener`]/[`TcpStream`], [`UdpSocket`],
//! [`UnixListener`]/[`UnixStream`] implementing `futures-io`'s `AsyncRead` and
//! `AsyncWrite`, and the level-triggered [`Registration`] behind asyncio-style
//! `add_reader`/`add_writer`.
//!
//! ## Edge-triggered, registered once
//!
//! Sockets are registered **edge-triggered** for both directions, once, when they
//! are created (one `epoll_ctl`), and deregistered when dropped. Oneshot mode would
//! need a re-arming `epoll_ctl` every time a task waits; level mode would report a
//! writable socket on every poll. With edges, the steady-state cost of a read or
//! write is the read or write itself:
//!
//! * a read that can complete runs one `read`/`recv` syscall and touches neither the
//!   poller nor a lock (readiness is one atomic word per direction);
//! * on `WouldBlock`, readiness is cleared with one compare-and-swap that fails if an
//!   event arrived meanwhile, so a racing wake-up is never lost;
//! * a TCP read on Linux that leaves part of its buffer unfilled proves the queue
//!   empty (epoll(7)): readiness is cleared right away, so the next read waits for the
//!   next edge instead of paying for a `WouldBlock` syscall. Sockets are registered
//!   with `EPOLLRDHUP`, and once an event reports the peer's end of writing (or
//!   hang-up, error, urgent data) only `WouldBlock` clears readiness, so an
//!   end-of-stream queued behind the data, which brings no edge, is never missed.
//!   (`recv` with room to spare costs the kernel less than `recvmsg` with `TCP_INQ`
//!   or a `readv`: the crate's README has the measurement.)
//! * a short write on a stream fd means the send buffer is full, so write readiness
//!   is cleared at once; freed space produces a new edge.
//! * an event takes a direction's waiter lock only if a task waits on it (a bit in
//!   the same atomic word says so): the writable edges that come with most readable
//!   ones cost one atomic update. The protocol has loom models (`source_loom.rs`).
//!
//! On Linux, waiting is one `epoll_wait` on the poller's epoll fd and `notify` writes
//! an edge-triggered eventfd (polling's own `wait` costs five syscalls); measured on
//! a 1 KiB loopback echo whose reads have room to spare: 6 syscalls per round trip
//! (2 `recv`, 2 `sendto`, 2 `epoll_wait`).
//!
//! Where the poller has no edge mode (polling's `poll(2)`/event-port backends) the
//! reactor falls back to oneshot registration, re-armed only when a task waits.
//!
//! ## Finding the reactor
//!
//! [`Async::new`] and the socket constructors use the thread's current reactor, set
//! by [`Reactor::enter`] (the aloop event loop and [`Reactor::block_on`] do this);
//! [`Async::with_reactor`] names one explicitly. With none current they return an
//! `io::Error` saying so — unless the process opted into the background-driven
//! [`Reactor::global`], which then serves threads with no current reactor (for use
//! under tokio or other executors).
//!
//! ```
//! use aloop_reactor::{Reactor, TcpListener, TcpStream};
//!
//! let reactor = Reactor::new()?;
//! reactor.block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0")?;
//!     let client = TcpStream::connect(listener.local_addr()?).await?;
//!     let (server, _) = listener.accept().await?;
//!     client.write_all(b"hello").await?;
//!     let mut buf = [0u8; 5];
//!     server.read_exact(&mut buf).await?;
//!     assert_eq!(&buf, b"hello");
//!     std::io::Result::Ok(())
//! })?;
//! # std::io::Result::Ok(())
//! ```
#![deny(missing_docs)]
#![cfg(unix)]

mod async_io;
mod block_on;
#[cfg(any(target_os = "linux", target_os = "android"))]
mod epoll_wait;
mod global;
mod reactor;
mod registration;
#[cfg(all(test, any(target_os = "linux", target_os = "android")))]
mod short_read_tests;
mod source;
#[cfg(all(test, loom))]
mod source_loom;
mod sync;
mod sys;
mod tcp;
mod udp;
mod unix;
mod util;

pub use async_io::Async;
pub use reactor::{EnterGuard, Reactor};
pub use registration::Registration;
pub use tcp::{Incoming, TcpListener, TcpStream, DEFAULT_BACKLOG};
pub use udp::UdpSocket;
pub use unix::{UnixIncoming, UnixListener, UnixStream};
