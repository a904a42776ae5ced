//! `StreamTests` methods of CPython's test_streams.py over real connections: TCP, Unix
//! sockets, TLS, a child's pipe. Sibling: `reader.rs`; the index is `main.rs`.
//!
//! Every test records the loop's exception handler and checks it got nothing, as
//! CPython's do with `messages`.

use std::cell::Cell;
use std::io;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use aloop::subprocess::Stdio;
use aloop::tls::{ClientConfig, ServerConfig};
use aloop::{
    create_subprocess_exec, create_task, current_task, get_running_loop, open_connection,
    open_connection_with, open_unix_connection, start_server, start_server_with, start_unix_server,
    timeout, ConnectOptions, Event, Server, ServerOptions, StreamReader, StreamWriter,
};
use aloop_tests::cpython::tick;
use aloop_tests::tls_certs::TestCa;
use aloop_tests::{record_exceptions, Log};

/// The exception handler's reports (CPython's `messages`).
fn messages() -> Log {
    let log = Log::new();
    record_exceptions(&get_running_loop().unwrap(), &log);
    log
}

fn port_of(server: &Server) -> u16 {
    server.sockets()[0].port()
}

/// A fresh path for a Unix socket.
fn socket_path(tag: &str) -> PathBuf {
    thread_local!(static N: Cell<u32> = const { Cell::new(0) });
    let n = N.with(|n| {
        n.set(n.get() + 1);
        n.get()
    });
    std::env::temp_dir().join(format!(
        "aloop-cpython-streams-{}-{tag}-{n}.sock",
        std::process::id()
    ))
}

