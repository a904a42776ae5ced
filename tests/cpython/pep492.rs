//! Port of CPython's `Lib/test/test_asyncio/test_pep492.py` (see `docs/conformance.md`
//! for the version, and for each method with no Rust form): the `async`/`await` syntax
//! of PEP 492 as asyncio uses it, one Rust test per method, `pep492_<class>_<method>`.
//! `async with lock` is a guard held for a block; `async for line in reader` is
//! `reader.lines()`.

use std::time::Duration;

use aloop::{sleep, BoundedSemaphore, Condition, Lock, Semaphore, StreamReader};

/// `test(lock)`: unlocked, then locked for the whole `async with` block (across an
/// await), then unlocked again. `hold` takes the primitive and returns its guard;
/// `locked` reads its state.
async fn locked_for_the_block<G>(
    hold: impl std::future::Future<Output = G>,
    locked: impl Fn() -> bool,
) {
    sleep(Duration::from_millis(10)).await;
    assert!(!locked());
    {
        let _guard = hold.await;
        assert!(locked());
        sleep(Duration::from_millis(10)).await;
        assert!(locked());
    }
    assert!(!locked());
}

/// The guard is the Rust form of the block; the `as _lock` value (None in asyncio) is the
/// guard itself.
#[aloop::test(virtual_time)]
async fn pep492_lock_context_manager_async_with() {
    let lock = Lock::new();
    locked_for_the_block(lock.acquire(), || lock.locked()).await;
    let cond = Condition::new();
    locked_for_the_block(cond.acquire(), || cond.locked()).await;
    // asyncio's default value is 1.
    let sem = Semaphore::new(1);
    locked_for_the_block(sem.acquire(), || sem.locked()).await;
    let bounded = BoundedSemaphore::new(1);
    locked_for_the_block(bounded.acquire(), || bounded.locked()).await;
    assert!(!lock.locked() && !cond.locked() && !sem.locked() && !bounded.locked());
}

#[aloop::test]
async fn pep492_stream_reader_readline() {
    let stream = StreamReader::new();
    stream.feed_data(b"line1\nline2\nline3");
    stream.feed_eof();
    let mut lines = stream.lines();
    let mut data = Vec::new();
    while let Some(line) = lines.next_line().await {
        data.push(line.unwrap());
    }
    assert_eq!(data, [&b"line1\n"[..], b"line2\n", b"line3"]);
}

/// `async def` functions awaiting each other, run by `run_until_complete` on a loop in
/// production mode and then in debug mode.
#[test]
fn pep492_coroutine_async_def_coroutines() {
    async fn bar() -> &'static str {
        "spam"
    }
    async fn foo() -> &'static str {
        bar().await
    }
    let lp = aloop::new_event_loop();
    assert_eq!(lp.run_until_complete(foo()).unwrap(), "spam");
    lp.set_debug(true);
    assert_eq!(lp.run_until_complete(foo()).unwrap(), "spam");
    lp.close().unwrap();
}
