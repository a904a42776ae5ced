//! Write coalescing: a stream written several times in one batch of the loop queues its
//! writes until the batch's end and sends them together; a lone write goes out at once.
//! What must never change: every byte arrives, in order, before an EOF or close that
//! followed it.
//!
//! `get_write_buffer_size()` shows which path a write took: queued (coalesced) bytes
//! count there until the batch ends. Every network wait is under a watchdog.

use std::cell::RefCell;
use std::future::Future;
use std::io::Read;
use std::net::TcpStream as StdTcpStream;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use aloop::{StreamReader, StreamWriter};
use futures_util::future::{select, Either};

const WATCHDOG: Duration = Duration::from_secs(10);

async fn within<F: Future>(limit: Duration, fut: F) -> Option<F::Output> {
    match select(pin!(fut), pin!(aloop::sleep(limit))).await {
        Either::Left((v, _)) => Some(v),
        Either::Right(_) => None,
    }
}

/// A server whose handler hands its connection's writer out and reads until EOF, and a
/// blocking client connected to it: the test drives the writing.
async fn parked_connection() -> (aloop::Server, StdTcpStream, StreamWriter) {
    let parked: Rc<RefCell<Option<StreamWriter>>> = Rc::default();
    let slot = parked.clone();
    let server = aloop::start_server(
        move |reader: StreamReader, writer: StreamWriter| {
            *slot.borrow_mut() = Some(writer);
            async move {
                let _ = reader.read_to_eof().await;
            }
        },
        "127.0.0.1",
        0,
    )
    .await
    .unwrap();
    let client = StdTcpStream::connect(server.sockets()[0]).unwrap();
    client.set_read_timeout(Some(WATCHDOG)).unwrap();
    loop {
        if let Some(writer) = parked.borrow_mut().take() {
            return (server, client, writer);
        }
        aloop::sleep(Duration::from_millis(1)).await;
    }
}

fn read_all(mut client: StdTcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    client.read_to_end(&mut got).unwrap();
    got
}

fn read_exactly(mut client: StdTcpStream, n: usize) -> Vec<u8> {
    let mut got = vec![0; n];
    client.read_exact(&mut got).unwrap();
    got
}

#[test]
fn a_second_write_in_a_batch_waits_for_its_end_and_the_stream_learns() {
    let lp = aloop::new_event_loop();
    let queued = lp
        .run_until_complete(async {
            let (server, client, writer) = parked_connection().await;
            let mut queued = Vec::new();
            // Two tasks created together start in the same batch, `a` first.
            let w = writer.clone();
            let a = aloop::create_task(async move {
                w.write(b"one ").unwrap();
                let after_first = w.get_write_buffer_size();
                w.write(b"two ").unwrap();
                (after_first, w.get_write_buffer_size())
            });
            let w = writer.clone();
            let b = aloop::create_task(async move {
                let seen = w.get_write_buffer_size();
                w.write(b"three ").unwrap();
                (seen, w.get_write_buffer_size())
            });
            let (after_first, after_second) = a.await.unwrap();
            let (seen_by_b, after_b) = b.await.unwrap();
            queued.extend([after_first, after_second, seen_by_b, after_b]);
            queued.push(writer.get_write_buffer_size());
            // The stream learned it is written several times per batch: the next
            // batch's first write waits too...
            writer.write(b"four ").unwrap();
            queued.push(writer.get_write_buffer_size());
            aloop::sleep(Duration::ZERO).await;
            queued.push(writer.get_write_buffer_size());
            // ...and a batch that brought one write unlearns it.
            writer.write(b"five").unwrap();
            queued.push(writer.get_write_buffer_size());
            writer.close();
            let got = aloop::to_thread(move || read_all(client)).await.unwrap();
            assert_eq!(got, b"one two three four five");
            server.close();
            queued
        })
        .unwrap();
    assert_eq!(
        queued,
        [
            0,  // the first write of a batch goes out at once
            4,  // the second waits for the batch's end...
            4,  // ...which has not come when `b` runs
            10, // `b` adds to the waiting queue
            0,  // the batch's end sent it
            5,  // learned: the first write of the next batch waits
            0,  // sent at that batch's end
            0,  // unlearned: at once again
        ]
    );
}

