//! # aloop-macros
//!
//! `#[aloop::main]` and `#[aloop::test]`: an `async fn main` for a program and
//! `async fn` tests, each run on a new aloop event loop. Use them through the `aloop`
//! crate, which re-exports them with its default feature `macros`; the expansion
//! names `::aloop` (or the path given with `crate = "..."`).
//!
//! ```
//! #[aloop::main]
//! async fn main() {
//!     let t = aloop::create_task(async { 21 });
//!     assert_eq!(t.await.unwrap() * 2, 42);
//! }
//! ```
//!
//! Both expand to `aloop::Runner::builder().run(..)`: the loop's setup (debug mode, virtual time) is the builder's, and what
//! happens to the outcome (a panic resumed, Ctrl-C) is `aloop::run`'s. This file holds
//! the entry points and their documentation; `options.rs` parses the attribute's
//! options and `expand.rs` checks the function and writes the expansion.
#![deny(missing_docs)]

mod expand;
mod options;

use proc_macro::TokenStream;

use crate::options::Kind;

/// Runs an `async fn main` as the program's `main` on a new aloop event loop (asyncio's
/// `asyncio.run(main())` at the bottom of a script).
///
/// ```
/// use std::time::Duration;
///
/// #[aloop::main]
/// async fn main() {
///     let ticks = aloop::create_task(async {
///         aloop::sleep(Duration::from_millis(5)).await;
///         "tick"
///     });
///     assert_eq!(ticks.await.unwrap(), "tick");
/// }
/// ```
///
/// The function becomes a plain `fn` with the same name, attributes, visibility and
/// return type, whose body is run by
/// `aloop::Runner::builder().run(..)`, that is `aloop::run`:
/// a new loop runs it to completion, the tasks it left behind are cancelled and their
/// destructors run, the default executor is waited for, and the loop is closed. A
/// panic in the body is resumed from `main`, with its message. On the main thread,
/// Ctrl-C cancels the body's task and, once its cleanup has run, ends the process as
/// SIGINT's default action would (feature `process` of `aloop`).
///
/// Any return type works, so `?` does too:
///
/// ```
/// #[aloop::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let port: u16 = "8080".parse()?;
///     let lp = aloop::get_running_loop()?;
///     assert!(lp.is_running() && port == 8080);
///     Ok(())
/// }
/// ```
///
/// The function need not be called `main`: `#[aloop::main] async fn serve() -> u8`
/// is a `fn serve() -> u8` that runs a loop each time it is called (not from inside a
/// running loop: that panics, as `aloop::run` does).
///
/// # Options
///
/// - `debug` (or `debug = true`): the loop runs in debug mode
///   (`LoopRef::set_debug(true)`: slow callbacks are reported), as
///   `asyncio.run(main(), debug=True)`.
/// - `crate = "path"`: where the `aloop` crate is, for a crate that re-exports it under
///   another path (`crate = "my_runtime::aloop"`); `::aloop` otherwise.
///
/// `virtual_time` is refused here: it is for tests (see [`test`](macro@test)). A
/// program's timers should follow the real clock; with a real connection in flight, a
/// timeout on virtual time fires as soon as the loop is idle. A program that wants it
/// anyway writes `aloop::Runner::builder().virtual_time(true).run(..)`.
///
/// ```
/// #[aloop::main(debug)]
/// async fn main() {
///     assert!(aloop::get_running_loop().unwrap().get_debug());
/// }
/// ```
///
/// # Errors
///
/// Compile errors, each at the token at fault: a function without `async`, one with
/// arguments, generic, `const`, `unsafe` or `extern`; an item that is not a function;
/// an unknown, repeated or ill-formed option.
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Main, args.into(), item.into()).into()
}

/// Makes an `async fn` a `#[test]` that runs on a fresh aloop event loop, one loop
/// per test.
///
/// ```
/// # // A #[test] is compiled only under `cargo test`, so this block shows the
/// # // attribute; the expansion it stands for runs below.
/// #[aloop::test]
/// async fn answer() {
///     let t = aloop::create_task(async { 21 });
///     assert_eq!(t.await.unwrap() * 2, 42);
/// }
/// ```
///
/// The test keeps its name, its other attributes (`#[should_panic]`, `#[ignore]`,
/// doc comments, lint levels) and its return type (a test may return `Result` and use
/// `?`). Its body runs as `aloop::run` runs a future, so a panic in it fails the test
/// with the panic's own message, which `#[should_panic(expected = "..")]` can match.
/// Tasks the test left behind are cancelled before it returns.
///
/// # Options
///
/// - `virtual_time` (or `virtual_time = true`): the loop runs on virtual time
///   (`LoopRef::use_virtual_time`): the clock stands still while there is work and
///   jumps to the next timer when the loop is idle, so a test of an hour's timeout
///   takes no real hour (tokio's `start_paused`, with auto-advance).
/// - `debug` (or `debug = true`): the loop runs in debug mode.
/// - `crate = "path"`: where the `aloop` crate is; `::aloop` otherwise.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// #[aloop::test(virtual_time)]
/// async fn an_hour_passes_at_once() {
///     let lp = aloop::get_running_loop().unwrap();
///     let (t0, wall) = (lp.time(), Instant::now());
///     aloop::sleep(Duration::from_secs(3600)).await;
///     assert!(lp.time() - t0 >= Duration::from_secs(3600));
///     assert!(wall.elapsed() < Duration::from_secs(60));
/// }
///
/// // What the attribute above expands to, less the #[test]:
/// fn an_hour_passes_at_once_expanded() {
///     async fn body() {
///         let lp = aloop::get_running_loop().unwrap();
///         let (t0, wall) = (lp.time(), Instant::now());
///         aloop::sleep(Duration::from_secs(3600)).await;
///         assert!(lp.time() - t0 >= Duration::from_secs(3600));
///         assert!(wall.elapsed() < Duration::from_secs(60));
///     }
///     aloop::Runner::builder().virtual_time(true).run(body())
/// }
/// an_hour_passes_at_once_expanded();
/// ```
///
/// Write it by its path, `#[aloop::test]`. A glob import `use aloop::*;` brings this
/// attribute in under the name `test`, and a plain `#[test]` in that module is then
/// ambiguous (rustc's E0659), as with tokio's; import names one by one instead.
///
/// # Errors
///
/// Compile errors, each at the token at fault: a function without `async`, one with
/// arguments, generic, `const`, `unsafe` or `extern`; a second test attribute
/// (`#[test]` after this one); an unknown, repeated or ill-formed option.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(Kind::Test, args.into(), item.into()).into()
}
