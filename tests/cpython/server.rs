//! Port of CPython's `Lib/test/test_asyncio/test_server.py` (see `docs/conformance.md`
//! for the version, and for each method with no Rust form): one Rust test per method,
//! `server_<class>_<method>`, on aloop's `Server` (`start_server`, `start_unix_server`).
//! CPython's blocking client threads are std threads here, each bounded by socket
//! timeouts.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use aloop::{
    create_task, get_running_loop, open_connection, start_server, start_server_with,
    start_unix_server, start_unix_server_with, timeout, AnyTask, Server, ServerOptions,
    StreamReader, StreamWriter,
};
use aloop_tests::cpython::{tick, ticks};

/// CPython's `HELLO_MSG`.
fn hello() -> Vec<u8> {
    let mut msg = vec![b'1'; 1024 * 5];
    msg.push(b'\n');
    msg
}

fn socket_path(tag: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "aloop-cpython-server-{}-{tag}.sock",
        std::process::id()
    ))
}

/// `serve(reader, writer)` of the start_server tests: read a line, cancel the main task,
/// answer one byte, close.
fn cancelling_handler(
    main: Rc<RefCell<Option<AnyTask>>>,
) -> impl Fn(
    StreamReader,
    StreamWriter,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = io::Result<()>>>> {
    move |r: StreamReader, w: StreamWriter| {
        let main = main.clone();
        Box::pin(async move {
            r.readline().await?;
            main.borrow().as_ref().unwrap().cancel();
            w.write(b"1")?;
            w.close();
            w.wait_closed().await
        })
    }
}

/// CPython's blocking client: send the message, read the one-byte answer.
fn blocking_client<S: Read + Write>(mut sock: S) -> Vec<u8> {
    sock.write_all(&hello()).unwrap();
    let mut answer = Vec::new();
    sock.read_to_end(&mut answer).unwrap();
    answer
}

/// After the main task is cancelled: the server is closed, lists no sockets, and
/// refuses `serve_forever`.
async fn assert_closed(srv: &Server) {
    assert!(srv.sockets().is_empty());
    assert!(!srv.is_serving());
    let err = srv.serve_forever().await.unwrap_err();
    assert!(err.to_string().contains("is closed"), "{err}");
}

/// A server made without serving; `serve_forever` in a main task serves it until the
/// handler cancels that task, which closes the server (asyncio's `async with srv`).
#[aloop::test]
async fn server_base_start_server_start_server_1() {
    let main = Rc::new(RefCell::new(None));
    let options = ServerOptions {
        start_serving: false,
        ..Default::default()
    };
    let srv = start_server_with(cancelling_handler(main.clone()), "127.0.0.1", 0, options)
        .await
        .unwrap();
    assert!(!srv.is_serving());
    let serving = srv.clone();
    let main_task = create_task(async move { serving.serve_forever().await });
    *main.borrow_mut() = Some(main_task.as_any());
    let addr = srv.sockets()[0];
    let client = std::thread::spawn(move || {
        let sock = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        blocking_client(sock)
    });
    assert!(main_task.await.unwrap_err().is_cancelled());
    let answer = aloop::to_thread(move || client.join().unwrap())
        .await
        .unwrap();
    assert_eq!(answer, b"1");
    assert_closed(&srv).await;
}

/// The same over a Unix socket, the main task starting the server with
/// `start_serving()` before `serve_forever`.
#[aloop::test]
async fn server_selector_start_server_start_unix_server_1() {
    let path = socket_path("start");
    let main = Rc::new(RefCell::new(None));
    let options = ServerOptions {
        start_serving: false,
        ..Default::default()
    };
    let srv = start_unix_server_with(cancelling_handler(main.clone()), &path, options)
        .await
        .unwrap();
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let serving = srv.clone();
    let main_task = create_task(async move {
        assert!(!serving.is_serving());
        serving.start_serving().unwrap();
        assert!(serving.is_serving());
        started_tx.send(()).unwrap();
        serving.serve_forever().await
    });
    *main.borrow_mut() = Some(main_task.as_any());
    let client_path = path.clone();
    let client = std::thread::spawn(move || {
        started_rx.recv_timeout(Duration::from_secs(5)).unwrap();
        let sock = std::os::unix::net::UnixStream::connect(&client_path).unwrap();
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        blocking_client(sock)
    });
    assert!(main_task.await.unwrap_err().is_cancelled());
    let answer = aloop::to_thread(move || client.join().unwrap())
        .await
        .unwrap();
    assert_eq!(answer, b"1");
    assert_closed(&srv).await;
    assert!(!path.exists());
}

/// `serve(rd, wr)` of the TestServer2 tests: read to the end, then close.
async fn read_then_close(r: StreamReader, w: StreamWriter) -> io::Result<()> {
    let _ = r.read_to_eof().await;
    w.close();
    w.wait_closed().await
}

/// Waits (a bounded number of iterations) until the server has taken the connection.
async fn accepted(srv: &Server, n: usize) {
    for _ in 0..1000 {
        if srv.active_connections() == n {
            return;
        }
        tick().await;
    }
    panic!("the server did not accept the connection");
}

/// `wait_closed()` returns only once the server is closed and its connections are
/// done (asyncio's private `_attach()` stands for a connection; a real one here).
#[aloop::test]
async fn server_server2_wait_closed_basic() {
    let srv = start_server(read_then_close, "127.0.0.1", 0).await.unwrap();
    let task1 = create_task(srv.wait_closed());
    tick().await;
    assert!(!task1.done());

    let port = srv.sockets()[0].port();
    let (_rd, wr) = open_connection("127.0.0.1", port).await.unwrap();
    accepted(&srv, 1).await;
    let task2 = create_task(srv.wait_closed());
    tick().await;
    assert!(!task1.done() && !task2.done());

    srv.close();
    tick().await;
    let task3 = create_task(srv.wait_closed());
    tick().await;
    assert!(!task1.done() && !task2.done() && !task3.done());

    wr.close();
    wr.wait_closed().await.unwrap();
    for t in [task1, task2, task3] {
        timeout(Duration::from_secs(10), t).await.unwrap().unwrap();
    }
    srv.wait_closed().await; // at once
}

/// 3.12.0's regression: the close and the connection's end in the same iteration.
#[aloop::test]
async fn server_server2_wait_closed_race() {
    let srv = start_server(read_then_close, "127.0.0.1", 0).await.unwrap();
    let task = create_task(srv.wait_closed());
    tick().await;
    assert!(!task.done());
    let port = srv.sockets()[0].port();
    let (_rd, wr) = open_connection("127.0.0.1", port).await.unwrap();
    let lp = get_running_loop().unwrap();
    let closing = srv.clone();
    lp.call_soon(move || closing.close()).unwrap();
    lp.call_soon(move || wr.close()).unwrap();
    timeout(Duration::from_secs(10), srv.wait_closed())
        .await
        .unwrap();
    task.await.unwrap();
}

/// 3.13 (`close_clients`, in CPython's later copy): closing the server and its clients
/// ends `wait_closed`.
#[aloop::test]
async fn server_server2_close_clients() {
    let srv = start_server(read_then_close, "127.0.0.1", 0).await.unwrap();
    let port = srv.sockets()[0].port();
    let (_rd, wr) = open_connection("127.0.0.1", port).await.unwrap();
    accepted(&srv, 1).await;
    let task = create_task(srv.wait_closed());
    tick().await;
    assert!(!task.done());
    srv.close();
    srv.close_clients();
    ticks(2).await;
    timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    wr.close();
}

/// 3.13 (`abort_clients`, in CPython's later copy): a server connection stuck with
/// bytes its peer does not read is aborted, and `wait_closed` ends.
#[aloop::test]
async fn server_server2_abort_clients() {
    let slot: Rc<RefCell<Option<StreamWriter>>> = Rc::default();
    let s = slot.clone();
    let serve = move |_r: StreamReader, w: StreamWriter| {
        let s = s.clone();
        async move {
            *s.borrow_mut() = Some(w.clone());
            let _ = w.wait_closed().await;
        }
    };
    let srv = start_server(serve, "127.0.0.1", 0).await.unwrap();
    let port = srv.sockets()[0].port();
    // The client never reads: the kernel's buffers fill, then the server's queue.
    let (_c_rd, c_wr) = open_connection("127.0.0.1", port).await.unwrap();
    accepted(&srv, 1).await;
    let s_wr = slot.borrow().clone().unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..64 {
        s_wr.write(&chunk).unwrap();
        tick().await;
        if s_wr.get_write_buffer_size() > 0 {
            break;
        }
    }
    assert_ne!(s_wr.get_write_buffer_size(), 0);
    let task = create_task(srv.wait_closed());
    tick().await;
    assert!(!task.done());
    srv.close();
    srv.abort_clients();
    ticks(2).await;
    timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();
    c_wr.close();
}

async fn nothing(_r: StreamReader, _w: StreamWriter) {}

#[aloop::test]
async fn server_unix_server_cleanup_unix_server_addr_cleanup() {
    let path = socket_path("cleanup");
    let srv = start_unix_server(nothing, &path).await.unwrap();
    assert!(path.exists());
    srv.close();
    assert!(!path.exists());
}

/// Someone removed the socket file first: closing is quiet (asyncio's server was given
/// a bound `sock=`, which aloop has no form of; here it bound the path itself).
#[aloop::test]
async fn server_unix_server_cleanup_unix_server_cleanup_gone() {
    let path = socket_path("gone");
    let srv = start_unix_server(nothing, &path).await.unwrap();
    std::fs::remove_file(&path).unwrap();
    srv.close();
    assert!(!path.exists());
}

/// Someone replaced the socket file with their own: closing leaves theirs alone.
#[aloop::test]
async fn server_unix_server_cleanup_unix_server_cleanup_replaced() {
    let path = socket_path("replaced");
    let srv = start_unix_server(nothing, &path).await.unwrap();
    std::fs::remove_file(&path).unwrap();
    let theirs = UnixListener::bind(&path).unwrap();
    srv.close();
    assert!(path.exists());
    drop(theirs);
    std::fs::remove_file(&path).unwrap();
}
