//! `Runtime`: N loops on N threads; tasks stay on the loop they were spawned on; a
//! server on every loop with `reuse_port`; loops talk through their handles; a panic on
//! one loop leaves the others serving; dropping the runtime cancels what is left (on
//! each loop's thread) and joins the threads; `new_pinned` pins each loop to a CPU.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use aloop::{Runtime, ServerOptions, StreamReader, StreamWriter};

fn thread_name() -> String {
    std::thread::current().name().unwrap_or("?").to_owned()
}

#[test]
fn each_task_lives_on_the_loop_it_was_spawned_on() {
    let rt = Runtime::new(3).unwrap();
    assert_eq!(rt.len(), 3);
    let seen: Vec<_> = (0..6)
        .map(|i| {
            rt.spawn_on(i, move || async move {
                let mut names = Vec::new();
                for _ in 0..3 {
                    names.push(thread_name());
                    aloop::sleep(Duration::from_millis(1)).await;
                }
                names
            })
            .unwrap()
        })
        .collect();
    for (i, task) in seen.into_iter().enumerate() {
        let names = task.wait().unwrap();
        let expected = format!("aloop-loop-{}", i % 3);
        assert!(names.iter().all(|n| *n == expected), "task {i}: {names:?}");
    }
    assert_eq!(
        rt.block_on(|| async { thread_name() }).unwrap(),
        "aloop-loop-0"
    );
}

#[test]
fn a_server_on_every_loop_with_reuse_port_shares_the_connections() {
    let rt = Runtime::new(2).unwrap();
    let (port_tx, port_rx) = mpsc::channel();
    // Loop 0 picks the port; loop 1 listens on the same one.
    let serve = |port: u16| async move {
        let options = ServerOptions {
            reuse_port: true,
            ..Default::default()
        };
        let server = aloop::start_server_with(
            |_r: StreamReader, w: StreamWriter| async move {
                let _ = w.write(format!("{}\n", thread_name()).as_bytes());
                w.close();
            },
            "127.0.0.1",
            port,
            options,
        )
        .await
        .unwrap();
        let port = server.sockets()[0].port();
        (server, port)
    };
    let first = rt
        .spawn_on(0, move || async move {
            let (server, port) = serve(0).await;
            port_tx.send(port).unwrap();
            server.serve_forever().await.ok();
        })
        .unwrap();
    let port = port_rx.recv().unwrap();
    let (ready_tx, ready_rx) = mpsc::channel();
    let second = rt
        .spawn_on(1, move || async move {
            let (server, _) = serve(port).await;
            ready_tx.send(()).unwrap();
            server.serve_forever().await.ok();
        })
        .unwrap();
    ready_rx.recv().unwrap();
    let mut per_loop = std::collections::HashMap::new();
    for _ in 0..200 {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).unwrap();
        *per_loop.entry(line.trim().to_owned()).or_insert(0) += 1;
    }
    println!("connections per loop: {per_loop:?}");
    assert_eq!(per_loop.values().sum::<i32>(), 200);
    assert!(per_loop.keys().all(|k| k.starts_with("aloop-loop-")));
    // The kernel hashes connections over both listeners; all 200 on one would mean
    // one of them is not listening.
    assert_eq!(per_loop.len(), 2, "{per_loop:?}");
    drop(rt); // stops both loops; their serve_forever tasks are cancelled
    assert!(
        first.wait().is_err() && second.wait().is_err(),
        "cancelled at shutdown"
    );
}

#[test]
fn loops_reach_each_other_through_their_handles_and_a_panic_stays_on_its_loop() {
    let rt = Runtime::new(2).unwrap();
    let handles = rt.handles();
    let to_second = handles[1].clone();
    let (tx, rx) = mpsc::channel();
    rt.spawn_on(0, move || async move {
        to_second
            .call_soon_threadsafe(move || tx.send(thread_name()).unwrap())
            .unwrap();
    })
    .unwrap()
    .wait()
    .unwrap();
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(30)).unwrap(),
        "aloop-loop-1"
    );

    let failed = rt
        .spawn_on(1, || async { panic!("boom on loop 1") })
        .unwrap();
    assert!(matches!(failed.wait(), Err(aloop::TaskError::Panicked(_))));
    assert_eq!(rt.block_on(|| async { 2 + 2 }).unwrap(), 4);
    assert_eq!(
        rt.spawn_on(1, || async { thread_name() })
            .unwrap()
            .wait()
            .unwrap(),
        "aloop-loop-1",
        "loop 1 runs on after the panic"
    );
}

