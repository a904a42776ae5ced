//! Where `aloop::compat` stops (issue 19): what `docs/ecosystem.md` says does not run, or
//! runs somewhere else than one might think, shown rather than claimed.
//!
//! `Compat` enters async-compat's background tokio runtime (a `current_thread` runtime
//! driven by a thread of its own) while it polls the wrapped future on the aloop thread.
//! So: tokio resources must be created inside the wrapped future; what the library
//! `tokio::spawn`s runs on the background thread, not on the loop; `block_in_place`
//! panics there; `spawn_local` has no `LocalSet` anywhere.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::thread;
use std::time::Duration;

use aloop::compat::Compat;

/// The text of a caught panic.
fn message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// A tokio timer made inside the wrapped future works; one made before `Compat` is
/// around it (`Compat::new(tokio::time::sleep(d))`: the argument is built first) has no
/// runtime to register with and panics. Hence `Compat::new(async { .. })`.
#[test]
fn tokio_resources_are_made_inside_the_wrapped_future() {
    aloop::run(async {
        let outside =
            catch_unwind(|| drop(Compat::new(tokio::time::sleep(Duration::from_millis(1)))));
        let err = outside.expect_err("a tokio timer made outside Compat must panic");
        assert!(
            message(&*err).contains("Tokio"),
            "unexpected panic: {:?}",
            message(&*err)
        );

        let before = std::time::Instant::now();
        Compat::new(async { tokio::time::sleep(Duration::from_millis(20)).await }).await;
        assert!(before.elapsed() >= Duration::from_millis(20));
    });
}

/// `tokio::spawn` from a wrapped future puts the task on the background runtime's
/// thread: it is not on the loop (no running aloop loop there), and it must be `Send`.
/// The way back to the loop is a `LoopHandle`, as from any other thread.
#[test]
fn tokio_spawn_runs_on_the_background_thread_and_reaches_the_loop_by_its_handle() {
    aloop::run(async {
        let loop_thread = thread::current().id();
        let handle = aloop::get_running_loop().unwrap().handle();
        let (thread_there, loop_there, from_loop) = Compat::new(async move {
            tokio::spawn(async move {
                let from_loop = handle
                    .spawn(async {
                        // On the loop again: aloop's own timers work here.
                        aloop::sleep(Duration::from_millis(1)).await;
                        thread::current().id()
                    })
                    .expect("the loop is running")
                    .await
                    .expect("the loop-side task");
                (
                    thread::current().id(),
                    aloop::get_running_loop().is_ok(),
                    from_loop,
                )
            })
            .await
            .expect("the tokio task")
        })
        .await;
        assert_ne!(
            thread_there, loop_thread,
            "tokio::spawn ran on the loop's thread"
        );
        assert!(!loop_there, "an aloop loop is running on tokio's thread");
        assert_eq!(
            from_loop, loop_thread,
            "LoopHandle::spawn did not run on the loop"
        );
    });
}

/// `block_in_place` in a task the library `tokio::spawn`s panics: the background
/// runtime is `current_thread` (async-compat's default; its `multi-thread` feature
/// changes that). Called in the wrapped future itself, it is not refused: it runs the
/// closure right there, on the loop's thread, which blocks the loop meanwhile.
#[test]
fn block_in_place_panics_in_spawned_tasks_and_blocks_the_loop_inline() {
    aloop::run(async {
        let loop_thread = thread::current().id();
        let spawned =
            Compat::new(async { tokio::spawn(async { tokio::task::block_in_place(|| 1) }).await })
                .await;
        let err = spawned.expect_err("block_in_place on a current_thread runtime must panic");
        assert!(err.is_panic());
        let text = message(&*err.into_panic());
        assert!(
            text.contains("multi-threaded runtime"),
            "unexpected panic: {text:?}"
        );

        let inline =
            Compat::new(async { tokio::task::block_in_place(|| thread::current().id()) }).await;
        assert_eq!(inline, loop_thread);
    });
}

/// `tokio::task::spawn_local` needs a `LocalSet` (or a local runtime), which neither the
/// aloop thread nor the background runtime has: use `aloop::create_task` for `!Send`
/// work, which is what it is for.
#[test]
fn spawn_local_has_no_local_set() {
    aloop::run(async {
        let refused = Compat::new(async {
            catch_unwind(AssertUnwindSafe(|| {
                drop(tokio::task::spawn_local(async {}));
            }))
        })
        .await;
        let err = refused.expect_err("spawn_local outside a LocalSet must panic");
        assert!(
            message(&*err).contains("LocalSet"),
            "unexpected panic: {:?}",
            message(&*err)
        );
        // The aloop way: a !Send task on the loop.
        let rc = std::rc::Rc::new(5);
        let task = aloop::create_task(async move { *rc + 1 });
        assert_eq!(task.await.unwrap(), 6);
    });
}
