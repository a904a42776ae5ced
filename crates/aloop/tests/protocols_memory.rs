//! What an idle `Protocol` connection holds, counted by a global allocator of this
//! test binary's own, and that the connections' bytes stay their own while one
//! receive buffer serves them all (`protocols/receiving.rs`).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use aloop::{Protocol, ServerOptions, Transport};

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

const CLIENTS: usize = 100;

/// 100 connections open and idle cost the server well under a read buffer each (they
/// held 64 KiB apiece); then each echoes its own bytes, interleaved with the others'.
#[test]
fn idle_connections_hold_no_read_buffer_and_each_gets_its_own_bytes_back() {
    aloop::run(async {
        let lp = aloop::get_running_loop().unwrap();
        let server = lp
            .create_server(Echo::default, "127.0.0.1", 0, ServerOptions::default())
            .await
            .unwrap();
        let port = server.sockets()[0].port();
        let connect = move || TcpStream::connect(("127.0.0.1", port)).unwrap();

        // One connection first, echoed, so what every connection shares exists.
        let first = std::thread::spawn(move || {
            let mut s = connect();
            s.write_all(b"warm").unwrap();
            let mut back = [0; 4];
            s.read_exact(&mut back).unwrap();
            s
        });
        while !first.is_finished() {
            aloop::sleep(Duration::from_millis(5)).await;
        }
        let first = first.join().unwrap();
        let before = LIVE.load(Ordering::Relaxed);

        let clients = std::thread::spawn(move || (0..CLIENTS).map(|_| connect()).collect());
        let deadline = Instant::now() + Duration::from_secs(60);
        while server.active_connections() < CLIENTS + 1 {
            assert!(
                Instant::now() < deadline,
                "the clients were not all accepted"
            );
            aloop::sleep(Duration::from_millis(5)).await;
        }
        let per_connection = (LIVE.load(Ordering::Relaxed) - before) / CLIENTS as isize;
        assert!(
            per_connection < 8 * 1024,
            "an idle protocol connection holds {per_connection} bytes"
        );
        let clients: Vec<TcpStream> = clients.join().unwrap();

        // Every client sends its own pattern in two halves while the others send
        // theirs; each must get exactly its own bytes back.
        let echoes = std::thread::spawn(move || {
            let pattern = |i: usize| -> Vec<u8> { (0..3000).map(|j| (i * 7 + j) as u8).collect() };
            let mut clients = clients;
            for half in 0..2 {
                for (i, c) in clients.iter_mut().enumerate() {
                    c.write_all(&pattern(i)[half * 1500..(half + 1) * 1500])
                        .unwrap();
                }
            }
            for (i, c) in clients.iter_mut().enumerate() {
                let mut back = vec![0; 3000];
                c.read_exact(&mut back).unwrap();
                assert_eq!(back, pattern(i), "client {i} got bytes not its own");
            }
            drop(clients);
            drop(first);
        });
        while !echoes.is_finished() {
            aloop::sleep(Duration::from_millis(5)).await;
        }
        echoes.join().unwrap();
        server.close();
        server.wait_closed().await;
    });
}
