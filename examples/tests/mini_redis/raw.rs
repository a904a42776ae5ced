//! mini_redis over raw sockets (part of `tests/mini_redis.rs`): what no redis client
//! sends or shows. Pipelining (many commands in one write, every reply in order),
//! inline commands, the exact bytes of the protocol errors and the close after them,
//! the query buffer's bound, subscribed mode, and a subscriber that stops reading.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::Server;

/// A request as clients encode it.
fn request(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Sends `bytes` from another thread (the replies may fill the socket's buffers
/// while this one has not finished writing), ignoring a reset once the server
/// closed.
fn send_all(conn: &TcpStream, bytes: Vec<u8>) -> std::thread::JoinHandle<()> {
    let mut conn = conn.try_clone().unwrap();
    std::thread::spawn(move || {
        let _ = conn.write_all(&bytes);
    })
}

fn read_exactly(conn: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut got = vec![0; n];
    conn.read_exact(&mut got).unwrap();
    got
}

/// What the server sends before it closes the connection.
fn until_closed(conn: &mut TcpStream) -> String {
    let mut got = Vec::new();
    conn.read_to_end(&mut got).unwrap();
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn pipelined_commands_in_one_write_are_all_answered_in_order() {
    let server = Server::start(&[]);
    let mut conn = server.connect();
    let (mut requests, mut want) = (Vec::new(), Vec::new());
    for i in 0..2000 {
        let (key, value) = (format!("key:{i}"), format!("value-{i}"));
        requests.extend(request(&[b"SET", key.as_bytes(), value.as_bytes()]));
        want.extend_from_slice(b"+OK\r\n");
        requests.extend(request(&[b"GET", key.as_bytes()]));
        want.extend(format!("${}\r\n{value}\r\n", value.len()).into_bytes());
        requests.extend(request(&[b"INCR", b"counter"]));
        want.extend(format!(":{}\r\n", i + 1).into_bytes());
        if i % 100 == 0 {
            requests.extend_from_slice(b"PING\r\n");
            want.extend_from_slice(b"+PONG\r\n");
        }
    }
    let writer = send_all(&conn, requests);
    let got = read_exactly(&mut conn, want.len());
    writer.join().unwrap();
    assert!(got == want, "the replies differ from the expected ones");
    // Nothing more was sent: the next reply is the next command's.
    conn.write_all(b"PING\r\n").unwrap();
    assert_eq!(read_exactly(&mut conn, 7), b"+PONG\r\n");
}

#[test]
fn inline_commands_as_typed_into_telnet() {
    let server = Server::start(&[]);
    let mut conn = server.connect();
    conn.write_all(
        b"PING\r\n  PING  \r\n\r\nSET k \"a b\"\r\nGET k\nECHO 'it\\'s'\r\nGET nokey\r\nINCR n\r\n",
    )
    .unwrap();
    let want = b"+PONG\r\n+PONG\r\n+OK\r\n$3\r\na b\r\n$4\r\nit's\r\n$-1\r\n:1\r\n";
    assert_eq!(
        String::from_utf8_lossy(&read_exactly(&mut conn, want.len())),
        String::from_utf8_lossy(want)
    );
}

#[test]
fn malformed_requests_get_redis_errors_and_the_connection_closes() {
    let server = Server::start(&[]);
    let no_newline = vec![b'a'; 64 * 1024 + 1];
    let cases: [(&[u8], &str); 6] = [
        (
            b"*1\r\n$4\r\nPING\r\n*x\r\n",
            "+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n",
        ),
        (
            b"*1\r\n%4\r\nPING\r\n",
            "-ERR Protocol error: expected '$', got '%'\r\n",
        ),
        (
            b"*1\r\n$-5\r\n",
            "-ERR Protocol error: invalid bulk length\r\n",
        ),
        (
            b"ECHO \"abc\r\n",
            "-ERR Protocol error: unbalanced quotes in request\r\n",
        ),
        (
            b"*1\r\n$4\r\nPINGXX\r\n",
            "-ERR Protocol error: expected '\\r\\n' after a bulk string\r\n",
        ),
        (
            &no_newline,
            "-ERR Protocol error: too big inline request\r\n",
        ),
    ];
    for (bytes, want) in cases {
        let mut conn = server.connect();
        let writer = send_all(&conn, bytes.to_vec());
        assert_eq!(until_closed(&mut conn), want);
        writer.join().unwrap();
    }
}

const LIMIT_ERROR: &str = "-ERR Protocol error: request larger than the query buffer limit of 65536 bytes (--max-query-buffer)\r\n";

#[test]
fn the_query_buffer_is_bounded() {
    let server = Server::start(&["--max-query-buffer", "65536"]);

    // A bulk string announced larger than the bound is refused at once.
    let mut conn = server.connect();
    conn.write_all(b"*2\r\n$4\r\nECHO\r\n$100000\r\n").unwrap();
    assert_eq!(until_closed(&mut conn), LIMIT_ERROR);

    // A request of many small arguments that fills the whole buffer unfinished.
    let mut conn = server.connect();
    let mut bytes = b"*10000\r\n".to_vec();
    while bytes.len() < 65536 {
        bytes.extend_from_slice(b"$14\r\nargument-12345\r\n");
    }
    bytes.truncate(65536);
    let writer = send_all(&conn, bytes);
    assert_eq!(until_closed(&mut conn), LIMIT_ERROR);
    writer.join().unwrap();

    // A request within the bound is served.
    let mut conn = server.connect();
    let value = vec![b'v'; 60_000];
    let writer = send_all(&conn, request(&[b"SET", b"big", &value]));
    assert_eq!(read_exactly(&mut conn, 5), b"+OK\r\n");
    writer.join().unwrap();
    conn.write_all(&request(&[b"STRLEN-IS-NOT-HERE-SO-GET", b"big"]))
        .unwrap();
    conn.write_all(&request(&[b"GET", b"big"])).unwrap();
    let unknown =
        "-ERR unknown command 'STRLEN-IS-NOT-HERE-SO-GET', with args beginning with: 'big' \r\n";
    assert_eq!(read_exactly(&mut conn, unknown.len()), unknown.as_bytes());
    let header = b"$60000\r\n";
    assert_eq!(read_exactly(&mut conn, header.len()), header);
    assert_eq!(read_exactly(&mut conn, 60_002)[..60_000], value[..]);
}

#[test]
fn subscribed_mode_allows_only_the_pubsub_commands() {
    let server = Server::start(&[]);
    let mut conn = server.connect();
    conn.write_all(
        b"SUBSCRIBE a\r\nPING\r\nPING x\r\nGET a\r\nUNSUBSCRIBE\r\nUNSUBSCRIBE\r\nPING\r\n",
    )
    .unwrap();
    let want = "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n\
                *2\r\n$4\r\npong\r\n$0\r\n\r\n\
                *2\r\n$4\r\npong\r\n$1\r\nx\r\n\
                -ERR Can't execute 'get': only (P)SUBSCRIBE / (P)UNSUBSCRIBE / PING / QUIT are allowed in this context\r\n\
                *3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n\
                *3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n\
                +PONG\r\n";
    assert_eq!(
        String::from_utf8_lossy(&read_exactly(&mut conn, want.len())),
        want
    );
}

#[test]
fn a_subscriber_that_stops_reading_is_disconnected_not_buffered_forever() {
    let server = Server::start(&[]);
    let mut subscriber = server.connect();
    subscriber.write_all(b"SUBSCRIBE firehose\r\n").unwrap();
    let confirm = b"*3\r\n$9\r\nsubscribe\r\n$8\r\nfirehose\r\n:1\r\n";
    assert_eq!(read_exactly(&mut subscriber, confirm.len()), confirm);
    // From now on the subscriber reads nothing: the socket's buffers fill, then its
    // outbox, until the 32 MiB limit disconnects it and PUBLISH reaches nobody.
    let mut publisher = server.connect();
    let message = vec![b'm'; 1 << 20];
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut published = 0;
    loop {
        publisher
            .write_all(&request(&[b"PUBLISH", b"firehose", &message]))
            .unwrap();
        let reply = read_exactly(&mut publisher, 4);
        published += 1;
        if reply == b":0\r\n" {
            break;
        }
        assert_eq!(reply, b":1\r\n");
        assert!(
            Instant::now() < deadline,
            "still subscribed after {published} MiB"
        );
    }
    assert!(published > 32, "disconnected after only {published} MiB");
}
