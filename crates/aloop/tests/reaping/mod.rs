//! The reaping scenario shared by `subprocess_reaping.rs` (pidfds) and
//! `subprocess_sigchld.rs` (the SIGCHLD path other kernels take): many children, in
//! sequence, at once, and dropped while running, leave no zombie and no descriptor.

use std::time::{Duration, Instant};

use aloop::subprocess::Stdio;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Our children that are zombies (exited, not reaped), from `/proc/*/stat`.
fn zombie_children() -> Vec<u32> {
    let me = std::process::id();
    let mut zombies = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let mut fields = after.split_whitespace();
        let (state, ppid) = (fields.next(), fields.next().and_then(|p| p.parse().ok()));
        if state == Some("Z") && ppid == Some(me) {
            zombies.push(pid);
        }
    }
    zombies
}

/// Waits (generously: the machine may be loaded) until `done` holds.
fn eventually(what: &str, mut done: impl FnMut() -> Result<(), String>) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match done() {
            Ok(()) => return,
            Err(e) if Instant::now() > deadline => panic!("{what}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

pub fn many_children_leave_no_zombie_and_no_descriptor() {
    if !std::path::Path::new("/proc/self/fd").exists() {
        return println!("skipped: no /proc to count descriptors and zombies in");
    }
    // Warm up what lives as long as the process (the reaper's reactor and thread,
    // the signal wake-up pipe), so the baseline includes it.
    aloop::run(async {
        // Still running when dropped, so the reaper starts now.
        let child = aloop::create_subprocess_exec("sleep", ["0.05"])
            .await
            .unwrap();
        drop(child);
        let waited = aloop::create_subprocess_exec("true", [] as [&str; 0])
            .await
            .unwrap();
        waited.wait().await.unwrap();
    });
    eventually("warm-up child reaped", || match zombie_children() {
        z if z.is_empty() => Ok(()),
        z => Err(format!("zombies {z:?}")),
    });
    let baseline = open_fds();

    aloop::run(async {
        // 1,000 in sequence, with pipes.
        for i in 0..1000 {
            let mut child = aloop::create_subprocess_exec("true", [] as [&str; 0])
                .stdin(Stdio::Pipe)
                .stdout(Stdio::Pipe)
                .await
                .unwrap();
            if i % 2 == 0 {
                child.communicate(None).await.unwrap();
            } else {
                assert_eq!(child.wait().await.unwrap(), 0);
            }
        }
        // 100 at once.
        let children: Vec<_> = (0..100)
            .map(|_| {
                let child = aloop::create_subprocess_shell("sleep 0.05; exit 5")
                    .stdout(Stdio::Pipe)
                    .spawn()
                    .unwrap();
                aloop::create_task(async move { child.wait().await.unwrap() })
            })
            .collect();
        for task in children {
            assert_eq!(task.await.unwrap(), 5);
        }
        // 50 dropped while they run, 50 killed and dropped unwaited.
        for _ in 0..50 {
            drop(aloop::create_subprocess_shell("sleep 0.1").await.unwrap());
            let child = aloop::create_subprocess_exec("sleep", ["30"])
                .await
                .unwrap();
            child.kill().unwrap();
            drop(child);
        }
    });

    eventually("every child reaped", || match zombie_children() {
        z if z.is_empty() => Ok(()),
        z => Err(format!("{} zombies: {z:?}", z.len())),
    });
    eventually("descriptors back at the baseline", || match open_fds() {
        n if n <= baseline => Ok(()),
        n => Err(format!("{n} open, baseline {baseline}")),
    });
}
