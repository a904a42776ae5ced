//! End to end: an aloop program run with `ALOOP_INTROSPECT=1` (this test binary,
//! re-run as a child: `child_program` below) answers `aloop-ps PID` and
//! `aloop-ps tree PID` while it runs — its main loop busy, a second loop on another
//! thread, a third stuck in a long callback — and removes its socket when it exits.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Output, Stdio};
use std::rc::Rc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const TOOL: &str = env!("CARGO_BIN_EXE_aloop-ps");

/// Every child process is bounded by this.
const BOUND: Duration = Duration::from_secs(30);

/// Waits for `child` at most `BOUND`, killing it after that.
fn wait_bounded(mut child: Child) -> Output {
    let start = Instant::now();
    loop {
        match child.try_wait().unwrap() {
            Some(_) => return child.wait_with_output().unwrap(),
            None if start.elapsed() > BOUND => {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!("timed out after {BOUND:?}: {out:?}");
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn tool(args: &[&str]) -> Output {
    let child = Command::new(TOOL)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_bounded(child)
}

/// The text of `out`'s stdout, with every "1.234 s" made "N s" (times move).
fn masked(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(" s") {
        let head = &rest[..i];
        let number_start = head
            .rfind(|c: char| !(c.is_ascii_digit() || c == '.'))
            .map_or(0, |j| j + 1);
        if number_start < head.len() && head[number_start..].contains('.') {
            out.push_str(&head[..number_start]);
            out.push('N');
        } else {
            out.push_str(head);
        }
        out.push_str(" s");
        rest = &rest[i + 2..];
    }
    out.push_str(rest);
    out
}

#[test]
fn aloop_ps_shows_a_running_program_and_the_socket_goes_with_it() {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["child_program", "--exact", "--ignored", "--nocapture"])
        .env("ALOOP_PS_CHILD", "1")
        .env("ALOOP_INTROSPECT", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let _kill_on_panic = KillOnDrop(child.id());

    // The child prints its own call graph, then "ready".
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let _ = tx.send(line.unwrap());
        }
    });
    let (mut own_graph, mut own_table) = (Vec::new(), Vec::new());
    let mut section = "";
    loop {
        let line = rx.recv_timeout(BOUND).expect("the child did not get ready");
        match line.as_str() {
            "graph:" => section = "graph",
            "table:" => section = "table",
            "ready" => break,
            _ if section == "graph" => own_graph.push(line),
            _ if section == "table" => own_table.push(line),
            _ => {}
        }
    }

    let tree = tool(&["tree", &pid]);
    assert!(tree.status.success(), "{tree:?}");
    let tree = String::from_utf8(tree.stdout).unwrap();
    println!("{tree}");
    assert!(
        tree.starts_with(&format!("aloop process {pid}: 3 loops\n")),
        "{tree}"
    );
    // The same lines as the program's own `format_call_graph` (but the main task's,
    // which was running when the program printed its graph).
    for line in own_graph.iter().filter(|l| l.contains('\'')) {
        assert!(
            masked(&tree).contains(&masked(line)),
            "{line:?} not in\n{tree}"
        );
    }
    assert!(tree.contains("'lock-waiter': waits on Lock for "), "{tree}");
    assert!(
        tree.contains("  * Task-"),
        "a gather's children are indented: {tree}"
    );
    assert!(
        tree.contains("'busy': ready"),
        "the busy task is queued: {tree}"
    );
    assert!(tree.contains(" (thread second-loop): 2 tasks\n"), "{tree}");
    assert!(tree.contains("'other': waits on sleep (ends in"), "{tree}");
    assert!(
        tree.contains(" (thread stuck-loop): no answer within 2 s"),
        "the stuck loop: {tree}"
    );

    let table = tool(&[&pid]);
    assert!(table.status.success(), "{table:?}");
    let table = String::from_utf8(table.stdout).unwrap();
    println!("{table}");
    let row = table.lines().find(|l| l.contains("lock-waiter")).unwrap();
    assert_eq!(cells(row)[2..4], ["waiting", "Lock"], "{row}");
    assert!(cells(row)[5].starts_with(file!()), "{row}");
    // The program's own rows, cell for cell (but the main task's, running then).
    let main_loop = &table[table.find(" (thread child_program): ").unwrap()..];
    for own in own_table
        .iter()
        .skip(1)
        .filter(|l| !l.contains(" running "))
    {
        let own = cells(&masked(own));
        let id = &own[0];
        let theirs = main_loop
            .lines()
            .find(|l| cells(l).first() == Some(id))
            .unwrap();
        assert_eq!(cells(&masked(theirs)), own, "\n{table}");
    }
    assert!(
        table.contains("thread job"),
        "the main task waits on stdin: {table}"
    );

    // Closing stdin ends the child; its socket goes with it.
    let socket = aloop::introspect::socket_path(child.id());
    assert!(socket.exists());
    drop(child.stdin.take());
    let out = wait_bounded(child);
    assert!(out.status.success(), "{out:?}");
    assert!(!socket.exists(), "{} is left", socket.display());
    let gone = tool(&[&pid]);
    assert!(!gone.status.success());
}

#[test]
fn aloop_ps_explains_a_process_that_does_not_serve() {
    let out = tool(&["tree", "999999999"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("process 999999999 does not answer"), "{err}");
    assert!(err.contains("ALOOP_INTROSPECT=1"), "{err}");

    let out = tool(&["nonsense", "1", "2"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8(out.stderr).unwrap().contains("usage:"));
    let out = tool(&["not-a-pid"]);
    assert_eq!(out.status.code(), Some(2));
}

/// A table row's cells (columns are two or more spaces apart).
fn cells(row: &str) -> Vec<String> {
    row.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(String::from)
        .collect()
}

struct KillOnDrop(u32);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let _ = Command::new("kill").arg(self.0.to_string()).status();
        }
    }
}

