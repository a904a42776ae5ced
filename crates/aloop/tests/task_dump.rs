//! `dump_tasks` / `format_call_graph`: the tasks of a known program, what each waits on,
//! and the forest of "awaits" edges, checked exactly.

use std::time::Duration;

use aloop::{Awaiting, TaskState};

#[test]
fn the_call_graph_of_a_known_program() {
    aloop::run(async {
        let lp = aloop::get_running_loop().unwrap();
        let promise = lp.create_future::<u32>();
        let p2 = promise.clone();
        let inner = aloop::create_task(async move { p2.await.unwrap() });
        inner.set_name("inner");
        let inner_any = inner.as_any();
        let outer = aloop::create_task(async move { inner.await.unwrap() + 1 });
        outer.set_name("outer");
        let gathered = aloop::create_task(async {
            aloop::gather([aloop::sleep(Duration::from_secs(3600))]).await
        });
        gathered.set_name("gatherer");
        let sleeper = aloop::create_task(aloop::sleep(Duration::from_secs(3600)));
        sleeper.set_name("sleeper");
        aloop::sleep(Duration::ZERO).await; // every task takes its first step
        aloop::sleep(Duration::ZERO).await;

        let me = aloop::current_task().unwrap().unwrap();
        let tasks = lp.dump_tasks();
        let find = |name: &str| tasks.iter().find(|t| t.name == name).unwrap().clone();
        assert_eq!(find(&me.get_name()).state, TaskState::Running);
        assert_eq!(find("inner").awaiting, Some(Awaiting::Other("a Promise")));
        assert_eq!(
            find("outer").awaiting,
            Some(Awaiting::Task {
                id: inner_any.id(),
                name: "inner".into()
            })
        );
        assert_eq!(find("outer").state, TaskState::Pending);
        assert_eq!(
            find("gatherer").awaiting,
            Some(Awaiting::Other(
                "the tasks of a gather, wait or as_completed"
            ))
        );
        assert_eq!(
            find("sleeper").awaiting,
            None,
            "a plain future is not recorded"
        );

        let graph = lp.format_call_graph();
        let main_line = format!("* Task-{} (running)", me.id());
        let expected_chain = format!(
            "* Task-{} 'outer' (pending)\n  * Task-{} 'inner' (pending) awaits a Promise\n",
            outer.as_any().id(),
            inner_any.id()
        );
        assert!(graph.contains(&main_line), "{graph}");
        assert!(graph.contains(&expected_chain), "{graph}");
        assert!(
            !graph
                .lines()
                .any(|l| l.starts_with("* ") && l.contains("'inner'")),
            "inner is not a root: {graph}"
        );
        println!("{graph}");

        promise.set_result(41).unwrap();
        assert_eq!(outer.await.unwrap(), 42);
        gathered.cancel();
        sleeper.cancel();
    });
}
