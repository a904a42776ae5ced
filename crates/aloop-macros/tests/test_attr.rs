//! `#[aloop::test]`: the test keeps its name, attributes and return type, a panic
//! fails it with its own message, and the `virtual_time`, `debug` and `crate` options
//! set the loop up. `main_attr.rs` beside it covers `#[aloop::main]`.

use std::num::ParseIntError;
use std::time::{Duration, Instant};

#[aloop::test]
async fn a_test_runs_on_a_running_loop_with_real_time() {
    let lp = aloop::get_running_loop().unwrap();
    assert!(lp.is_running());
    assert!(!lp.is_virtual_time() && !lp.get_debug());
    let t = aloop::create_task(async { 21 });
    assert_eq!(t.await.unwrap() * 2, 42);
}

#[aloop::test]
async fn a_test_may_return_a_result_and_use_question_mark() -> Result<(), ParseIntError> {
    let n: u32 = "42".parse()?;
    assert_eq!(n, 42);
    Ok(())
}

/// A doc comment, kept on the test.
#[aloop::test]
#[should_panic(expected = "the test's own message")]
async fn should_panic_matches_the_panic_message() {
    aloop::sleep(Duration::from_millis(1)).await;
    panic!("the test's own message, from inside the loop");
}

// If `#[ignore]` were lost, this test would run and fail.
#[aloop::test]
#[ignore = "shows that #[ignore] is kept: it fails if run"]
async fn ignore_is_kept() {
    panic!("an #[ignore]d test ran");
}

#[aloop::test(virtual_time)]
async fn an_hour_of_sleep_passes_at_once_on_virtual_time() {
    let lp = aloop::get_running_loop().unwrap();
    assert!(lp.is_virtual_time());
    let (t0, wall) = (lp.time(), Instant::now());
    aloop::sleep(Duration::from_secs(3600)).await;
    let waited = lp.time() - t0;
    assert!(waited >= Duration::from_secs(3600), "{waited:?}");
    // Loose: real time would be an hour.
    assert!(
        wall.elapsed() < Duration::from_secs(60),
        "{:?}",
        wall.elapsed()
    );
}

#[aloop::test(virtual_time = true, debug)]
async fn options_combine() {
    let lp = aloop::get_running_loop().unwrap();
    assert!(lp.is_virtual_time() && lp.get_debug());
}

#[aloop::test(virtual_time = false, debug = false)]
async fn options_set_false_keep_the_defaults() {
    let lp = aloop::get_running_loop().unwrap();
    assert!(!lp.is_virtual_time() && !lp.get_debug());
}

mod renamed {
    pub use ::aloop as runtime;
}

#[aloop::test(crate = "crate::renamed::runtime")]
async fn crate_option_takes_a_re_export() {
    assert!(aloop::get_running_loop().is_ok());
}

// The test's name is its own: the harness lists it under it.
#[aloop::test]
async fn the_name_is_kept() {}

#[test]
fn named_as_written() {
    // Calling the expanded function by its name: it exists as a sync fn.
    the_name_is_kept();
}

// The guide's example (docs/guide/src/01-event-loop.md), run here: the guide's doctest
// only compiles it.
#[aloop::test(virtual_time)]
async fn wait_for_times_out() {
    let lp = aloop::get_running_loop().unwrap();
    let start = lp.time();
    let slow = aloop::sleep(Duration::from_secs(7200));
    let result = aloop::wait_for(slow, Duration::from_secs(3600)).await;
    assert!(result.is_err(), "timed out");
    assert!(lp.time() - start >= Duration::from_secs(3600));
}