struct Cleanup(Arc<AtomicBool>, mpsc::Sender<String>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
        let _ = self.1.send(thread_name());
    }
}

#[test]
fn dropping_the_runtime_cancels_what_is_left_on_each_loop_and_joins_the_threads() {
    let rt = Runtime::new(2).unwrap();
    let cleaned = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let (c, t) = (cleaned.clone(), tx.clone());
    let forever = rt
        .spawn_on(1, move || async move {
            let _cleanup = Cleanup(c, t);
            std::future::pending::<()>().await;
        })
        .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let handles = rt.handles();
    drop(rt);
    assert!(cleaned.load(Ordering::SeqCst), "the task's destructor ran");
    assert_eq!(
        rx.recv().unwrap(),
        "aloop-loop-1",
        "on its own loop's thread"
    );
    assert!(matches!(forever.wait(), Err(aloop::TaskError::Cancelled)));
    assert!(
        handles
            .iter()
            .all(|h| h.call_soon_threadsafe(|| ()).is_err()),
        "every loop closed"
    );
    drop(tx);
}

#[test]
fn zero_loops_means_one_per_core() {
    let rt = Runtime::new(0).unwrap();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(rt.len(), cores);
    assert!(!rt.is_empty());
}

/// The CPUs in the `Cpus_allowed_list` of the calling thread ("0-3,6" → [0,1,2,3,6]).
#[cfg(target_os = "linux")]
fn allowed_cpus_of_this_thread() -> Vec<usize> {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .expect("a Cpus_allowed_list line")
        .trim();
    let mut cpus = Vec::new();
    for part in list.split(',') {
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        cpus.extend(lo.parse::<usize>().unwrap()..=hi.parse::<usize>().unwrap());
    }
    cpus
}

#[test]
#[cfg(target_os = "linux")]
fn pinned_loops_each_run_on_one_allowed_cpu_in_turn() {
    let allowed = allowed_cpus_of_this_thread();
    // One loop more than there are CPUs: the last one wraps around to the first CPU.
    let loops = allowed.len() + 1;
    let rt = Runtime::new_pinned(loops).unwrap();
    for i in 0..loops {
        let mask = rt
            .spawn_on(i, || async { allowed_cpus_of_this_thread() })
            .unwrap()
            .wait()
            .unwrap();
        assert_eq!(mask, [allowed[i % allowed.len()]], "loop {i}");
    }
    // 0: one loop per allowed CPU.
    assert_eq!(Runtime::new_pinned(0).unwrap().len(), allowed.len());
    // Without pinning, a loop keeps the whole mask it was started with.
    let rt = Runtime::new(1).unwrap();
    let mask = rt
        .block_on(|| async { allowed_cpus_of_this_thread() })
        .unwrap();
    assert_eq!(mask, allowed);
}

#[test]
fn a_server_on_every_loop_shuts_down_gracefully_within_a_deadline() {
    use std::io::Read;
    let rt = Runtime::new(2).unwrap();
    let server = rt
        .start_server(
            || {
                |r: StreamReader, w: StreamWriter| async move {
                    let line = r.readline().await.unwrap_or_default();
                    let pause = if line.starts_with(b"slow") { 300 } else { 0 };
                    aloop::sleep(Duration::from_millis(pause)).await;
                    let _ = w.write(format!("done by {}\n", thread_name()).as_bytes());
                    w.close();
                }
            },
            "127.0.0.1",
            0,
        )
        .unwrap();
    let addr = server.local_addr();
    // Requests in flight on (most likely) both loops.
    let mut in_flight: Vec<TcpStream> = (0..6)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            std::io::Write::write_all(&mut s, b"slow\n").unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        server.shutdown(Duration::from_secs(30)),
        "all finished within the deadline"
    );
    for s in &mut in_flight {
        let mut reply = String::new();
        s.read_to_string(&mut reply).unwrap();
        assert!(reply.starts_with("done by aloop-loop-"), "{reply:?}");
    }
    let refused = TcpStream::connect(addr).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);

    // A deadline shorter than the work: shutdown says so; dropping the runtime then
    // cancels the connection.
    let server = rt
        .start_server(
            || {
                |_r: StreamReader, _w: StreamWriter| async move {
                    aloop::sleep(Duration::from_secs(3600)).await;
                }
            },
            "127.0.0.1",
            0,
        )
        .unwrap();
    let _stuck = TcpStream::connect(server.local_addr()).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    assert!(!server.shutdown(Duration::from_millis(100)));
    drop(rt);
}

