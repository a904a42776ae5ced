//! aloop: an async runtime for Rust whose event-loop API mirrors Python's asyncio.
//!
//! ```
//! use std::time::Duration;
//!
//! let lp = aloop::new_event_loop();
//! lp.call_soon(|| println!("call_soon runs on the next iteration")).unwrap();
//! lp.call_later(Duration::from_millis(10), || println!("call_later, 10 ms on")).unwrap();
//! let result = lp.run_until_complete(async {
//!     let a = aloop::create_task(async { 1 });
//!     let b = aloop::create_task(async {
//!         aloop::sleep(Duration::from_millis(20)).await;
//!         2
//!     });
//!     a.await.unwrap() + b.await.unwrap()
//! });
//! assert_eq!(result.unwrap(), 3);
//! ```
//!
//! The loop is single-threaded, like asyncio's: [`EventLoop`] and [`LoopRef`] are
//! `!Send`, tasks may hold `!Send` data, and other threads reach the loop through a
//! [`LoopHandle`]. One iteration follows asyncio's `_run_once`: wait for I/O or the next
//! timer, move due timers to the ready queue, take in what other threads sent, then run
//! exactly the callbacks and task steps that were ready when the iteration began.
//!
//! Child processes ([`create_subprocess_exec`], [`create_subprocess_shell`], the
//! [`subprocess`] module) and signals ([`LoopRef::add_signal_handler`], Ctrl-C in
//! [`run`]) come with the default feature `process`, on the `aloop-process` crate.
//!
//! `#[aloop::main]` turns an `async fn main` into a program's `main`, run as [`run`]
//! runs a future, and `#[aloop::test]` turns an `async fn` into a `#[test]` on a fresh
//! loop, in debug mode or on virtual time if asked: the default feature `macros`, on
//! the `aloop-macros` crate. [`Runner::builder`] sets a loop up the same way by hand.
//!
//! See `docs/asyncio-mapping.md` in the repository for every asyncio call and its aloop
//! form.
#![deny(missing_docs)]

mod callback;
mod combinators;
#[cfg(feature = "compat")]
mod compat_runtime;
mod datagram;
mod error;
mod event_loop;
mod exception;
mod handle;
#[cfg(feature = "process")]
mod interrupt;
pub mod introspect;
mod lookup;
mod loop_handle;
mod loop_state;
mod noop_waker;
mod promise;
mod protocols;
mod run_in_executor;
mod runner;
mod runner_builder;
mod running;
mod runtime;
mod runtime_pin;
mod runtime_server;
mod sendfile;
mod shield;
mod sleep;
mod sock_calls;
mod streams;
#[cfg(feature = "process")]
pub mod subprocess;
mod task;
#[cfg(feature = "tls")]
pub mod tls;

pub use combinators::{
    __private, as_completed, gather, gather_all, task_group, timeout, timeout_at, wait, wait_for,
    AsCompleted, AsCompletedItem, AsCompletedNext, Gather, GatherAll, ReturnWhen, TaskGroup,
    TaskGroupError, TaskGroupJoin, TaskGroupScope, Timeout, TimeoutError, TimeoutFuture, Wait,
    WaitFor,
};
pub use datagram::{
    create_datagram_endpoint, create_unix_datagram_endpoint, DatagramAddr, DatagramOptions,
    DatagramProtocol, DatagramTransport, SendtoError, TransportSocket,
};
#[cfg(feature = "process")]
pub use error::SignalHandlerError;
pub use error::{
    Cancelled, CloseRunningLoop, FdWatchError, InvalidStateError, LoopClosed, NoRunningLoop,
    PanicPayload, PromiseError, RealTimeError, RunError, TaskError,
};
/// Signal numbers (Python's `signal.SIGINT`, ...), for
/// [`LoopRef::add_signal_handler`] and [`Process::send_signal`].
#[cfg(feature = "process")]
pub mod signal {
    pub use aloop_process::signum::*;
}
pub use event_loop::metrics::LoopMetrics;
pub use event_loop::{get_running_loop, new_event_loop, EventLoop, LoopRef};
pub use exception::{default_exception_handler, ExceptionContext};
pub use handle::{Handle, TimerHandle};
pub use introspect::{Awaiting, LoopSnapshot, TaskSnapshot, TaskState};
pub use lookup::{AddrInfo, AddrInfoHints, GaiError, GaiErrorKind};
pub use loop_handle::{LoopHandle, ThreadsafeFuture};
pub use promise::Promise;
pub use protocols::{AnyProtocol, Buffered, BufferedProtocol, Driver, Protocol, Transport};
pub use run_in_executor::{
    to_thread, ExecutorError, JobError, JobFuture, RunInExecutor, SubmitError, ThreadPoolExecutor,
};
pub use runner::{
    all_tasks, create_eager_task, create_task, create_task_with, run, try_run, Runner,
};
pub use runner_builder::RunnerBuilder;
pub use runtime::Runtime;
pub use runtime_server::RuntimeServer;
pub use shield::{shield, Shield};
pub use sleep::{sleep, sleep_until, Sleep};
pub use streams::{
    open_connection, open_connection_from, open_connection_with, open_unix_connection,
    start_server, start_server_with, start_unix_server, start_unix_server_with, ClientOutcome,
    ConnectOptions, IncompleteReadError, LimitOverrunError, Lines, ReadError, Server,
    ServerOptions, StreamReader, StreamWriter, DEFAULT_HIGH_WATER, DEFAULT_LIMIT,
};
#[cfg(feature = "process")]
pub use subprocess::{create_subprocess_exec, create_subprocess_shell, Process};
pub use task::{current_task, AnyTask, Task, TaskOptions};