#[test]
fn a_write_alone_in_its_batch_is_sent_at_once() {
    let lp = aloop::new_event_loop();
    let queued = lp
        .run_until_complete(async {
            let (server, client, writer) = parked_connection().await;
            // Let everything else settle: the next step of this task runs alone.
            aloop::sleep(Duration::from_millis(20)).await;
            writer.write(b"alone").unwrap();
            let queued = writer.get_write_buffer_size();
            writer.close();
            let got = aloop::to_thread(move || read_all(client)).await.unwrap();
            assert_eq!(got, b"alone");
            server.close();
            queued
        })
        .unwrap();
    assert_eq!(queued, 0);
}

#[test]
fn coalesced_writes_past_the_high_water_mark_make_drain_wait_until_they_are_sent() {
    let lp = aloop::new_event_loop();
    let (pending_after_fill, queued, drained) = lp
        .run_until_complete(async {
            let (server, client, writer) = parked_connection().await;
            writer.set_write_buffer_limits(Some(16), Some(4)).unwrap();
            // One batch: the first write goes out at once, the rest queue behind the
            // batch's end, and the queue passes 16 bytes on the fourth of them.
            for _ in 0..6 {
                writer.write(b"12345").unwrap();
            }
            let queued = writer.get_write_buffer_size();
            let mut drain = pin!(writer.drain());
            let pending_after_fill = futures_util::poll!(drain.as_mut()).is_pending();
            // The batch's end sends the queue, falls below the low mark and wakes it.
            let drained = within(WATCHDOG, drain).await.map(|r| r.is_ok());
            writer.close();
            let got = aloop::to_thread(move || read_all(client)).await.unwrap();
            assert_eq!(got, b"12345".repeat(6));
            server.close();
            (pending_after_fill, queued, drained)
        })
        .unwrap();
    assert_eq!(queued, 25, "five writes queued behind the batch's end");
    assert!(
        pending_after_fill,
        "drain waits while the queue is above 16 bytes"
    );
    assert_eq!(drained, Some(true));
}

#[test]
fn eof_close_and_drop_after_coalesced_writes_come_after_the_bytes() {
    // Each ending is requested in the same batch step as the writes, with another task
    // behind it in the batch, so the writes are still queued when it is requested.
    // Dropping every handle of a writer does not close the socket (the reader half
    // still holds it) but must not lose what was queued.
    let want: String = (0..100).map(|i| format!("{i},")).collect();
    for ending in ["write_eof", "close", "drop"] {
        let want_len = want.len();
        let lp = aloop::new_event_loop();
        let got = lp
            .run_until_complete(async move {
                let (server, client, writer) = parked_connection().await;
                let a = aloop::create_task(async move {
                    for i in 0..100 {
                        writer.write(format!("{i},").as_bytes()).unwrap();
                    }
                    assert!(writer.get_write_buffer_size() > 0);
                    match ending {
                        "write_eof" => writer.write_eof().unwrap(),
                        "close" => writer.close(),
                        _ => drop(writer),
                    }
                });
                let b = aloop::create_task(async {});
                a.await.unwrap();
                b.await.unwrap();
                let reading = aloop::to_thread(move || match ending {
                    "drop" => read_exactly(client, want_len),
                    _ => read_all(client),
                });
                let got = within(WATCHDOG, reading).await.expect("no EOF").unwrap();
                server.close();
                got
            })
            .unwrap();
        assert_eq!(String::from_utf8(got).unwrap(), want, "ending: {ending}");
    }
}

