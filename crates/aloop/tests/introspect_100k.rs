//! A loop with 100,000 tasks: its snapshot takes bounded time, and while `aloop-ps`'s
//! server asks for it (capture on the loop's thread, formatting on the server's), the
//! loop keeps answering a client. The figures are printed (`--nocapture`) and quoted in
//! `docs/debugging.md`.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TASKS: usize = 100_000;

#[test]
fn a_dump_of_100k_tasks_is_bounded_and_the_loop_keeps_serving() {
    let socket = aloop::introspect::serve().unwrap();
    aloop::run(async move {
        let lp = aloop::get_running_loop().unwrap();
        let gate = std::rc::Rc::new(aloop::Event::new());
        let waiting: Vec<_> = (0..TASKS)
            .map(|_| {
                let gate = gate.clone();
                aloop::create_task(async move { gate.wait().await })
            })
            .collect();
        let server = aloop::start_server(
            |reader, writer| async move {
                while let Ok(line) = reader.readline().await {
                    if line.is_empty() {
                        break;
                    }
                    writer.write(&line)?;
                    writer.drain().await?;
                }
                Ok::<(), std::io::Error>(())
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let addr = server.sockets()[0];
        aloop::sleep(Duration::from_millis(10)).await; // every task waits

        // In the program: the snapshot's time on the loop's thread, and the text's.
        let started = Instant::now();
        let snapshot = lp.snapshot();
        let captured = started.elapsed();
        let waits = snapshot
            .tasks
            .iter()
            .filter(|t| t.awaiting.is_some())
            .count();
        assert_eq!(waits, TASKS, "every task waits on the Event");
        let started = Instant::now();
        let graph = snapshot.format_call_graph();
        let formatted = started.elapsed();
        assert!(graph.lines().count() > TASKS);
        println!(
            "capture of {} tasks: {captured:?}; formatting: {formatted:?}",
            snapshot.tasks.len()
        );
        assert!(captured < Duration::from_secs(10), "{captured:?}");

        // A client keeps echoing on another thread; the count of round trips is shared.
        let round_trips = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (count, halt) = (round_trips.clone(), stop.clone());
        let client = std::thread::spawn(move || {
            let mut conn = std::net::TcpStream::connect(addr).unwrap();
            conn.set_read_timeout(Some(Duration::from_secs(30)))
                .unwrap();
            let mut buf = [0u8; 6];
            while !halt.load(Ordering::Relaxed) {
                conn.write_all(b"hello\n").unwrap();
                conn.read_exact(&mut buf).unwrap();
                count.fetch_add(1, Ordering::Relaxed);
            }
        });
        // And `aloop-ps` asks, from a third thread.
        let asker = std::thread::spawn(move || {
            while round_trips.load(Ordering::Relaxed) < 10 {
                std::thread::sleep(Duration::from_millis(1));
            }
            let before = round_trips.load(Ordering::Relaxed);
            let started = Instant::now();
            let mut conn = UnixStream::connect(socket).unwrap();
            conn.set_read_timeout(Some(Duration::from_secs(60)))
                .unwrap();
            conn.write_all(b"ps\n").unwrap();
            let mut reply = String::new();
            conn.read_to_string(&mut reply).unwrap();
            let took = started.elapsed();
            let during = round_trips.load(Ordering::Relaxed) - before;
            (reply, took, during)
        });
        let (reply, took, during) = aloop::to_thread(move || asker.join().unwrap())
            .await
            .unwrap();
        stop.store(true, Ordering::Relaxed);
        aloop::to_thread(move || client.join().unwrap())
            .await
            .unwrap();
        println!("aloop-ps's request: {took:?}, {during} round trips meanwhile");
        let header = reply.lines().find(|l| l.contains(" tasks")).unwrap();
        assert!(
            header.ends_with(&format!("{} tasks", TASKS + 3)),
            "{header}"
        );
        assert!(reply.lines().count() > TASKS);
        assert!(during > 0, "the loop answered no client while asked");

        gate.set();
        for t in waiting {
            t.await.unwrap();
        }
        server.close();
    });
}