#[cfg(feature = "macros")]
#[doc(inline)]
pub use aloop_macros::{main, test};

/// asyncio's synchronisation primitives and queues (the `aloop-sync` crate), usable
/// from aloop tasks and from any other executor.
pub mod sync {
    pub use aloop_sync::*;
}
pub use aloop_sync::{
    Barrier, BoundedSemaphore, Condition, Event, LifoQueue, Lock, PriorityQueue, Queue, Semaphore,
};

/// tokio-based libraries on aloop (feature `compat`, on the `async-compat` crate).
///
/// Wrap a future that uses tokio's types (a `tokio-postgres` query, a `reqwest`
/// request) in [`Compat`](compat::Compat) and await it from an aloop task: while it is
/// polled, it sees a tokio runtime (one started lazily on a background thread, unless
/// the thread already has one), whose thread drives the tokio sockets and timers and
/// wakes the aloop task across threads. That hop is what it costs (see
/// `docs/ecosystem.md`). `Compat` on an I/O type converts between tokio's and
/// futures-io's `AsyncRead`/`AsyncWrite`, so tokio-flavoured codecs work on aloop's
/// streams, which implement futures-io's traits.
///
/// `async-compat`'s own background runtime lives until the process ends. A program that
/// wants its tokio side stopped cleanly (its tasks dropped, its threads joined) makes a
/// [`TokioRuntime`](compat::TokioRuntime) and enters it on the loop's thread: `Compat`
/// then uses that runtime, which shuts down when dropped.
#[cfg(feature = "compat")]
pub mod compat {
    pub use async_compat::{Compat, CompatExt};

    pub use crate::compat_runtime::TokioRuntime;
}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;

/// The guide for asyncio users (`docs/guide`): every Rust block of every chapter is
/// compiled and run as a doctest, one item per chapter.
#[cfg(doctest)]
mod guide {
    // Its last section uses `#[aloop::main]` and `#[aloop::test]`.
    #[cfg(feature = "macros")]
    #[doc = include_str!("../../../docs/guide/src/01-event-loop.md")]
    struct EventLoop;

    #[doc = include_str!("../../../docs/guide/src/02-tasks-and-futures.md")]
    struct TasksAndFutures;

    #[doc = include_str!("../../../docs/guide/src/03-gather-wait-timeouts.md")]
    struct GatherWaitTimeouts;

    #[doc = include_str!("../../../docs/guide/src/04-blocking-work.md")]
    struct BlockingWork;

    #[doc = include_str!("../../../docs/guide/src/05-streams.md")]
    struct Streams;

    #[doc = include_str!("../../../docs/guide/src/06-lock-and-queue.md")]
    struct LockAndQueue;

    #[cfg(feature = "process")]
    #[doc = include_str!("../../../docs/guide/src/07-subprocesses-and-signals.md")]
    struct SubprocessesAndSignals;

    #[doc = include_str!("../../../docs/guide/src/08-transports-protocols-udp.md")]
    struct TransportsProtocolsUdp;

    #[doc = include_str!("../../../docs/guide/src/09-rust-ecosystem.md")]
    struct RustEcosystem;

    #[cfg(feature = "process")]
    #[doc = include_str!("../../../docs/guide/src/10-crates-on-their-own.md")]
    struct CratesOnTheirOwn;
}
