//! What an idle connection holds, counted by a global allocator of this test binary's
//! own: a `Protocol`'s (one receive buffer serves every connection,
//! `protocols/receiving.rs`), and a stream's after a burst (the room it grew is given
//! back, `streams/buffer.rs`); and that each connection's bytes stay its own meanwhile.
//! The tests take turns (`ONE_AT_A_TIME`): the count is the whole process's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use aloop::{Protocol, ServerOptions, StreamReader, StreamWriter, Transport};

/// The system allocator, counting the bytes live.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call goes to `System` unchanged; only a counter is updated beside it.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: the caller's contract for `alloc`, passed on.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: as `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from this allocator with `layout`, per the caller.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        // SAFETY: as `dealloc`, and `new_size` per the caller.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs `client` on a thread of its own while the loop goes on; its result.
async fn off_loop<T: Send + 'static>(client: impl FnOnce() -> T + Send + 'static) -> T {
    let thread = std::thread::spawn(client);
    while !thread.is_finished() {
        aloop::sleep(Duration::from_millis(5)).await;
    }
    thread.join().unwrap()
}

/// Echoes every byte back.
#[derive(Default)]
struct Echo {
    transport: Option<Transport>,
}

impl Protocol for Echo {
    fn connection_made(&mut self, transport: Transport) {
        self.transport = Some(transport);
    }
    fn data_received(&mut self, data: &[u8]) {
        self.transport.as_ref().unwrap().write(data).unwrap();
    }
}

/// Echoes every line back.
async fn echo_lines(reader: StreamReader, writer: StreamWriter) {
    while let Ok(line) = reader.readline().await {
        if line.is_empty() || writer.write(&line).is_err() {
            break;
        }
    }
    writer.close();
}

const CLIENTS: usize = 100;

/// A connection that sent `hello\n` and got it back.
fn greeted(port: u16) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"hello\n").unwrap();
    let mut back = [0; 6];
    s.read_exact(&mut back).unwrap();
    assert_eq!(&back, b"hello\n");
    s
}

/// The heap bytes each of `CLIENTS` more greeted connections adds, idle, after one
/// connection made whatever the server shares between them.
async fn idle_bytes_per_connection(port: u16) -> (isize, Vec<TcpStream>) {
    let first = off_loop(move || greeted(port)).await;
    let before = LIVE.load(Ordering::Relaxed);
    let mut clients =
        off_loop(move || (0..CLIENTS).map(|_| greeted(port)).collect::<Vec<_>>()).await;
    // The server's side of the last exchange may still be ending its poll.
    aloop::sleep(Duration::from_millis(20)).await;
    let per_connection = (LIVE.load(Ordering::Relaxed) - before) / CLIENTS as isize;
    clients.push(first);
    (per_connection, clients)
}

/// Each client sends lines of its own, short and long (up to 40 KB, more than a
/// stream reader's first 16 KiB room), in pieces split mid-line and interleaved with the others';
/// each must get exactly its own lines back.
fn each_gets_its_own_lines_back(mut clients: Vec<TcpStream>) {
    let lines = |i: usize| -> Vec<u8> {
        let mut out = Vec::new();
        for (k, len) in [5, 3000, 9000, 40_000, 1].into_iter().enumerate() {
            out.extend((0..len).map(|j| b'a' + ((i * 7 + k * 3 + j) % 26) as u8));
            out.push(b'\n');
        }
        out
    };
    let pieces = 7;
    for p in 0..pieces {
        for (i, c) in clients.iter_mut().enumerate() {
            let all = lines(i);
            let step = all.len().div_ceil(pieces);
            let piece = &all[(p * step).min(all.len())..((p + 1) * step).min(all.len())];
            c.write_all(piece).unwrap();
        }
    }
    for (i, c) in clients.iter_mut().enumerate() {
        let mut back = vec![0; lines(i).len()];
        c.read_exact(&mut back).unwrap();
        assert!(back == lines(i), "client {i} got bytes not its own");
    }
}

/// 100 idle protocol connections cost the server well under a read buffer each (they
/// held 64 KiB apiece); then each echoes its own bytes, interleaved with the others'.
#[test]
fn idle_protocol_connections_hold_no_read_buffer_and_each_gets_its_own_bytes_back() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    aloop::run(async {
        let lp = aloop::get_running_loop().unwrap();
        let server = lp
            .create_server(Echo::default, "127.0.0.1", 0, ServerOptions::default())
            .await
            .unwrap();
        let port = server.sockets()[0].port();
        let (per_connection, clients) = idle_bytes_per_connection(port).await;
        assert!(
            per_connection < 4 * 1024,
            "an idle protocol connection holds {per_connection} bytes"
        );
        off_loop(move || each_gets_its_own_lines_back(clients)).await;
        server.close();
        server.wait_closed().await;
    });
}

/// 100 stream connections echo lines up to 40 KB (their readers' room grows to hold a
/// line, their writers queue what the socket does not take at once); once idle again,
/// each holds what it held idle before the burst, give or take a little, not the room
/// the burst needed (it kept up to 256 KiB of each).
#[test]
fn a_stream_connection_idle_after_a_burst_holds_what_it_held_before() {
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    aloop::run(async {
        let server = aloop::start_server(echo_lines, "127.0.0.1", 0)
            .await
            .unwrap();
        let port = server.sockets()[0].port();
        let (_, clients) = idle_bytes_per_connection(port).await;
        let before = LIVE.load(Ordering::Relaxed);
        let clients = off_loop(move || {
            each_gets_its_own_lines_back(clients.iter().map(|c| c.try_clone().unwrap()).collect());
            clients
        })
        .await;
        // The last echoes are sent; the servers' reads are waiting again.
        aloop::sleep(Duration::from_millis(20)).await;
        let grown = (LIVE.load(Ordering::Relaxed) - before) / clients.len() as isize;
        assert!(
            grown < 1024,
            "a stream connection idle after a burst holds {grown} bytes more than before it"
        );
        drop(clients);
        server.close();
        server.wait_closed().await;
    });
}