#[test]
fn one_acceptor_hands_connections_to_the_loops_in_turn_and_shuts_down_gracefully() {
    use std::io::Read;
    let rt = Runtime::new(2).unwrap();
    let server = rt
        .start_server_one_acceptor(
            || {
                |r: StreamReader, w: StreamWriter| async move {
                    let _ = r.readline().await;
                    aloop::sleep(Duration::from_millis(200)).await;
                    let _ = w.write(format!("{}\n", thread_name()).as_bytes());
                    w.close();
                }
            },
            "127.0.0.1",
            0,
        )
        .unwrap();
    let addr = server.local_addr();
    let mut conns: Vec<TcpStream> = Vec::new();
    for _ in 0..6 {
        let mut s = TcpStream::connect(addr).unwrap();
        std::io::Write::write_all(&mut s, b"go\n").unwrap();
        conns.push(s);
        std::thread::sleep(Duration::from_millis(10)); // accepted in this order
    }
    assert!(server.shutdown(Duration::from_secs(30)));
    let names: Vec<String> = conns
        .iter_mut()
        .map(|s| {
            let mut reply = String::new();
            s.read_to_string(&mut reply).unwrap();
            reply.trim().to_owned()
        })
        .collect();
    assert_eq!(
        names,
        [
            "aloop-loop-0",
            "aloop-loop-1",
            "aloop-loop-0",
            "aloop-loop-1",
            "aloop-loop-0",
            "aloop-loop-1"
        ],
        "round robin, every reply complete after the shutdown began"
    );
    assert_eq!(
        TcpStream::connect(addr).unwrap_err().kind(),
        std::io::ErrorKind::ConnectionRefused
    );
}

#[test]
fn close_returns_with_every_listener_closed_and_the_connections_still_served() {
    use std::io::{Read, Write};
    let rt = Runtime::new(2).unwrap();
    for one_acceptor in [false, true] {
        let serve = || {
            |r: StreamReader, w: StreamWriter| async move {
                let line = r.readline().await.unwrap_or_default();
                let _ = w.write(&line);
                w.close();
            }
        };
        let server = if one_acceptor {
            rt.start_server_one_acceptor(serve, "127.0.0.1", 0)
        } else {
            rt.start_server(serve, "127.0.0.1", 0)
        }
        .unwrap();
        let addr = server.local_addr();
        // Accepted before close (answered once it is served: the accept happened).
        let mut open = TcpStream::connect(addr).unwrap();
        open.write_all(b"ping\n").unwrap();
        let mut reply = [0u8; 5];
        open.read_exact(&mut reply).unwrap();
        assert_eq!(&reply, b"ping\n");
        let mut waiting = TcpStream::connect(addr).unwrap();
        std::thread::sleep(Duration::from_millis(50)); // accepted by now
        server.close();
        // Refused at once after close returns: no race with the loops.
        let refused = TcpStream::connect(addr).unwrap_err();
        assert_eq!(
            refused.kind(),
            std::io::ErrorKind::ConnectionRefused,
            "{one_acceptor}"
        );
        server.close(); // idempotent
                        // The connection accepted before is still served.
        waiting.write_all(b"late\n").unwrap();
        let mut reply = String::new();
        waiting.read_to_string(&mut reply).unwrap();
        assert_eq!(reply, "late\n");
        assert!(server.shutdown(Duration::from_secs(30)));
    }
}