/// CPython's `run_test_server` handler: reads a request, answers with "Test message"
/// and closes. A client that leaves without a request is not an error (CPython's server
/// runs in a thread of its own and reports nothing to the loop).
async fn http_handler(r: StreamReader, w: StreamWriter) -> io::Result<()> {
    if r.readuntil(b"\r\n\r\n").await.is_err() {
        return Ok(());
    }
    w.write(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nTest message")?;
    w.close();
    w.wait_closed().await
}

/// `_basetest_open_connection`: a request and its answer over `(r, w)`.
async fn get_test_message(r: &StreamReader, w: &StreamWriter, readline_first: bool) {
    w.write(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    if readline_first {
        assert_eq!(r.readline().await.unwrap(), b"HTTP/1.0 200 OK\r\n");
    }
    let data = r.read_to_eof().await.unwrap();
    assert!(data.ends_with(b"\r\n\r\nTest message"), "{data:?}");
}

async fn stop(server: Server) {
    server.close();
    server.wait_closed().await;
}

#[aloop::test]
async fn streams_stream_open_connection() {
    let messages = messages();
    let server = start_server(http_handler, "127.0.0.1", 0).await.unwrap();
    let (r, w) = open_connection("127.0.0.1", port_of(&server))
        .await
        .unwrap();
    get_test_message(&r, &w, true).await;
    w.close();
    stop(server).await;
    messages.assert_eq(&[]);
}

#[aloop::test]
async fn streams_stream_open_unix_connection() {
    let messages = messages();
    let path = socket_path("open");
    let server = start_unix_server(http_handler, &path).await.unwrap();
    let (r, w) = open_unix_connection(&path).await.unwrap();
    get_test_message(&r, &w, true).await;
    w.close();
    stop(server).await;
    let _ = std::fs::remove_file(&path);
    messages.assert_eq(&[]);
}

/// A CA, and a server and a client config for "localhost" / 127.0.0.1 under it.
fn tls_pair() -> (ServerConfig, ClientConfig) {
    let ca = TestCa::new("cpython streams CA");
    let leaf = ca.leaf(&["localhost", "127.0.0.1"]);
    let server = ServerConfig::from_pem(leaf.cert_pem.as_bytes(), leaf.key_pem.as_bytes()).unwrap();
    let client = ClientConfig::with_root_pem(ca.cert_pem().as_bytes())
        .unwrap()
        .server_hostname("localhost");
    (server, client)
}

#[aloop::test]
async fn streams_stream_open_connection_no_loop_ssl() {
    let messages = messages();
    let (server_tls, client_tls) = tls_pair();
    let options = ServerOptions {
        ssl: Some(server_tls),
        ..Default::default()
    };
    let server = start_server_with(http_handler, "127.0.0.1", 0, options)
        .await
        .unwrap();
    let connect = ConnectOptions {
        ssl: Some(client_tls),
        ..Default::default()
    };
    let (r, w) = open_connection_with("127.0.0.1", port_of(&server), connect)
        .await
        .unwrap();
    get_test_message(&r, &w, false).await;
    w.close();
    stop(server).await;
    messages.assert_eq(&[]);
}

/// TLS over a Unix socket: there is no `ssl=` on the Unix connect, so both ends upgrade
/// the plain connection with `start_tls`.
#[aloop::test]
async fn streams_stream_open_unix_connection_no_loop_ssl() {
    let messages = messages();
    let (server_tls, client_tls) = tls_pair();
    let path = socket_path("tls");
    let server = start_unix_server(
        move |r: StreamReader, w: StreamWriter| {
            let tls = server_tls.clone();
            async move {
                w.start_tls(tls).await?;
                http_handler(r, w).await
            }
        },
        &path,
    )
    .await
    .unwrap();
    let (r, w) = open_unix_connection(&path).await.unwrap();
    w.start_tls(client_tls).await.unwrap();
    get_test_message(&r, &w, false).await;
    w.close();
    stop(server).await;
    let _ = std::fs::remove_file(&path);
    messages.assert_eq(&[]);
}

/// The connection fails with an error (asyncio pokes `connection_lost(exc)` into the
/// protocol; here the error is set on the reader, the same path a failed socket read
/// takes): the read gets it, and closing is quiet.
async fn connection_error(r: StreamReader, w: StreamWriter) {
    r.set_exception(io::Error::other("ZeroDivisionError"));
    let err = r.read_to_eof().await.unwrap_err();
    assert_eq!(err.to_string(), "ZeroDivisionError");
    w.close();
    tick().await;
}

#[aloop::test]
async fn streams_stream_open_connection_error() {
    let messages = messages();
    let server = start_server(http_handler, "127.0.0.1", 0).await.unwrap();
    let (r, w) = open_connection("127.0.0.1", port_of(&server))
        .await
        .unwrap();
    connection_error(r, w).await;
    stop(server).await;
    messages.assert_eq(&[]);
}

#[aloop::test]
async fn streams_stream_open_unix_connection_error() {
    let messages = messages();
    let path = socket_path("error");
    let server = start_unix_server(http_handler, &path).await.unwrap();
    let (r, w) = open_unix_connection(&path).await.unwrap();
    connection_error(r, w).await;
    stop(server).await;
    let _ = std::fs::remove_file(&path);
    messages.assert_eq(&[]);
}

/// `MyServer.handle_client`: echo one line, then close.
async fn echo_line(r: StreamReader, w: StreamWriter) -> io::Result<()> {
    let data = r.readline().await?;
    w.write(&data)?;
    w.drain().await?;
    w.close();
    w.wait_closed().await
}

/// `client()`: send a line, read it back.
async fn client(r: StreamReader, w: StreamWriter) -> Vec<u8> {
    w.write(b"hello world!\n").unwrap();
    let back = r.readline().await.unwrap();
    w.close();
    w.wait_closed().await.unwrap();
    back
}

/// The server's callback as a coroutine, then as a plain function that starts a task.
#[aloop::test]
async fn streams_stream_start_server() {
    let messages = messages();
    let server = start_server(echo_line, "127.0.0.1", 0).await.unwrap();
    let (r, w) = open_connection("127.0.0.1", port_of(&server))
        .await
        .unwrap();
    assert_eq!(create_task(client(r, w)).await.unwrap(), b"hello world!\n");
    stop(server).await;

    let callback = |r: StreamReader, w: StreamWriter| {
        create_task(echo_line(r, w));
        std::future::ready(())
    };
    let server = start_server(callback, "127.0.0.1", 0).await.unwrap();
    let (r, w) = open_connection("127.0.0.1", port_of(&server))
        .await
        .unwrap();
    assert_eq!(create_task(client(r, w)).await.unwrap(), b"hello world!\n");
    stop(server).await;
    messages.assert_eq(&[]);
}

#[aloop::test]
async fn streams_stream_start_unix_server() {
    let messages = messages();
    let path = socket_path("server");
    let server = start_unix_server(echo_line, &path).await.unwrap();
    let (r, w) = open_unix_connection(&path).await.unwrap();
    assert_eq!(create_task(client(r, w)).await.unwrap(), b"hello world!\n");
    stop(server).await;
    let _ = std::fs::remove_file(&path);

    let path = socket_path("server-callback");
    let callback = |r: StreamReader, w: StreamWriter| {
        create_task(echo_line(r, w));
        std::future::ready(())
    };
    let server = start_unix_server(callback, &path).await.unwrap();
    let (r, w) = open_unix_connection(&path).await.unwrap();
    assert_eq!(create_task(client(r, w)).await.unwrap(), b"hello world!\n");
    stop(server).await;
    let _ = std::fs::remove_file(&path);
    messages.assert_eq(&[]);
}

/// A line in plain text, both ends upgrade with `start_tls`, a line over TLS.
#[aloop::test]
async fn streams_stream_start_tls() {
    let messages = messages();
    let (server_tls, client_tls) = tls_pair();
    let handler = move |r: StreamReader, w: StreamWriter| {
        let tls = server_tls.clone();
        async move {
            let data1 = r.readline().await?;
            w.write(&data1)?;
            w.drain().await?;
            assert!(w.tls_info().is_none());
            w.start_tls(tls).await?;
            assert!(w.tls_info().is_some());
            let data2 = r.readline().await?;
            w.write(&data2)?;
            w.drain().await?;
            w.close();
            w.wait_closed().await
        }
    };
    let server = start_server(handler, "127.0.0.1", 0).await.unwrap();
    let (r, w) = open_connection("127.0.0.1", port_of(&server))
        .await
        .unwrap();
    w.write(b"hello world 1!\n").unwrap();
    w.drain().await.unwrap();
    let msg1 = r.readline().await.unwrap();
    assert!(w.tls_info().is_none());
    w.start_tls(client_tls).await.unwrap();
    assert!(w.tls_info().is_some());
    w.write(b"hello world 2!\n").unwrap();
    w.drain().await.unwrap();
    let msg2 = r.readline().await.unwrap();
    w.close();
    w.wait_closed().await.unwrap();
    stop(server).await;
    messages.assert_eq(&[]);
    assert_eq!(msg1, b"hello world 1!\n");
    assert_eq!(msg2, b"hello world 2!\n");
}

/// asyncio issue 168: a reader whose limit is 1 still reads a child's whole output to
/// the end (the child's stdout pipe here, for `connect_read_pipe` on a pipe it writes).
#[aloop::test]
async fn streams_stream_read_all_from_pipe_reader() {
    let mut child = create_subprocess_exec("sh", ["-c", "printf data"])
        .stdout(Stdio::Pipe)
        .limit(1)
        .await
        .unwrap();
    let reader = child.stdout.take().unwrap();
    assert_eq!(reader.limit(), 1);
    assert_eq!(child.wait().await.unwrap(), 0);
    assert_eq!(reader.read_to_eof().await.unwrap(), b"data");
}

/// Ten tasks wait in `drain()` on one writer past its high-water mark; all resume
/// once the peer reads.
#[aloop::test]
async fn streams_stream_multiple_drain() {
    let messages = messages();
    let go = Rc::new(Event::new());
    let g = go.clone();
    let handler = move |r: StreamReader, _w: StreamWriter| {
        let go = g.clone();
        async move {
            go.wait().await;
            r.read_to_eof().await.map(drop)
        }
    };
    let server = start_server(handler, "127.0.0.1", 0).await.unwrap();
    let (_r, w) = open_connection("127.0.0.1", port_of(&server))
        .await
        .unwrap();
    // Far past what the kernel's socket buffers take: the rest stays queued here.
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..32 {
        w.write(&chunk).unwrap();
    }
    let drained = Rc::new(Cell::new(0));
    let drainers: Vec<_> = (0..10)
        .map(|_| {
            let (w, d) = (w.clone(), drained.clone());
            create_task(async move {
                w.drain().await.unwrap();
                d.set(d.get() + 1);
            })
        })
        .collect();
    aloop::sleep(Duration::from_millis(50)).await;
    assert_eq!(drained.get(), 0, "the writer is past its high-water mark");
    go.set();
    for t in drainers {
        t.await.unwrap();
    }
    assert_eq!(drained.get(), 10);
    w.close();
    stop(server).await;
    messages.assert_eq(&[]);
}

/// bpo-25441: writing and draining to a peer that closed ends with an error instead of
/// looping forever.
#[aloop::test]
async fn streams_stream_drain_raises() {
    let messages = messages();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let peer = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        drop(conn);
    });
    let (_r, w) = open_connection("127.0.0.1", port).await.unwrap();
    let outcome = timeout(Duration::from_secs(30), async {
        loop {
            if let Err(e) = w.write(b"foo\n") {
                break e;
            }
            if let Err(e) = w.drain().await {
                break e;
            }
        }
    })
    .await
    .expect("write/drain never failed");
    assert!(
        matches!(
            outcome.kind(),
            io::ErrorKind::ConnectionReset
                | io::ErrorKind::ConnectionAborted
                | io::ErrorKind::BrokenPipe
        ),
        "{outcome:?}"
    );
    peer.join().unwrap();
    messages.assert_eq(&[]);
}

