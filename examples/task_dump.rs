//! What is my program waiting on? A dozen tasks in a tree (a `gather`, a `TaskGroup`,
//! tasks waiting on a `Lock`, a socket read, a `Promise`, a sleep) and the loop's view
//! of them: `lp.dump_tasks()`, `lp.format_call_graph()` and `lp.metrics()`.
//!
//! Run: `cargo run --example task_dump`

use std::rc::Rc;
use std::time::Duration;

fn main() {
    aloop::run(async {
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
        let port = listener.local_addr().unwrap().port();
        let reader = aloop::create_task(async move {
            let (r, _w) = aloop::open_connection("127.0.0.1", port).await.unwrap();
            let _ = r.readline().await;
        });
        reader.set_name("reads-socket");

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
        println!("== lp.dump_tasks() (what each awaits)");
        for t in lp.dump_tasks() {
            println!(
                "  Task-{:<3} {:<14} {:?} {:?}",
                t.id, t.name, t.state, t.awaiting
            );
        }
        println!("== lp.metrics()");
        println!("  {:?}", lp.metrics());

        // Let them go, so the run ends.
        drop(held);
        promise.set_result(7).unwrap();
        for t in [
            &gatherer.as_any(),
            &grouped.as_any(),
            &sleeper.as_any(),
            &reader.as_any(),
        ] {
            t.cancel();
        }
        assert_eq!(outer.await.unwrap(), 7);
        locker.await.unwrap();
    });
}
