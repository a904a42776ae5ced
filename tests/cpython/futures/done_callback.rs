//! `BaseFutureDoneCallbackTests` of CPython's test_futures.py on `aloop::Promise`.
//! asyncio removes a done callback by equality and returns how many it removed; aloop's
//! `add_done_callback` returns an id per registration, and `remove_done_callback(id)`
//! says whether that one was still there. Sibling: `future.rs`; the index is `main.rs`.

use std::cell::Cell;
use std::rc::Rc;

use aloop::{get_running_loop, Promise};
use aloop_tests::cpython::tick;
use aloop_tests::Log;

type Str = Promise<Result<&'static str, &'static str>>;

fn new_future() -> Str {
    get_running_loop().unwrap().create_future()
}

/// CPython's `_make_callback(bag, thing)`: a callback appending `thing` to `bag`.
fn appender(bag: &Log, thing: i32) -> impl FnOnce(&Str) + 'static {
    let bag = bag.clone();
    move |_| bag.push(thing.to_string())
}

/// Adds the callbacks 42, 17 and 100, removes those at `remove` (each twice: the second
/// removal finds nothing), completes the future and returns what ran.
async fn three_callbacks_removing(remove: &[usize]) -> Vec<String> {
    let bag = Log::new();
    let f = new_future();
    let ids = [42, 17, 100].map(|thing| f.add_done_callback(appender(&bag, thing)));
    for &i in remove {
        assert!(f.remove_done_callback(ids[i]));
    }
    for &i in remove {
        assert!(!f.remove_done_callback(ids[i]));
    }
    assert!(bag.is_empty());
    f.set_result(Ok("foo")).unwrap();
    tick().await;
    assert_eq!(f.result(), Ok(Ok("foo")));
    bag.events()
}

#[aloop::test]
async fn futures_base_future_done_callback_callbacks_remove_first_callback() {
    assert_eq!(three_callbacks_removing(&[0]).await, ["17", "100"]);
}

#[aloop::test]
async fn futures_base_future_done_callback_callbacks_remove_first_and_second_callback() {
    assert_eq!(three_callbacks_removing(&[0, 1]).await, ["100"]);
}

#[aloop::test]
async fn futures_base_future_done_callback_callbacks_remove_third_callback() {
    assert_eq!(three_callbacks_removing(&[2]).await, ["42", "17"]);
}

#[aloop::test]
async fn futures_base_future_done_callback_callbacks_invoked_on_set_result() {
    assert_eq!(three_callbacks_removing(&[]).await, ["42", "17", "100"]);
}

#[aloop::test]
async fn futures_base_future_done_callback_callbacks_invoked_on_set_exception() {
    let bag = Log::new();
    let f = new_future();
    f.add_done_callback(appender(&bag, 100));
    assert!(bag.is_empty());
    f.set_result(Err("RuntimeError")).unwrap();
    tick().await;
    bag.assert_eq(&["100"]);
    assert_eq!(f.result(), Ok(Err("RuntimeError")));
}

/// Deliberate difference in form: asyncio's `remove_done_callback(cb)` removes every
/// registration of an equal callback and returns the count (1, 0, then 6); aloop removes
/// one registration per id, so "all of cb1" is its six ids, each removed once.
#[aloop::test]
async fn futures_base_future_done_callback_remove_done_callback() {
    let bag = Log::new();
    let f = new_future();
    let mut cb1 = vec![f.add_done_callback(appender(&bag, 1))];
    let cb2 = f.add_done_callback(appender(&bag, 2));
    assert!(f.remove_done_callback(cb2));
    let never_added = cb2 + 1000;
    assert!(!f.remove_done_callback(never_added));
    f.add_done_callback(appender(&bag, 2));
    cb1.extend((0..5).map(|_| f.add_done_callback(appender(&bag, 1))));
    assert_eq!(
        cb1.iter().filter(|&&id| f.remove_done_callback(id)).count(),
        6
    );
    assert!(bag.is_empty());
    f.set_result(Ok("foo")).unwrap();
    tick().await;
    bag.assert_eq(&["2"]);
    assert_eq!(f.result(), Ok(Ok("foo")));
}

/// A done callback that removes the others as it runs: they were all scheduled when the
/// future completed, so the removal finds nothing and they all run.
#[aloop::test]
async fn futures_base_future_done_callback_schedule_callbacks_list_mutation_1() {
    let bag = Log::new();
    let f = new_future();
    let victim = Rc::new(Cell::new(None));
    let (b, v) = (bag.clone(), victim.clone());
    f.add_done_callback(move |f| {
        let removed = f.remove_done_callback(v.get().unwrap());
        b.push(format!("mut removed: {removed}"));
    });
    victim.set(Some(f.add_done_callback({
        let b = bag.clone();
        move |_| b.push("str")
    })));
    f.add_done_callback({
        let b = bag.clone();
        move |_| b.push("str")
    });
    f.set_result(Ok("1")).unwrap();
    tick().await;
    bag.assert_eq(&["mut removed: false", "str", "str"]);
}
