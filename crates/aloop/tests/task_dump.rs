//! `dump_tasks` / `format_call_graph` / `format_task_table`: a known program's tasks,
//! what each waits on (a task, a Promise, a gather's and a TaskGroup's children, a
//! sleep, a Lock, a Queue, an Event, a socket read), since when, where each was
//! created, and the forest of "waits on" edges, checked exactly on virtual time (so the
//! "for 2.000 s" are exact too).

use std::future::Future;
use std::panic::Location;
use std::rc::Rc;
use std::time::Duration;

use aloop::{Awaiting, TaskSnapshot, TaskState};

/// `create_task` and `set_name`; returns the task and its creation site as the dump
/// prints it (`file:line` of the caller: `create_task` is `#[track_caller]`, and so is
/// this helper).
#[track_caller]
fn spawn<F>(name: &str, future: F) -> (aloop::Task<F::Output>, String)
where
    F: Future + 'static,
    F::Output: 'static,
{
    let here = Location::caller();
    let task = aloop::create_task(future);
    task.set_name(name);
    (task, format!("{}:{}", here.file(), here.line()))
}

fn place(t: &TaskSnapshot) -> String {
    format!("{}:{}", t.created_at.file(), t.created_at.line())
}

#[aloop::test(virtual_time)]
async fn the_call_graph_of_a_known_program() {
    let lp = aloop::get_running_loop().unwrap();
    let me = aloop::current_task().unwrap().unwrap();

    let lock = Rc::new(aloop::Lock::new());
    let held = lock.acquire().await;
    let l2 = lock.clone();
    let (locker, locker_at) = spawn("locker", async move { drop(l2.acquire().await) });

    // A connected socket nobody writes to (connected beforehand: no I/O wait here).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (_peer, _) = listener.accept().unwrap();
    let (reader, writer) = aloop::open_connection_from(client).unwrap();
    let (reading, reading_at) = spawn("reading", async move { reader.readline().await });

    let promise = lp.create_future::<u32>();
    let p2 = promise.clone();
    let (inner, inner_at) = spawn("inner", async move { p2.await.unwrap() });
    let inner_any = inner.as_any();
    let inner_id = inner_any.id();
    let (outer, outer_at) = spawn("outer", async move { inner.await.unwrap() + 1 });

    let (gatherer, gatherer_at) = spawn("gatherer", async {
        let naps = [60, 90].map(|s| aloop::sleep(Duration::from_secs(s)));
        aloop::gather(naps).await
    });
    let (grouped, grouped_at) = spawn("group-owner", async {
        aloop::task_group(|tg| async move {
            tg.create_task(aloop::sleep(Duration::from_secs(30)));
        })
        .await
    });

    let queue = Rc::new(aloop::Queue::<u8>::new(0));
    let q2 = queue.clone();
    let (getter, getter_at) = spawn("getter", async move { q2.get().await });
    let event = Rc::new(aloop::Event::new());
    let e2 = event.clone();
    let (waiter, waiter_at) = spawn("event-waiter", async move { e2.wait().await });
    let (sleeper, sleeper_at) = spawn("sleeper", aloop::sleep(Duration::from_secs(3600)));
    for _ in 0..5 {
        aloop::sleep(Duration::ZERO).await; // every task takes its first steps
    }
    // Queued, not started yet when the dump is taken.
    let fresh = aloop::create_task(async {});
    lp.advance(Duration::from_secs(2)).unwrap();

    let tasks = lp.dump_tasks();
    let find = |name: &str| tasks.iter().find(|t| t.name == name).unwrap().clone();
    let by_id = |id: u64| tasks.iter().find(|t| t.id == id).unwrap().clone();
    let main = by_id(me.id());
    assert_eq!(main.state, TaskState::Running);
    assert_eq!(by_id(fresh.as_any().id()).state, TaskState::Ready);
    assert_eq!(find("locker").state, TaskState::Waiting);
    assert_eq!(find("locker").awaiting, Some(Awaiting::Other("Lock")));
    assert_eq!(
        find("reading").awaiting,
        Some(Awaiting::Other("socket read"))
    );
    assert_eq!(find("inner").awaiting, Some(Awaiting::Other("Promise")));
    let inner_edge = Awaiting::Task {
        id: inner_id,
        name: "inner".into(),
    };
    assert_eq!(find("outer").awaiting, Some(inner_edge));
    assert_eq!(find("getter").awaiting, Some(Awaiting::Other("Queue.get")));
    assert_eq!(
        find("event-waiter").awaiting,
        Some(Awaiting::Other("Event"))
    );
    let slept_from = find("sleeper").since.unwrap();
    assert_eq!(lp.time() - slept_from, Duration::from_secs(2));
    let until = slept_from + Duration::from_secs(3600);
    assert_eq!(find("sleeper").awaiting, Some(Awaiting::Sleep { until }));
    assert_eq!(place(&find("locker")), locker_at);
    assert!(main.created_at.file().ends_with("task_dump.rs"), "{main:?}");
    let Some(Awaiting::Tasks {
        what: "gather",
        ids,
    }) = find("gatherer").awaiting
    else {
        panic!("{:?}", find("gatherer"));
    };
    let [g1, g2] = ids[..] else { panic!("{ids:?}") };
    let Some(Awaiting::Tasks {
        what: "TaskGroup",
        ids: group,
    }) = find("group-owner").awaiting
    else {
        panic!("{:?}", find("group-owner"));
    };
    let [child] = group[..] else {
        panic!("{group:?}")
    };
    // The gather's children were created where `gather` was called.
    assert_eq!(place(&by_id(g1)), place(&by_id(g2)));
    assert!(place(&by_id(g1)).starts_with(file!()));

    let id = |name: &str| find(name).id;
    let expected = [
        format!("* Task-{}: running (created at {})", me.id(), place(&main)),
        format!(
            "* Task-{} 'locker': waits on Lock for 2.000 s (created at {locker_at})",
            id("locker")
        ),
        format!(
            "* Task-{} 'reading': waits on socket read for 2.000 s (created at {reading_at})",
            id("reading")
        ),
        format!(
            "* Task-{} 'outer': waits on Task-{inner_id} 'inner' for 2.000 s (created at {outer_at})",
            id("outer")
        ),
        format!(
            "  * Task-{inner_id} 'inner': waits on Promise for 2.000 s (created at {inner_at})"
        ),
        format!(
            "* Task-{} 'gatherer': waits on gather of 2 tasks: Task-{g1}, Task-{g2} for 2.000 s (created at {gatherer_at})",
            id("gatherer")
        ),
        format!(
            "  * Task-{g1}: waits on sleep (ends in 58.000 s) for 2.000 s (created at {})",
            place(&by_id(g1))
        ),
        format!(
            "  * Task-{g2}: waits on sleep (ends in 88.000 s) for 2.000 s (created at {})",
            place(&by_id(g2))
        ),
        format!(
            "* Task-{} 'group-owner': waits on TaskGroup of 1 task: Task-{child} for 2.000 s (created at {grouped_at})",
            id("group-owner")
        ),
        format!(
            "  * Task-{child}: waits on sleep (ends in 28.000 s) for 2.000 s (created at {})",
            place(&by_id(child))
        ),
        format!(
            "* Task-{} 'getter': waits on Queue.get for 2.000 s (created at {getter_at})",
            id("getter")
        ),
        format!(
            "* Task-{} 'event-waiter': waits on Event for 2.000 s (created at {waiter_at})",
            id("event-waiter")
        ),
        format!(
            "* Task-{} 'sleeper': waits on sleep (ends in 3598.000 s) for 2.000 s (created at {sleeper_at})",
            id("sleeper")
        ),
        format!(
            "* Task-{}: ready (created at {})",
            fresh.as_any().id(),
            place(&by_id(fresh.as_any().id()))
        ),
    ];
    let graph = lp.format_call_graph();
    let got: Vec<&str> = graph.lines().collect();
    assert_eq!(got, expected, "\n{graph}");

    // One task's part: what it waits on, then who waits on it, up to the root.
    let of_inner = lp.format_call_graph_of(&inner_any).unwrap();
    let expected_of_inner = [
        format!("* Task-{inner_id} 'inner': waits on Promise for 2.000 s (created at {inner_at})"),
        "  awaited by:".to_owned(),
        format!(
            "  * Task-{} 'outer': waits on Task-{inner_id} 'inner' for 2.000 s (created at {outer_at})",
            id("outer")
        ),
    ];
    assert_eq!(of_inner.lines().collect::<Vec<_>>(), expected_of_inner);
    let of_child = lp.snapshot().format_call_graph_of(g2).unwrap();
    assert_eq!(of_child.lines().nth(1), Some("  awaited by:"), "{of_child}");
    assert!(of_child
        .lines()
        .nth(2)
        .unwrap()
        .starts_with(&format!("  * Task-{} 'gatherer': ", id("gatherer"))));

    let table = lp.format_task_table();
    let header = table.lines().next().unwrap();
    assert!(header.trim_start().starts_with("id  name"), "{table}");
    let locker_row = table.lines().find(|l| l.contains("locker")).unwrap();
    let cells: Vec<&str> = locker_row
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    let locker_id = id("locker").to_string();
    let row = [
        &*locker_id,
        "locker",
        "waiting",
        "Lock",
        "2.000 s ago",
        &*locker_at,
    ];
    assert_eq!(cells, row, "{table}");
    println!("{graph}\n{table}");

    drop(held);
    promise.set_result(41).unwrap();
    assert_eq!(outer.await.unwrap(), 42);
    locker.await.unwrap();
    queue.put_nowait(1).unwrap();
    assert_eq!(getter.await.unwrap().unwrap(), 1);
    event.set();
    waiter.await.unwrap();
    writer.close();
    let _ = reading.await;
    for t in [gatherer.as_any(), grouped.as_any(), sleeper.as_any()] {
        t.cancel();
    }
    fresh.await.unwrap();
}