#[test]
fn a_write_after_an_ending_in_the_middle_of_a_coalesced_batch_is_refused() {
    // The batch's later writes are queued on one look at a flag set by its first: an
    // ending requested meanwhile must still refuse them, and what came before arrives.
    for ending in ["write_eof", "close"] {
        let lp = aloop::new_event_loop();
        let (refused, got) = lp
            .run_until_complete(async move {
                let (server, client, writer) = parked_connection().await;
                let a = aloop::create_task(async move {
                    writer.write(b"one ").unwrap();
                    writer.write(b"two").unwrap();
                    assert!(writer.get_write_buffer_size() > 0, "two is queued");
                    match ending {
                        "write_eof" => writer.write_eof().unwrap(),
                        _ => writer.close(),
                    }
                    let refused = writer.write(b" three").map_err(|e| e.kind());
                    if ending == "write_eof" {
                        writer.close();
                    }
                    refused
                });
                let b = aloop::create_task(async {});
                let refused = a.await.unwrap();
                b.await.unwrap();
                let reading = aloop::to_thread(move || read_all(client));
                let got = within(WATCHDOG, reading).await.expect("no EOF").unwrap();
                server.close();
                (refused, got)
            })
            .unwrap();
        assert_eq!(
            refused,
            Err(std::io::ErrorKind::BrokenPipe),
            "ending: {ending}"
        );
        assert_eq!(got, b"one two", "ending: {ending}");
    }
}

#[test]
fn a_write_after_abort_in_the_middle_of_a_coalesced_batch_is_refused() {
    let lp = aloop::new_event_loop();
    let refused = lp
        .run_until_complete(async {
            let (server, _client, writer) = parked_connection().await;
            writer.write(b"one ").unwrap();
            writer.write(b"two").unwrap();
            writer.abort();
            let refused = writer.write(b" three").map_err(|e| e.kind());
            let size = writer.get_write_buffer_size();
            server.close();
            (refused, size)
        })
        .unwrap();
    assert_eq!(refused, (Err(std::io::ErrorKind::BrokenPipe), 0));
}

#[test]
fn replies_written_one_per_request_arrive_whole_and_in_order() {
    // The asyncio way: a `write` per request as it is parsed. Many connections at once,
    // each with a pipelined burst, so batches hold many writers' steps.
    const CONNS: usize = 8;
    const REQUESTS: usize = 2_000;
    let got = aloop::run(async {
        let server = aloop::start_server(
            |reader: StreamReader, writer: StreamWriter| async move {
                while let Ok(line) = reader.readline().await {
                    if line.is_empty() {
                        break;
                    }
                    let mut reply = b"+".to_vec();
                    reply.extend_from_slice(&line);
                    writer.write(&reply).unwrap();
                    writer.drain().await.unwrap();
                }
                writer.close();
            },
            "127.0.0.1",
            0,
        )
        .await
        .unwrap();
        let addr = server.sockets()[0];
        let mut clients = Vec::new();
        for c in 0..CONNS {
            clients.push(aloop::create_task(async move {
                let (reader, writer) = aloop::open_connection("127.0.0.1", addr.port())
                    .await
                    .unwrap();
                let burst: String = (0..REQUESTS).map(|i| format!("{c}:{i}\n")).collect();
                writer.write(burst.as_bytes()).unwrap();
                writer.write_eof().unwrap();
                within(WATCHDOG, reader.read_to_eof())
                    .await
                    .expect("replies did not arrive")
                    .unwrap()
            }));
        }
        let mut got = Vec::new();
        for client in clients {
            got.push(client.await.unwrap());
        }
        server.close();
        got
    });
    for (c, replies) in got.iter().enumerate() {
        let want: String = (0..REQUESTS).map(|i| format!("+{c}:{i}\n")).collect();
        assert_eq!(String::from_utf8_lossy(replies), want, "connection {c}");
    }
}

/// A small deterministic generator (xorshift64*), so the server and the checker agree on
/// every reply without sharing state.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    x.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

