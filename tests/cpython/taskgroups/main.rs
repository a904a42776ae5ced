//! Port of CPython's `Lib/test/test_asyncio/test_taskgroups.py` (see `docs/conformance.md`
//! for the version, and for each method that has no Rust form and why). CPython runs
//! every method of `BaseTestTaskGroup` twice: `TestTaskGroup` on a plain loop and
//! `TestEagerTaskTaskGroup` with the eager task factory; so does this port, through the
//! `both_loops!` macro: `taskgroups_task_group_<method>` and
//! `taskgroups_eager_task_task_group_<method>`. `lifecycle.rs` holds the methods up to
//! `test_taskgroup_12`, `nesting_and_growth.rs` those up to `test_taskgroup_task_context`,
//! `misuse.rs` the later ones (misuse, cancellation counters, names).
//!
//! `async with TaskGroup() as g: body` is `aloop::task_group(|g| async move { body })`.
//! An exception in a child or in the body is a panic whose message names the Python
//! exception (`panic!("ZeroDivisionError")`), and the `ExceptionGroup` is the
//! `TaskGroupError` holding those panics (`error_types` is CPython's `get_error_types`).
//! A coroutine's `except CancelledError:` is an `IfCancelled` guard and its `finally:` a
//! `Defer`: destructors, run when the future is dropped (cancelled), which can neither
//! await nor swallow the cancellation (docs/asyncio-mapping.md). Everything runs on
//! virtual time.

use std::collections::BTreeSet;
use std::time::Duration;

use std::cell::Cell;
use std::rc::Rc;

use aloop::{sleep, TaskGroupError};
use aloop_tests::Defer;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// CPython's `get_error_types(eg)`: the messages of the group's panics, as a set.
fn error_types(err: &TaskGroupError) -> BTreeSet<String> {
    err.errors()
        .iter()
        .map(|p| p.message().to_owned())
        .collect()
}

/// A set of exception names, to compare with [`error_types`].
fn types(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|n| n.to_string()).collect()
}

/// `async def crash_after(t): await asyncio.sleep(t); raise <exc>`.
async fn crash_after(delay: Duration, exc: &'static str) {
    sleep(delay).await;
    panic!("{exc}");
}

/// A closure adding `n` to `counter` (the tests' `NUM += n`).
pub(crate) fn bump(counter: &Rc<Cell<u32>>, n: u32) -> impl FnOnce() + 'static {
    let counter = counter.clone();
    move || counter.set(counter.get() + n)
}

/// A child whose `finally:` raises: it panics when it is dropped, cancelled or not.
pub(crate) async fn finally_panics(exc: &'static str) {
    let _finally = Defer(move || panic!("{exc}"));
    sleep(secs(10)).await;
}

/// One test per CPython class for the test body `$body`: `$lazy` on a plain loop
/// (`TestTaskGroup`), `$eager` with the loop's eager task factory
/// (`TestEagerTaskTaskGroup`). Attributes (`#[ignore]`) may precede either name.
macro_rules! both_loops {
    ($body:ident: $(#[$lazy_attr:meta])* $lazy:ident, $(#[$eager_attr:meta])* $eager:ident) => {
        #[aloop::test(virtual_time)]
        $(#[$lazy_attr])*
        async fn $lazy() {
            $body().await;
        }

        #[aloop::test(virtual_time)]
        $(#[$eager_attr])*
        async fn $eager() {
            aloop::get_running_loop()
                .unwrap()
                .set_eager_task_factory(true);
            $body().await;
        }
    };
}

// After the macro, so the test files see it.
mod lifecycle;
mod misuse;
mod nesting_and_growth;