/// A task woken while its wait goes on keeps its "since"; one whose wait ended and
/// which then waits on a future aloop cannot name does not show its last wait.
#[aloop::test(virtual_time)]
async fn a_wait_is_shown_while_it_lasts_and_no_longer() {
    let lp = aloop::get_running_loop().unwrap();
    let (gatherer, _) = spawn("gatherer", async {
        let naps = [1, 5].map(|s| aloop::sleep(Duration::from_secs(s)));
        aloop::gather(naps).await
    });
    let lock = Rc::new(aloop::Lock::new());
    let held = lock.acquire().await;
    let l2 = lock.clone();
    let (task, _) = spawn("t", async move {
        drop(l2.acquire().await);
        // A future aloop does not name: pending forever, woken by nobody.
        std::future::pending::<()>().await;
    });
    for _ in 0..3 {
        aloop::sleep(Duration::ZERO).await;
    }
    let find = |name: &str| {
        let tasks = lp.dump_tasks();
        tasks.into_iter().find(|t| t.name == name).unwrap()
    };
    let started = find("gatherer").since.unwrap();
    assert_eq!(find("t").awaiting, Some(Awaiting::Other("Lock")));

    // The 1 s child ends: the gather wakes its task, which waits on.
    lp.advance(Duration::from_secs(2)).unwrap();
    for _ in 0..3 {
        aloop::sleep(Duration::ZERO).await;
    }
    let g = find("gatherer");
    let Some(Awaiting::Tasks {
        what: "gather",
        ids,
    }) = g.awaiting
    else {
        panic!("{g:?}");
    };
    assert_eq!(ids.len(), 1);
    assert_eq!(g.since, Some(started), "the wait goes on: same start");

    drop(held);
    for _ in 0..3 {
        aloop::sleep(Duration::ZERO).await;
    }
    let t = find("t");
    assert_eq!(
        (t.state, t.awaiting, t.since),
        (TaskState::Waiting, None, None)
    );
    let graph = lp.format_call_graph();
    assert!(
        graph.contains("'t': waits on a future aloop does not name"),
        "{graph}"
    );
    task.cancel();
    gatherer.cancel();
}
