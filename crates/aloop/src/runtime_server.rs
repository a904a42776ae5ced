//! Serving on every loop of a [`Runtime`]: [`Runtime::start_server`] (one
//! `SO_REUSEPORT` listener per loop) and [`Runtime::start_server_one_acceptor`] (one
//! listener handing connections out in turn), and [`RuntimeServer`], which stops them
//! gracefully. The runtime itself is `runtime.rs`.

use std::fmt;
use std::future::Future;
use std::io;
use std::sync::mpsc;

use crate::loop_handle::ThreadsafeFuture;
use crate::runtime::Runtime;

/// A server listening on every loop of a [`Runtime`] (from
/// [`Runtime::start_server`]): one `SO_REUSEPORT` listener per loop on the same
/// address, the kernel spreading connections over them; each connection is served on
/// the loop that accepted it.
pub struct RuntimeServer {
    servers: Vec<ThreadsafeFuture<()>>,
    /// Set by `close`/`shutdown`: each loop's server task waits on it.
    stop: std::sync::Arc<aloop_sync::Event>,
    /// One message from each server task once its listener is closed (its sender
    /// dropped then, or when the task is dropped unfinished), for `close`.
    listeners_closed: std::sync::Mutex<ListenersClosed>,
    addr: std::net::SocketAddr,
}

/// What `close` waits on: the listeners still open and their tasks' messages.
struct ListenersClosed {
    open: usize,
    rx: mpsc::Receiver<()>,
}

impl ListenersClosed {
    fn new(open: usize, rx: mpsc::Receiver<()>) -> std::sync::Mutex<ListenersClosed> {
        std::sync::Mutex::new(ListenersClosed { open, rx })
    }
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
        self.start_server_with(make, host, port, crate::ServerOptions::default())
    }

    /// [`start_server`](Self::start_server) with [`ServerOptions`](crate::ServerOptions)
    /// for every loop's server (the backlog, the reader limit, TLS with `ssl`);
    /// `reuse_port` is always set, since every loop listens on the same address.
    pub fn start_server_with<M, F, Fut>(
        &self,
        make: M,
        host: &str,
        port: u16,
        options: crate::ServerOptions,
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
        let (closed_tx, closed_rx) = mpsc::channel();
        let mut addr = None;
        for i in 0..self.len() {
            let (bound_tx, bound_rx) = mpsc::channel::<io::Result<std::net::SocketAddr>>();
            let (make, host, stop) = (make.clone(), host.to_owned(), stop.clone());
            let closed_tx = closed_tx.clone();
            let options = crate::ServerOptions {
                reuse_port: true,
                ..options.clone()
            };
            let task = self
                .spawn_on(i, move || async move {
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
                    let _ = closed_tx.send(());
                    drop(closed_tx);
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
            listeners_closed: ListenersClosed::new(servers.len(), closed_rx),
            servers,
            stop,
            addr: addr.expect("a runtime has at least one loop"),
        })
    }
}

