//! The seed's ThreadPoolExecutor example: 20 blocking "downloads" run through
//! `run_in_executor`, first on a 1-worker pool, then on a larger one.
//!
//! Each download is a blocking `std::net` HTTP GET against a small server this example
//! starts on 127.0.0.1 (no internet needed); the server takes 50 ms per request, the way a
//! slow remote site would. With one worker the downloads queue up (~20 x 50 ms); with
//! more workers they overlap.
//!
//! Run: `cargo run --release --example thread_pool`

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use aloop::ThreadPoolExecutor;

/// A tiny blocking HTTP server: one thread per connection, 50 ms per response.
fn start_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || serve(conn));
        }
    });
    addr
}

fn serve(mut conn: TcpStream) {
    let mut request_line = String::new();
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Skip the headers.
    let mut line = String::new();
    while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
        line.clear();
    }
    std::thread::sleep(Duration::from_millis(50));
    let body = format!("you asked for {}", request_line.trim());
    let _ = write!(
        conn,
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        body
    );
}

/// The blocking function the seed runs in the pool.
fn get_url(addr: SocketAddr, path: &str) -> String {
    let mut conn = TcpStream::connect(addr).expect("connect to the local server");
    write!(
        conn,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).unwrap();
    response.lines().last().unwrap_or_default().to_string()
}

fn download_all(lp: &aloop::EventLoop, pool: &ThreadPoolExecutor, addr: SocketAddr) -> Duration {
    let start = Instant::now();
    let jobs: Vec<_> = (0..20)
        .map(|i| lp.run_in_executor(Some(pool), move || get_url(addr, &format!("/page/{i}"))))
        .collect();
    let bodies = lp
        .run_until_complete(async move {
            let mut bodies = Vec::new();
            for job in jobs {
                bodies.push(job.await.expect("download failed"));
            }
            bodies
        })
        .unwrap();
    assert_eq!(bodies.len(), 20);
    println!("  first response: {:?}", bodies[0]);
    start.elapsed()
}

fn main() {
    let addr = start_server();
    println!("downloads are blocking HTTP GETs against http://{addr}/ (50 ms each)");
    let lp = aloop::new_event_loop();

    let one = ThreadPoolExecutor::new(1).unwrap();
    let t1 = download_all(&lp, &one, addr);
    println!(
        "20 downloads, 1 worker:   {:>6.0} ms",
        t1.as_secs_f64() * 1e3
    );

    let workers = 20;
    let many = ThreadPoolExecutor::new(workers).unwrap();
    let tn = download_all(&lp, &many, addr);
    println!(
        "20 downloads, {workers} workers: {:>6.0} ms ({:.1}x faster)",
        tn.as_secs_f64() * 1e3,
        t1.as_secs_f64() / tn.as_secs_f64()
    );
    one.shutdown(true, false);
    many.shutdown(true, false);
}
