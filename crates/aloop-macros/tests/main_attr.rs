//! `#[aloop::main]` on functions other than a program's `main` (a test binary has its
//! own): the return type and `?`, panics, leftover tasks, and the `debug` and `crate`
//! options. `program.rs` beside it is a real `main`; `test_attr.rs` covers
//! `#[aloop::test]`; `ui.rs` the compile errors.

use std::cell::Cell;
use std::num::ParseIntError;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[aloop::main]
async fn doubled() -> u32 {
    let t = aloop::create_task(async { 21 });
    t.await.unwrap() * 2
}

#[test]
fn the_body_runs_on_a_loop_and_its_value_is_returned() {
    assert_eq!(doubled(), 42);
}

#[aloop::main]
async fn parses() -> Result<u32, Box<dyn std::error::Error>> {
    // `?` converts into the declared error type (here through `From` into a box).
    let n: u32 = "42".parse()?;
    aloop::sleep(Duration::from_millis(1)).await;
    Ok(n)
}

#[aloop::main]
async fn fails_to_parse() -> Result<u32, ParseIntError> {
    let n: u32 = "forty-two".parse()?;
    unreachable!("`?` returned early, got {n}");
}

#[test]
fn question_mark_returns_from_the_body() {
    assert_eq!(parses().unwrap(), 42);
    let err = fails_to_parse().unwrap_err();
    assert_eq!(err.to_string(), "invalid digit found in string");
}

#[aloop::main]
async fn panics() {
    aloop::sleep(Duration::from_millis(1)).await;
    panic!("the body panicked with its own message");
}

#[test]
fn a_panic_in_the_body_is_resumed_with_its_message() {
    let payload = std::panic::catch_unwind(panics).unwrap_err();
    let message = payload
        .downcast_ref::<&str>()
        .expect("the original &str payload, not a wrapper");
    assert_eq!(*message, "the body panicked with its own message");
}

static LEFTOVER_DROPPED: AtomicBool = AtomicBool::new(false);

struct SetOnDrop(&'static AtomicBool);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[aloop::main]
async fn leaves_a_task_behind() {
    let guard = SetOnDrop(&LEFTOVER_DROPPED);
    let _forgotten = aloop::create_task(async move {
        let _guard = guard;
        aloop::sleep(Duration::from_secs(3600)).await;
    });
    aloop::sleep(Duration::from_millis(1)).await; // the task starts and waits
}

#[test]
fn tasks_left_behind_are_cancelled_and_dropped_when_it_returns() {
    leaves_a_task_behind();
    assert!(LEFTOVER_DROPPED.load(Ordering::SeqCst));
}

#[aloop::main(debug)]
async fn debug_mode() -> (bool, bool) {
    let lp = aloop::get_running_loop().unwrap();
    (lp.get_debug(), lp.is_virtual_time())
}

#[aloop::main(debug = false)]
async fn debug_mode_off() -> bool {
    aloop::get_running_loop().unwrap().get_debug()
}

#[test]
fn debug_option_sets_the_loop_in_debug_mode() {
    assert_eq!(debug_mode(), (true, false));
    assert!(!debug_mode_off());
}

/// Stands where the facade would be, to show the expansion goes through the path that
/// `crate = "..."` names: it notes the call, then hands over to aloop.
mod shim {
    use std::cell::Cell;

    thread_local! {
        pub static BUILDERS_MADE: Cell<u32> = const { Cell::new(0) };
    }

    pub struct Runner;

    impl Runner {
        pub fn builder() -> aloop::RunnerBuilder {
            BUILDERS_MADE.with(|n| n.set(n.get() + 1));
            aloop::Runner::builder()
        }
    }
}

#[aloop::main(crate = "shim")]
async fn through_the_shim() -> &'static str {
    "ran"
}

#[test]
fn crate_option_names_the_path_the_expansion_uses() {
    let before = shim::BUILDERS_MADE.with(Cell::get);
    assert_eq!(through_the_shim(), "ran");
    assert_eq!(shim::BUILDERS_MADE.with(Cell::get), before + 1);
}

#[test]
fn calling_it_from_inside_a_running_loop_panics_as_aloop_run_does() {
    let inner = aloop::run(async { std::panic::catch_unwind(doubled) });
    let payload = inner.unwrap_err();
    let message = payload.downcast_ref::<String>().unwrap();
    assert!(message.contains("aloop::run"), "{message}");
}
