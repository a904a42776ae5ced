//! `aloop::compat::TokioRuntime`: a tokio runtime the program owns, which `Compat`
//! uses while it is entered on the loop's thread, and which shuts down (tokio's tasks
//! dropped, its threads joined) when dropped. One test: it counts this process's
//! threads.

use std::time::Duration;

use aloop::compat::{Compat, TokioRuntime};

fn tokio_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|t| {
                    std::fs::read_to_string(t.path().join("comm"))
                        // The kernel keeps 15 bytes of a thread name.
                        .is_ok_and(|name| name.trim() == "aloop-compat-to")
                })
                .count()
        })
        .unwrap_or(0)
}

struct DropFlag(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn compat_uses_the_entered_runtime_and_dropping_it_joins_its_threads() {
    if !std::path::Path::new("/proc/self/task").exists() {
        return println!("skipped: no /proc/self/task to count threads in");
    }
    assert_eq!(tokio_threads(), 0);
    let tokio_side = TokioRuntime::new(2).unwrap();
    let dropped = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = DropFlag(dropped.clone());
    let guard = tokio_side.enter();
    let on_which = aloop::run(async move {
        // A tokio task that would run forever, spawned from a Compat future onto the
        // entered runtime: shutting down must drop it.
        let name = Compat::new(async move {
            tokio::spawn(async move {
                let _flag = flag;
                std::future::pending::<()>().await;
            });
            tokio::time::sleep(Duration::from_millis(5)).await;
            tokio::spawn(async { std::thread::current().name().map(str::to_owned) })
                .await
                .unwrap()
        })
        .await;
        name
    });
    assert_eq!(
        on_which.as_deref(),
        Some("aloop-compat-tokio"),
        "the entered runtime ran it"
    );
    assert!(tokio_threads() >= 1, "its workers are alive");
    drop(guard);
    drop(tokio_side);
    assert!(
        dropped.load(std::sync::atomic::Ordering::SeqCst),
        "its pending task was dropped"
    );
    assert_eq!(tokio_threads(), 0, "its threads were joined");
}