#[aloop::test]
async fn streams_stream_wait_closed_on_close() {
    let server = start_server(http_handler, "127.0.0.1", 0).await.unwrap();
    let (r, w) = open_connection("127.0.0.1", port_of(&server))
        .await
        .unwrap();
    get_test_message(&r, &w, true).await;
    assert!(!w.is_closing());
    w.close();
    assert!(w.is_closing());
    w.wait_closed().await.unwrap();
    stop(server).await;
}

#[aloop::test]
async fn streams_stream_wait_closed_on_close_with_unread_data() {
    let server = start_server(http_handler, "127.0.0.1", 0).await.unwrap();
    let (r, w) = open_connection("127.0.0.1", port_of(&server))
        .await
        .unwrap();
    w.write(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    assert_eq!(r.readline().await.unwrap(), b"HTTP/1.0 200 OK\r\n");
    w.close();
    w.wait_closed().await.unwrap();
    stop(server).await;
}

#[aloop::test]
async fn streams_stream_async_writer_api() {
    let messages = messages();
    let server = start_server(http_handler, "127.0.0.1", 0).await.unwrap();
    let port = port_of(&server);
    create_task(async move {
        let (r, w) = open_connection("127.0.0.1", port).await.unwrap();
        get_test_message(&r, &w, true).await;
        w.close();
        w.wait_closed().await.unwrap();
    })
    .await
    .unwrap();
    stop(server).await;
    messages.assert_eq(&[]);
}

/// Deliberate difference (mapping doc, streams): after `close()`, `write` itself fails
/// (`BrokenPipe`, "cannot call write() after close()"); asyncio's `write` drops the
/// bytes silently and the `drain` after it raises ConnectionResetError.
#[aloop::test]
async fn streams_stream_async_writer_api_exception_after_close() {
    let messages = messages();
    let server = start_server(http_handler, "127.0.0.1", 0).await.unwrap();
    let (r, w) = open_connection("127.0.0.1", port_of(&server))
        .await
        .unwrap();
    get_test_message(&r, &w, true).await;
    w.close();
    let err = w.write(b"data").unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{err}");
    stop(server).await;
    messages.assert_eq(&[]);
}

/// bpo-35065: closing our writer ends our reader: it is at EOF and reads nothing.
#[aloop::test]
async fn streams_stream_eof_feed_when_closing_writer() {
    let messages = messages();
    let server = start_server(http_handler, "127.0.0.1", 0).await.unwrap();
    let (r, w) = open_connection("127.0.0.1", port_of(&server))
        .await
        .unwrap();
    w.close();
    w.wait_closed().await.unwrap();
    assert!(r.at_eof());
    assert_eq!(r.read_to_eof().await.unwrap(), b"");
    stop(server).await;
    messages.assert_eq(&[]);
}

/// `_basetest_unhandled_exceptions`: a client sends a message to a server whose
/// callback is `handle`; returns what the exception handler got.
async fn unhandled<Fut>(handle: fn(StreamReader, StreamWriter) -> Fut) -> Vec<String>
where
    Fut: std::future::Future<Output = io::Result<()>> + 'static,
{
    let messages = messages();
    let server = start_server(handle, "127.0.0.1", 0).await.unwrap();
    let (_r, w) = open_connection("127.0.0.1", port_of(&server))
        .await
        .unwrap();
    w.write(b"test msg").unwrap();
    w.drain().await.unwrap();
    w.close();
    w.wait_closed().await.unwrap();
    stop(server).await;
    messages.events()
}

/// A callback's failure (asyncio: an exception it raises; here the `Err` it returns)
/// goes to the exception handler.
#[aloop::test]
async fn streams_stream_unhandled_exception() {
    async fn handle_echo(_r: StreamReader, _w: StreamWriter) -> io::Result<()> {
        Err(io::Error::other("test"))
    }
    let messages = unhandled(handle_echo).await;
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].contains("client_connected_cb failed") && messages[0].contains("test"),
        "{messages:?}"
    );
}

/// A callback that cancels itself is not reported.
#[aloop::test]
async fn streams_stream_unhandled_cancel() {
    async fn handle_echo(_r: StreamReader, _w: StreamWriter) -> io::Result<()> {
        current_task().unwrap().unwrap().cancel();
        tick().await;
        Ok(())
    }
    assert_eq!(unhandled(handle_echo).await, Vec::<String>::new());
}
