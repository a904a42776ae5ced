//! What is my program waiting on? A dozen tasks in a tree — a `gather`, a `TaskGroup`,
//! a task waiting on a `Lock`, one reading a socket, one on a `Queue`, a chain waiting
//! on a `Promise`, one sleeping — and the loop's view of them:
//! `lp.format_call_graph()`, `lp.format_task_table()` and `lp.metrics()`.
//!
//! Run: `cargo run --example task_dump`
//!
//! With `--serve` it stays up and answers `aloop-ps` (see `docs/debugging.md`):
//!
//! ```text
//! cargo run --example task_dump -- --serve &
//! cargo run -p aloop-ps -- tree <PID>     # the same tree, from outside
//! cargo run -p aloop-ps -- <PID>          # the table
//! ```

use std::rc::Rc;
use std::time::Duration;

#[aloop::main]
async fn main() {
    let serve = std::env::args().any(|a| a == "--serve");
    let lp = aloop::get_running_loop().unwrap();

    // A task waiting on a Lock someone else holds.
    let lock = Rc::new(aloop::Lock::new());
    let held = lock.acquire().await;
    let l2 = lock.clone();
    let locker = aloop::create_task(async move {
        let _g = l2.acquire().await;
    });
    locker.set_name("waits-on-lock");

    // A task reading a socket nobody writes to.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (reader, writer) = aloop::open_connection_from(client).unwrap();
    let reading = aloop::create_task(async move { reader.readline().await });
    reading.set_name("reads-socket");

    // A consumer waiting on an empty Queue.
    let queue = Rc::new(aloop::Queue::<String>::new(0));
    let q2 = queue.clone();
    let consumer = aloop::create_task(async move { q2.get().await });
    consumer.set_name("consumer");

    // A chain: outer awaits middle, which awaits a Promise.
    let promise = lp.create_future::<u32>();
    let p2 = promise.clone();
    let middle = aloop::create_task(async move { p2.await.unwrap() });
    middle.set_name("middle");
    let outer = aloop::create_task(async move { middle.await.unwrap() });
    outer.set_name("outer");

    // A gather of three sleepers, and a TaskGroup of two.
    let gatherer = aloop::create_task(async {
        let naps = (1..=3).map(|i| aloop::sleep(Duration::from_secs(60 * i)));
        aloop::gather(naps).await
    });
    gatherer.set_name("gatherer");
    let grouped = aloop::create_task(async {
        aloop::task_group(|tg| async move {
            tg.create_task(aloop::sleep(Duration::from_secs(60)));
            tg.create_task(aloop::sleep(Duration::from_secs(120)));
        })
        .await
    });
    grouped.set_name("group-owner");

    let sleeper = aloop::create_task(aloop::sleep(Duration::from_secs(3600)));
    sleeper.set_name("sleeper");

    // Let every task take its first steps, then look.
    for _ in 0..5 {
        aloop::sleep(Duration::from_millis(2)).await;
    }
    println!("== lp.format_call_graph()");
    print!("{}", lp.format_call_graph());
    println!("== lp.format_task_table()");
    print!("{}", lp.format_task_table());
    println!("== lp.metrics()");
    println!("  {:?}", lp.metrics());

    if serve {
        let path = aloop::introspect::serve().expect("the introspection socket");
        let pid = std::process::id();
        println!(
            "== serving {} for 10 minutes (Ctrl-C ends it)",
            path.display()
        );
        println!("   cargo run -p aloop-ps -- tree {pid}");
        println!("   cargo run -p aloop-ps -- {pid}");
        aloop::sleep(Duration::from_secs(600)).await;
    }

    // Let them go, so the run ends.
    drop(held);
    promise.set_result(7).unwrap();
    queue.put_nowait("hello".into()).unwrap();
    writer.close();
    for t in [gatherer.as_any(), grouped.as_any(), sleeper.as_any()] {
        t.cancel();
    }
    assert_eq!(outer.await.unwrap(), 7);
    assert_eq!(consumer.await.unwrap().unwrap(), "hello");
    locker.await.unwrap();
    let _ = reading.await;
}