/// The program the test above asks: run only as its child.
#[test]
#[ignore = "the child program of aloop_ps_shows_a_running_program_and_the_socket_goes_with_it"]
fn child_program() {
    if std::env::var_os("ALOOP_PS_CHILD").is_none() {
        return;
    }
    // A second loop, on a thread of its own, with one task sleeping.
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("second-loop".into())
        .spawn(move || {
            aloop::run(async move {
                let t = aloop::create_task(aloop::sleep(Duration::from_secs(600)));
                t.set_name("other");
                tx.send(()).unwrap();
                let _ = t.await;
            })
        })
        .unwrap();
    rx.recv().unwrap();
    // A third loop, stuck in one callback (a blocking call where none belongs).
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("stuck-loop".into())
        .spawn(move || {
            let lp = aloop::new_event_loop();
            lp.call_soon(move || {
                tx.send(()).unwrap();
                std::thread::sleep(Duration::from_secs(600));
            })
            .unwrap();
            lp.run_forever().unwrap();
        })
        .unwrap();
    rx.recv().unwrap();

    aloop::run(async {
        let lp = aloop::get_running_loop().unwrap();
        let lock = Rc::new(aloop::Lock::new());
        let _held = lock.acquire().await;
        let l2 = lock.clone();
        let waiter = aloop::create_task(async move { drop(l2.acquire().await) });
        waiter.set_name("lock-waiter");
        let gatherer = aloop::create_task(async {
            let naps = [60, 90].map(|s| aloop::sleep(Duration::from_secs(s)));
            aloop::gather(naps).await
        });
        gatherer.set_name("gatherer");
        // Keeps the loop busy: the server must still be answered.
        let busy = aloop::create_task(async {
            loop {
                aloop::sleep(Duration::ZERO).await;
            }
        });
        busy.set_name("busy");
        for _ in 0..3 {
            aloop::sleep(Duration::ZERO).await;
        }
        let mut out = std::io::stdout().lock();
        let (graph, table) = (lp.format_call_graph(), lp.format_task_table());
        writeln!(out, "graph:\n{graph}table:\n{table}ready").unwrap();
        out.flush().unwrap();
        drop(out);
        // Until the test closes our stdin (bounded: an orphan ends by itself).
        let stdin_closed = aloop::to_thread(|| {
            let mut rest = Vec::new();
            let _ = std::io::stdin().read_to_end(&mut rest);
        });
        let _ = aloop::wait_for(stdin_closed, BOUND).await;
    });
    // The stuck loop's thread would hold the process up.
    std::process::exit(0);
}