/// The reply chunks to request `req` of connection `conn`: 0 to 4 chunks of 0 to 3,000
/// bytes, each byte a function of where it stands.
fn reply_chunks(seed: u64, conn: u64, req: u64) -> Vec<Vec<u8>> {
    let mut r = mix(seed ^ mix(conn + 1) ^ mix(req + 1_000_003));
    let chunks = r % 5;
    (0..chunks)
        .map(|c| {
            r = mix(r);
            let len = (r % 3_001) as usize;
            (0..len)
                .map(|i| (conn as usize * 31 + req as usize * 7 + c as usize * 3 + i) as u8)
                .collect()
        })
        .collect()
}

#[test]
fn random_writes_drains_yields_and_endings_lose_and_reorder_nothing() {
    // Many seeds: each mixes writes of random sizes per request, drains or not, yields
    // between writes (splitting them across batches) or not, small write-buffer limits
    // (the flusher and drain's waiting) or the default, and ends with close or
    // write_eof. The bytes each client gets must be exactly the replies, in order.
    const CONNS: u64 = 6;
    const REQUESTS: u64 = 60;
    for seed in 1..=24u64 {
        let got = aloop::run(async move {
            let server = aloop::start_server(
                move |reader: StreamReader, writer: StreamWriter| async move {
                    let hello = reader.readline().await.unwrap();
                    let conn: u64 = String::from_utf8(hello).unwrap().trim().parse().unwrap();
                    let mut r = mix(seed * 7_919 + conn);
                    if r % 3 == 0 {
                        writer.set_write_buffer_limits(Some(2_048), None).unwrap();
                    }
                    for req in 0..REQUESTS {
                        let line = reader.readline().await.unwrap();
                        assert_eq!(line, format!("{req}\n").as_bytes());
                        for chunk in reply_chunks(seed, conn, req) {
                            writer.write(&chunk).unwrap();
                            r = mix(r);
                            match r % 4 {
                                0 => writer.drain().await.unwrap(),
                                1 => aloop::sleep(Duration::ZERO).await,
                                _ => {}
                            }
                        }
                    }
                    if mix(r) % 2 == 0 {
                        writer.close();
                    } else {
                        writer.write_eof().unwrap();
                    }
                },
                "127.0.0.1",
                0,
            )
            .await
            .unwrap();
            let port = server.sockets()[0].port();
            let clients: Vec<_> = (0..CONNS)
                .map(|conn| {
                    aloop::create_task(async move {
                        let (reader, writer) =
                            aloop::open_connection("127.0.0.1", port).await.unwrap();
                        writer.write(format!("{conn}\n").as_bytes()).unwrap();
                        // Requests in bursts of random length, pipelined.
                        let mut r = mix(seed + conn * 104_729);
                        let mut req = 0;
                        while req < REQUESTS {
                            r = mix(r);
                            let burst = 1 + r % 8;
                            while req < REQUESTS && burst > 0 && req % burst != burst - 1 {
                                writer.write(format!("{req}\n").as_bytes()).unwrap();
                                req += 1;
                            }
                            if req < REQUESTS {
                                writer.write(format!("{req}\n").as_bytes()).unwrap();
                                req += 1;
                            }
                            writer.drain().await.unwrap();
                        }
                        within(WATCHDOG, reader.read_to_eof())
                            .await
                            .expect("the replies did not end")
                            .unwrap()
                    })
                })
                .collect();
            let mut got = Vec::new();
            for client in clients {
                got.push(client.await.unwrap());
            }
            server.close();
            got
        });
        for (conn, bytes) in got.iter().enumerate() {
            let want: Vec<u8> = (0..REQUESTS)
                .flat_map(|req| reply_chunks(seed, conn as u64, req))
                .flatten()
                .collect();
            assert!(
                *bytes == want,
                "seed {seed}, connection {conn}: got {} bytes, want {}",
                bytes.len(),
                want.len()
            );
        }
    }
}