impl Runtime {
    /// A server whose one listener, on the first loop, hands the accepted connections
    /// to the loops in turn (round robin); each connection is then served on its loop
    /// as with [`start_server`](Self::start_server). For kernels or platforms where
    /// `SO_REUSEPORT` balances poorly, or to keep a loop free of new connections.
    ///
    /// ```
    /// use std::io::{BufRead, BufReader};
    ///
    /// let rt = aloop::Runtime::new(2).unwrap();
    /// let server = rt
    ///     .start_server_one_acceptor(
    ///         || |_r: aloop::StreamReader, w: aloop::StreamWriter| async move {
    ///             let me = std::thread::current().name().unwrap().to_owned();
    ///             let _ = w.write(format!("{me}\n").as_bytes());
    ///         },
    ///         "127.0.0.1",
    ///         0,
    ///     )
    ///     .unwrap();
    /// let mut loops = Vec::new();
    /// for _ in 0..4 {
    ///     let stream = std::net::TcpStream::connect(server.local_addr()).unwrap();
    ///     let mut line = String::new();
    ///     BufReader::new(stream).read_line(&mut line).unwrap();
    ///     loops.push(line);
    /// }
    /// assert_eq!(loops, ["aloop-loop-0\n", "aloop-loop-1\n", "aloop-loop-0\n", "aloop-loop-1\n"]);
    /// assert!(server.shutdown(std::time::Duration::from_secs(5)));
    /// ```
    pub fn start_server_one_acceptor<M, F, Fut>(
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
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;

        let listener = std::net::TcpListener::bind((host, port))?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(aloop_sync::Event::new());
        let handles = self.handles();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let idle = Arc::new(aloop_sync::Event::new());
        let acceptor_stop = stop.clone();
        let (closed_tx, closed_rx) = mpsc::channel();
        let acceptor = self
            .spawn_on(0, move || async move {
                let lp = crate::get_running_loop().expect("inside the runtime's loop");
                let mut next = 0usize;
                loop {
                    let accepted = unless(lp.sock_accept(&listener), acceptor_stop.wait()).await;
                    let Some(accepted) = accepted else { break };
                    let Ok((stream, _peer)) = accepted else {
                        continue;
                    };
                    let target = &handles[next % handles.len()];
                    next = next.wrapping_add(1);
                    in_flight.fetch_add(1, Ordering::SeqCst);
                    let (make, done, idle) = (make.clone(), in_flight.clone(), idle.clone());
                    let sent = target.spawn_with(move || async move {
                        if let (Ok((r, w)), Ok(lp)) = (
                            crate::open_connection_from(stream),
                            crate::get_running_loop(),
                        ) {
                            crate::streams::serve_client(&make(), r, w, &lp).await;
                        }
                        if done.fetch_sub(1, Ordering::SeqCst) == 1 {
                            idle.set();
                        }
                    });
                    if sent.is_err() {
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                    }
                }
                drop(listener); // no new connections from here on
                let _ = closed_tx.send(());
                drop(closed_tx);
                while in_flight.load(Ordering::SeqCst) > 0 {
                    idle.clear();
                    if in_flight.load(Ordering::SeqCst) == 0 {
                        break;
                    }
                    idle.wait().await;
                }
            })
            .map_err(|_| io::Error::other("the runtime is shutting down"))?;
        Ok(RuntimeServer {
            servers: vec![acceptor],
            stop,
            listeners_closed: ListenersClosed::new(1, closed_rx),
            addr,
        })
    }
}

impl RuntimeServer {
    /// The address every loop listens on.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// Stops accepting on every loop and returns once every listener is closed (new
    /// connections are refused from then on); the connections already accepted are
    /// served on. Asyncio's `Server.close()` then the wait for the listening sockets
    /// to go: what a graceful stop does before it tells its connections to finish, so
    /// that no connection is accepted after they were told. Idempotent;
    /// [`shutdown`](Self::shutdown) then waits for the connections.
    ///
    /// ```
    /// let rt = aloop::Runtime::new(2).unwrap();
    /// let server = rt
    ///     .start_server(|| |_r: aloop::StreamReader, _w: aloop::StreamWriter| async {}, "127.0.0.1", 0)
    ///     .unwrap();
    /// server.close();
    /// let refused = std::net::TcpStream::connect(server.local_addr()).unwrap_err();
    /// assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
    /// assert!(server.shutdown(std::time::Duration::from_secs(5)));
    /// ```
    pub fn close(&self) {
        self.stop.set();
        let mut closed = self
            .listeners_closed
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while closed.open > 0 {
            // Err: every sender is gone (a task dropped before it closed its listener,
            // its loop closing): nothing left listening to wait for.
            if closed.rx.recv().is_err() {
                closed.open = 0;
            } else {
                closed.open -= 1;
            }
        }
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

/// `work`'s output, or `None` if `stop` is ready first.
async fn unless<W: Future, S: Future>(work: W, stop: S) -> Option<W::Output> {
    let (mut work, mut stop) = (std::pin::pin!(work), std::pin::pin!(stop));
    std::future::poll_fn(|cx| {
        if let std::task::Poll::Ready(out) = work.as_mut().poll(cx) {
            return std::task::Poll::Ready(Some(out));
        }
        if stop.as_mut().poll(cx).is_ready() {
            return std::task::Poll::Ready(None);
        }
        std::task::Poll::Pending
    })
    .await
}
