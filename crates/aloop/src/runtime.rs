//! [`Runtime`]: N event loops on N threads, one per core by default, with no work
//! stealing: each task lives its whole life on the loop it was spawned on, as asyncio's
//! "one process per core" deployments and thread-per-core runtimes do. Each loop is a
//! full `EventLoop` (its own reactor, wheel and ready queue) reached through its
//! `LoopHandle`.

use std::fmt;
use std::future::Future;
use std::io;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};

use crate::error::LoopClosed;
use crate::event_loop::EventLoop;
use crate::loop_handle::{LoopHandle, ThreadsafeFuture};
use crate::runner::Runner;

/// One loop of the runtime: its handle and the thread that runs it.
struct LoopThread {
    handle: LoopHandle,
    thread: Option<JoinHandle<()>>,
}

/// N event loops on N threads (asyncio users' "one process per core", in one process).
///
/// Tasks are spawned on a chosen loop with [`spawn_on`](Runtime::spawn_on), whose
/// builder closure is `Send` while the task it builds may be `!Send`; they stay on that
/// loop. [`handles`](Runtime::handles) gives each loop's [`LoopHandle`] for
/// `call_soon_threadsafe` between loops. To serve on every core, start a server on
/// each loop with `reuse_port` (`ServerOptions`): the kernel spreads connections over
/// the listeners, and each connection lives on one loop.
///
/// Dropping the runtime (or [`shutdown`](Runtime::shutdown)) stops every loop, cancels
/// the tasks left on it (their destructors run on its thread), closes it and joins its
/// thread.
///
/// ```
/// let rt = aloop::Runtime::new(2).unwrap();
/// let answers: Vec<_> = (0..rt.len())
///     .map(|i| {
///         // The builder is Send; the task it makes may hold !Send data.
///         rt.spawn_on(i, move || async move {
///             let local = std::rc::Rc::new(i * 10);
///             aloop::sleep(std::time::Duration::from_millis(1)).await;
///             *local + 1
///         })
///         .unwrap()
///     })
///     .collect();
/// let got: Vec<usize> = answers.into_iter().map(|a| a.wait().unwrap()).collect();
/// assert_eq!(got, [1, 11]);
/// ```
pub struct Runtime {
    loops: Vec<LoopThread>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("loops", &self.loops.len())
            .finish()
    }
}

impl Runtime {
    /// A runtime of `loops` event loops, each on a thread of its own named
    /// `aloop-loop-<i>`; 0 means one per available core.
    ///
    /// Errors: the OS refused a thread or a loop's poller (the loops already started
    /// are stopped and joined).
    pub fn new(loops: usize) -> io::Result<Runtime> {
        let count = match loops {
            0 => thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let mut runtime = Runtime { loops: Vec::new() };
        for i in 0..count {
            let (tx, rx) = mpsc::channel();
            let thread = thread::Builder::new()
                .name(format!("aloop-loop-{i}"))
                .spawn(move || run_loop(tx))?;
            match rx.recv() {
                Ok(Ok(handle)) => runtime.loops.push(LoopThread {
                    handle,
                    thread: Some(thread),
                }),
                Ok(Err(e)) => {
                    let _ = thread.join();
                    return Err(e);
                }
                Err(_) => {
                    let _ = thread.join();
                    return Err(io::Error::other("a loop thread ended before it started"));
                }
            }
        }
        Ok(runtime)
    }

    /// How many loops the runtime has.
    pub fn len(&self) -> usize {
        self.loops.len()
    }

    /// Whether the runtime has no loop (never: it has at least one).
    pub fn is_empty(&self) -> bool {
        self.loops.is_empty()
    }

    /// Every loop's handle, in order (`call_soon_threadsafe`, `spawn`, `stop`).
    pub fn handles(&self) -> Vec<LoopHandle> {
        self.loops.iter().map(|l| l.handle.clone()).collect()
    }

    /// Builds a task on loop `index` (modulo the number of loops) with `make`, which
    /// runs on that loop's thread, and returns a handle to its output that any thread
    /// can wait on or await. Errors once the runtime is shutting down.
    pub fn spawn_on<M, F>(
        &self,
        index: usize,
        make: M,
    ) -> Result<ThreadsafeFuture<F::Output>, LoopClosed>
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        self.loops[index % self.loops.len()].handle.spawn_with(make)
    }

    /// Runs a task built by `make` on the first loop and waits for its output (a
    /// panic in it is returned as `TaskError::Panicked`).
    pub fn block_on<M, F>(&self, make: M) -> Result<F::Output, crate::TaskError>
    where
        M: FnOnce() -> F + Send + 'static,
        F: Future + 'static,
        F::Output: Send + 'static,
    {
        match self.spawn_on(0, make) {
            Ok(task) => task.wait(),
            Err(LoopClosed) => Err(crate::TaskError::Cancelled),
        }
    }

