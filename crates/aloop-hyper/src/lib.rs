//! hyper 1.x on aloop: hyper's runtime traits implemented with aloop's streams, tasks
//! and timers, so hyper's HTTP/1.1 server and client run on an aloop loop.
//!
//! | hyper asks for | aloop-hyper gives |
//! |---|---|
//! | `rt::Read` + `rt::Write` (the connection) | [`AloopIo`]: a `StreamReader` + `StreamWriter` pair, or any futures-io pair |
//! | `rt::Executor` (background futures) | [`LoopExecutor`]: `aloop::create_task`, `!Send` futures welcome |
//! | `rt::Timer` (header-read and keep-alive timers) | [`LoopTimer`]: `aloop::sleep` on the loop's wheel and clock |
//!
//! With two helpers on top: [`serve_connection`] for a `start_server` callback, and
//! [`connect`] for a client connection.
//!
//! ```
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http_body_util::{BodyExt, Full};
//! use hyper::{service::service_fn, Request, Response};
//!
//! async fn hello(req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
//!     let text = format!("Hello, {}!", req.uri().path());
//!     Ok(Response::new(Full::new(Bytes::from(text))))
//! }
//!
//! aloop::run(async {
//!     let server = aloop::start_server(
//!         |r, w| aloop_hyper::serve_connection(r, w, service_fn(hello)),
//!         "127.0.0.1",
//!         0,
//!     )
//!     .await
//!     .unwrap();
//!     let port = server.sockets()[0].port();
//!
//!     let mut client = aloop_hyper::connect("127.0.0.1", port).await.unwrap();
//!     for path in ["/a", "/b"] {
//!         // One connection, two requests (keep-alive).
//!         client.ready().await.unwrap();
//!         let req = Request::get(path)
//!             .header("host", "127.0.0.1")
//!             .body(Full::new(Bytes::new()))
//!             .unwrap();
//!         let resp = client.send_request(req).await.unwrap();
//!         let body = resp.into_body().collect().await.unwrap().to_bytes();
//!         assert_eq!(body, format!("Hello, {path}!"));
//!     }
//!     server.close();
//! });
//! ```
#![deny(missing_docs)]

mod client;
mod executor;
mod io;
mod server;
mod timer;

pub use client::{connect, ConnectError};
pub use executor::LoopExecutor;
pub use io::AloopIo;
pub use server::{http1_builder, serve_connection};
pub use timer::{LoopSleep, LoopTimer};