    /// Stops every loop, cancels what is left on each (its destructors run there),
    /// closes them and joins their threads. Dropping the runtime does the same.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        for l in &self.loops {
            let _ = l.handle.stop();
        }
        for l in &mut self.loops {
            if let Some(thread) = l.thread.take() {
                // A loop thread that panicked has already reported it (the default
                // hook printed it); the others are joined regardless.
                let _ = thread.join();
            }
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// One loop's thread: make the loop, hand its handle back, run until stopped, then
/// end as `Runner::close` does (cancel the tasks left, close).
fn run_loop(started: mpsc::Sender<io::Result<LoopHandle>>) {
    let lp = match EventLoop::try_new() {
        Ok(lp) => lp,
        Err(e) => {
            let _ = started.send(Err(e));
            return;
        }
    };
    if started.send(Ok(lp.handle())).is_err() {
        return;
    }
    let _ = lp.run_forever();
    let runner = Runner::from_loop(lp);
    runner.close();
}

/// A server listening on every loop of a [`Runtime`] (from
/// [`Runtime::start_server`]): one `SO_REUSEPORT` listener per loop on the same
/// address, the kernel spreading connections over them; each connection is served on
/// the loop that accepted it.
pub struct RuntimeServer {
    servers: Vec<ThreadsafeFuture<()>>,
    /// Set by `shutdown`: each loop's server task waits on it.
    stop: std::sync::Arc<aloop_sync::Event>,
    addr: std::net::SocketAddr,
}

impl fmt::Debug for RuntimeServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeServer")
            .field("addr", &self.addr)
            .field("loops", &self.servers.len())
            .finish()
    }
}

impl Runtime {
    /// Starts `start_server` on every loop with `SO_REUSEPORT`, all on one address
    /// (port 0: the first loop picks a free port, the others take the same). `make`
    /// builds each loop's connection callback on that loop's thread.
    ///
    /// Returns once every loop listens. [`RuntimeServer::shutdown`] stops accepting
    /// and waits, up to a deadline, for the connections in flight.
    ///
    /// ```
    /// use std::io::{BufRead, BufReader};
    ///
    /// let rt = aloop::Runtime::new(2).unwrap();
    /// let server = rt
    ///     .start_server(
    ///         || |_r: aloop::StreamReader, w: aloop::StreamWriter| async move {
    ///             let _ = w.write(b"hello\n");
    ///         },
    ///         "127.0.0.1",
    ///         0,
    ///     )
    ///     .unwrap();
    /// let stream = std::net::TcpStream::connect(server.local_addr()).unwrap();
    /// let mut line = String::new();
    /// BufReader::new(stream).read_line(&mut line).unwrap();
    /// assert_eq!(line, "hello\n");
    /// assert!(server.shutdown(std::time::Duration::from_secs(5)));
    /// ```
    pub fn start_server<M, F, Fut>(
        &self,
        make: M,
        host: &str,
        port: u16,
    ) -> io::Result<RuntimeServer>
    where
        M: Fn() -> F + Send + Sync + Clone + 'static,
        F: Fn(crate::StreamReader, crate::StreamWriter) -> Fut + 'static,
        Fut: Future + 'static,
        Fut::Output: crate::ClientOutcome,
    {
        let mut port = port;
        let mut servers = Vec::new();
        let stop = std::sync::Arc::new(aloop_sync::Event::new());
        let mut addr = None;
        for i in 0..self.len() {
            let (bound_tx, bound_rx) = mpsc::channel::<io::Result<std::net::SocketAddr>>();
            let (make, host, stop) = (make.clone(), host.to_owned(), stop.clone());
            let task = self
                .spawn_on(i, move || async move {
                    let options = crate::ServerOptions {
                        reuse_port: true,
                        ..Default::default()
                    };
                    let server = match crate::start_server_with(make(), &host, port, options).await
                    {
                        Ok(server) => server,
                        Err(e) => {
                            let _ = bound_tx.send(Err(e));
                            return;
                        }
                    };
                    let _ = bound_tx.send(Ok(server.sockets()[0]));
                    // Until asked to stop: then stop accepting and let the connections
                    // in flight finish (the caller bounds the wait).
                    stop.wait().await;
                    server.close();
                    server.wait_closed().await;
                })
                .map_err(|_| io::Error::other("the runtime is shutting down"))?;
            let bound = bound_rx
                .recv()
                .map_err(|_| io::Error::other("a loop ended before it listened"))??;
            port = bound.port();
            addr.get_or_insert(bound);
            servers.push(task);
        }
        Ok(RuntimeServer {
            servers,
            stop,
            addr: addr.expect("a runtime has at least one loop"),
        })
    }
}

impl RuntimeServer {
    /// The address every loop listens on.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Stops accepting on every loop now, then waits until every connection in flight
    /// has finished or `deadline` has passed; returns whether they all finished. The
    /// loops run on either way (the runtime's drop stops them).
    pub fn shutdown(self, deadline: std::time::Duration) -> bool {
        let until = std::time::Instant::now() + deadline;
        self.stop.set();
        let mut all = true;
        for task in self.servers {
            let left = until.saturating_duration_since(std::time::Instant::now());
            all &= matches!(task.wait_timeout(left), Ok(Ok(())));
        }
        all
    }
}
