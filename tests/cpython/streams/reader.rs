//! `StreamTests` methods of CPython's test_streams.py on a hand-fed `StreamReader`.
//! Sibling: `connection.rs`; the index is `main.rs`.

use std::io;

use aloop::{create_task, get_running_loop, ReadError, StreamReader};
use aloop_tests::cpython::tick;

use super::DATA;

/// A reader holding `data`, with the default limit.
fn fed(data: &[u8]) -> StreamReader {
    let stream = StreamReader::new();
    stream.feed_data(data);
    stream
}

/// What is left in the buffer, read without waiting (asyncio's `stream._buffer`).
async fn rest(stream: &StreamReader) -> Vec<u8> {
    let n = stream.buffered();
    if n == 0 {
        return Vec::new();
    }
    stream.readexactly(n).await.unwrap()
}

/// Feeds `stream` from a callback, as CPython's tests do with `loop.call_soon(cb)`.
fn feed_soon(stream: &StreamReader, chunks: &[&'static [u8]], eof: bool) {
    let (stream, chunks) = (stream.clone(), chunks.to_vec());
    get_running_loop()
        .unwrap()
        .call_soon(move || {
            for chunk in chunks {
                stream.feed_data(chunk);
            }
            if eof {
                stream.feed_eof();
            }
        })
        .unwrap();
}

fn value_error() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "ValueError")
}

fn is_value_error(e: &io::Error) -> bool {
    e.to_string() == "ValueError"
}

#[aloop::test]
async fn streams_stream_feed_empty_data() {
    let stream = fed(b"");
    assert_eq!(stream.buffered(), 0);
}

#[aloop::test]
async fn streams_stream_feed_nonempty_data() {
    let stream = fed(DATA);
    assert_eq!(rest(&stream).await, DATA);
}

#[aloop::test]
async fn streams_stream_read_zero() {
    let stream = fed(DATA);
    assert_eq!(stream.read(0).await.unwrap(), b"");
    assert_eq!(rest(&stream).await, DATA);
}

#[aloop::test]
async fn streams_stream_read() {
    let stream = StreamReader::new();
    let read_task = create_task(stream.read(30));
    feed_soon(&stream, &[DATA], false);
    assert_eq!(read_task.await.unwrap().unwrap(), DATA);
    assert_eq!(stream.buffered(), 0);
}

#[aloop::test]
async fn streams_stream_read_line_breaks() {
    let stream = fed(b"line1");
    stream.feed_data(b"line2");
    assert_eq!(stream.read(5).await.unwrap(), b"line1");
    assert_eq!(rest(&stream).await, b"line2");
}

#[aloop::test]
async fn streams_stream_read_eof() {
    let stream = StreamReader::new();
    let read_task = create_task(stream.read(1024));
    feed_soon(&stream, &[], true);
    assert_eq!(read_task.await.unwrap().unwrap(), b"");
    assert_eq!(stream.buffered(), 0);
}

#[aloop::test]
async fn streams_stream_read_until_eof() {
    let stream = StreamReader::new();
    let read_task = create_task(stream.read_to_eof());
    feed_soon(&stream, &[b"chunk1\n", b"chunk2"], true);
    assert_eq!(read_task.await.unwrap().unwrap(), b"chunk1\nchunk2");
    assert_eq!(stream.buffered(), 0);
}

#[aloop::test]
async fn streams_stream_read_exception() {
    let stream = fed(b"line\n");
    assert_eq!(stream.read(2).await.unwrap(), b"li");
    stream.set_exception(value_error());
    assert!(is_value_error(&stream.read(2).await.unwrap_err()));
}

/// asyncio refuses a limit of 0 or less (ValueError); a `usize` cannot be negative, and
/// `with_limit(0)` panics, as a constructor given an impossible size does.
#[test]
fn streams_stream_invalid_limit() {
    let refused = std::panic::catch_unwind(|| StreamReader::with_limit(0)).is_err();
    assert!(refused, "a limit of 0 was accepted");
}

#[aloop::test]
async fn streams_stream_read_limit() {
    let stream = StreamReader::with_limit(3);
    stream.feed_data(b"chunk");
    assert_eq!(stream.read(5).await.unwrap(), b"chunk");
    assert_eq!(stream.buffered(), 0);
}

#[aloop::test]
async fn streams_stream_readline() {
    let stream = fed(b"chunk1 ");
    let read_task = create_task(stream.readline());
    feed_soon(&stream, &[b"chunk2 ", b"chunk3 ", b"\n chunk4"], false);
    assert_eq!(
        read_task.await.unwrap().unwrap(),
        b"chunk1 chunk2 chunk3 \n"
    );
    assert_eq!(rest(&stream).await, b" chunk4");
}

fn is_limit_overrun(r: &Result<Vec<u8>, ReadError>) -> bool {
    matches!(r, Err(ReadError::LimitOverrun(_)))
}

/// Deliberate difference (H8): a line past the limit is an error that leaves the buffer
/// as it was, so the caller decides what to skip; asyncio drops the over-long line (or
/// the whole buffer when no newline is in it).
#[aloop::test]
async fn streams_stream_readline_limit_with_existing_data() {
    let stream = StreamReader::with_limit(3);
    stream.feed_data(b"li");
    stream.feed_data(b"ne1\nline2\n");
    assert!(is_limit_overrun(&stream.readline().await));
    assert_eq!(rest(&stream).await, b"line1\nline2\n");

    let stream = StreamReader::with_limit(3);
    stream.feed_data(b"li");
    stream.feed_data(b"ne1");
    stream.feed_data(b"li");
    assert!(is_limit_overrun(&stream.readline().await));
    assert_eq!(rest(&stream).await, b"line1li");
}

#[aloop::test]
async fn streams_stream_at_eof() {
    let stream = StreamReader::new();
    assert!(!stream.at_eof());
    stream.feed_data(b"some data\n");
    assert!(!stream.at_eof());
    stream.readline().await.unwrap();
    assert!(!stream.at_eof());
    stream.feed_data(b"some data\n");
    stream.feed_eof();
    stream.readline().await.unwrap();
    assert!(stream.at_eof());
}

/// Deliberate difference (H8), as `test_readline_limit_with_existing_data`: the buffer
/// is kept where asyncio empties it or drops the line. The strictness of the limit
/// (a line of exactly `limit` bytes plus its newline passes) is the same.
#[aloop::test]
async fn streams_stream_readline_limit() {
    let stream = StreamReader::with_limit(7);
    feed_soon(&stream, &[b"chunk1", b"chunk2", b"chunk3\n"], true);
    assert!(is_limit_overrun(&stream.readline().await));
    assert_eq!(rest(&stream).await, b"chunk1chunk2chunk3\n");

    let stream = StreamReader::with_limit(7);
    feed_soon(&stream, &[b"chunk1", b"chunk2\n", b"chunk3\n"], true);
    assert!(is_limit_overrun(&stream.readline().await));
    assert_eq!(rest(&stream).await, b"chunk1chunk2\nchunk3\n");

    let stream = StreamReader::with_limit(7);
    stream.feed_data(b"1234567\n");
    assert_eq!(stream.readline().await.unwrap(), b"1234567\n");
    assert_eq!(stream.buffered(), 0);
    stream.feed_data(b"12345678\n");
    assert!(is_limit_overrun(&stream.readline().await));
    assert_eq!(rest(&stream).await, b"12345678\n");
    stream.feed_data(b"12345678");
    assert!(is_limit_overrun(&stream.readline().await));
    assert_eq!(rest(&stream).await, b"12345678");
}

#[aloop::test]
async fn streams_stream_readline_nolimit_nowait() {
    let stream = fed(&DATA[..6]);
    stream.feed_data(&DATA[6..]);
    assert_eq!(stream.readline().await.unwrap(), b"line1\n");
    assert_eq!(rest(&stream).await, b"line2\nline3\n");
}

#[aloop::test]
async fn streams_stream_readline_eof() {
    let stream = fed(b"some data");
    stream.feed_eof();
    assert_eq!(stream.readline().await.unwrap(), b"some data");
}

#[aloop::test]
async fn streams_stream_readline_empty_eof() {
    let stream = StreamReader::new();
    stream.feed_eof();
    assert_eq!(stream.readline().await.unwrap(), b"");
}

#[aloop::test]
async fn streams_stream_readline_read_byte_count() {
    let stream = fed(DATA);
    stream.readline().await.unwrap();
    assert_eq!(stream.read(7).await.unwrap(), b"line2\nl");
    assert_eq!(rest(&stream).await, b"ine3\n");
}

/// The error set on the reader wins over buffered data (H11).
#[aloop::test]
async fn streams_stream_readline_exception() {
    let stream = fed(b"line\n");
    assert_eq!(stream.readline().await.unwrap(), b"line\n");
    stream.set_exception(value_error());
    match stream.readline().await {
        Err(ReadError::Io(e)) => assert!(is_value_error(&e)),
        other => panic!("expected the error, got {other:?}"),
    }
    assert_eq!(stream.buffered(), 0);
}

#[aloop::test]
async fn streams_stream_readuntil_separator() {
    let stream = StreamReader::new();
    let err = stream.readuntil(b"").await.unwrap_err();
    assert!(matches!(err, ReadError::EmptySeparator));
    assert!(err.to_string().starts_with("Separator should be"));
}

#[aloop::test]
async fn streams_stream_readuntil_multi_chunks() {
    let stream = fed(b"lineAAA");
    assert_eq!(stream.readuntil(b"AAA").await.unwrap(), b"lineAAA");
    assert_eq!(stream.buffered(), 0);
    stream.feed_data(b"lineAAA");
    assert_eq!(stream.readuntil(b"AAA").await.unwrap(), b"lineAAA");
    assert_eq!(stream.buffered(), 0);
    stream.feed_data(b"lineAAAxxx");
    assert_eq!(stream.readuntil(b"AAA").await.unwrap(), b"lineAAA");
    assert_eq!(rest(&stream).await, b"xxx");
}

#[aloop::test]
async fn streams_stream_readuntil_multi_chunks_1() {
    let stream = StreamReader::new();
    let cases: [(&[&[u8]], &[u8]); 5] = [
        (&[b"QWEaa", b"XYaa", b"a"], b"QWEaaXYaaa"),
        (&[b"QWEaa", b"XYa", b"aa"], b"QWEaaXYaaa"),
        (&[b"aaa"], b"aaa"),
        (&[b"Xaaa"], b"Xaaa"),
        (&[b"XXX", b"a", b"a", b"a"], b"XXXaaa"),
    ];
    for (chunks, expected) in cases {
        for chunk in chunks {
            stream.feed_data(chunk);
        }
        assert_eq!(stream.readuntil(b"aaa").await.unwrap(), expected);
        assert_eq!(stream.buffered(), 0);
    }
}

#[aloop::test]
async fn streams_stream_readuntil_eof() {
    let data = b"some dataAA";
    let stream = fed(data);
    stream.feed_eof();
    match stream.readuntil(b"AAA").await {
        Err(ReadError::IncompleteRead(e)) => {
            assert_eq!(e.partial, data);
            assert_eq!(e.expected, None);
            assert!(e.to_string().contains("undefined expected bytes"));
        }
        other => panic!("expected IncompleteRead, got {other:?}"),
    }
    assert_eq!(stream.buffered(), 0);
}

#[aloop::test]
async fn streams_stream_readuntil_limit_found_sep() {
    let stream = StreamReader::with_limit(3);
    stream.feed_data(b"some dataAA");
    match stream.readuntil(b"AAA").await {
        Err(ReadError::LimitOverrun(e)) => assert!(e.to_string().contains("not found")),
        other => panic!("expected LimitOverrun, got {other:?}"),
    }
    assert_eq!(stream.buffered(), b"some dataAA".len());
    stream.feed_data(b"A");
    match stream.readuntil(b"AAA").await {
        Err(ReadError::LimitOverrun(e)) => assert!(e.to_string().contains("is found")),
        other => panic!("expected LimitOverrun, got {other:?}"),
    }
    assert_eq!(rest(&stream).await, b"some dataAAA");
}

/// `readexactly(0)` is empty; a negative count cannot be written (`usize`).
#[aloop::test]
async fn streams_stream_readexactly_zero_or_less() {
    let stream = fed(DATA);
    assert_eq!(stream.readexactly(0).await.unwrap(), b"");
    assert_eq!(rest(&stream).await, DATA);
}

#[aloop::test]
async fn streams_stream_readexactly() {
    let stream = StreamReader::new();
    let n = 2 * DATA.len();
    let read_task = create_task(stream.readexactly(n));
    feed_soon(&stream, &[DATA, DATA, DATA], false);
    assert_eq!(read_task.await.unwrap().unwrap(), [DATA, DATA].concat());
    assert_eq!(rest(&stream).await, DATA);
}

#[aloop::test]
async fn streams_stream_readexactly_limit() {
    let stream = StreamReader::with_limit(3);
    stream.feed_data(b"chunk");
    assert_eq!(stream.readexactly(5).await.unwrap(), b"chunk");
    assert_eq!(stream.buffered(), 0);
}

#[aloop::test]
async fn streams_stream_readexactly_eof() {
    let stream = StreamReader::new();
    let n = 2 * DATA.len();
    let read_task = create_task(stream.readexactly(n));
    feed_soon(&stream, &[DATA], true);
    match read_task.await.unwrap() {
        Err(ReadError::IncompleteRead(e)) => {
            assert_eq!(e.partial, DATA);
            assert_eq!(e.expected, Some(n));
            assert_eq!(
                e.to_string(),
                "18 bytes read on a total of 36 expected bytes"
            );
        }
        other => panic!("expected IncompleteRead, got {other:?}"),
    }
    assert_eq!(stream.buffered(), 0);
}

#[aloop::test]
async fn streams_stream_readexactly_exception() {
    let stream = fed(b"line\n");
    assert_eq!(stream.readexactly(2).await.unwrap(), b"li");
    stream.set_exception(value_error());
    assert!(matches!(stream.readexactly(2).await, Err(ReadError::Io(e)) if is_value_error(&e)));
}

#[aloop::test]
async fn streams_stream_exception() {
    let stream = StreamReader::new();
    assert!(stream.exception().is_none());
    stream.set_exception(value_error());
    assert!(is_value_error(&stream.exception().unwrap()));
}

#[aloop::test]
async fn streams_stream_exception_waiter() {
    let stream = StreamReader::new();
    let t1 = create_task(stream.readline());
    let s = stream.clone();
    let t2 = create_task(async move { s.set_exception(value_error()) });
    t2.await.unwrap();
    assert!(matches!(t1.await.unwrap(), Err(ReadError::Io(e)) if is_value_error(&e)));
}

/// A waiting `readline` is cancelled, then an error is set: nothing breaks, and the next
/// read gets the error (asyncio checks its private `_waiter` is cleared).
#[aloop::test]
async fn streams_stream_exception_cancel() {
    let stream = StreamReader::new();
    let t = create_task(stream.readline());
    tick().await;
    t.cancel();
    tick().await;
    stream.set_exception(io::Error::other("message"));
    tick().await;
    assert!(t.await.unwrap_err().is_cancelled());
    assert!(stream.readline().await.is_err());
}

/// repr() text is Python's; the `Debug` form carries the same facts (buffered bytes,
/// end of stream, limit, error).
#[aloop::test]
async fn streams_stream_repr() {
    let debug = format!("{:?}", StreamReader::new());
    assert!(
        debug.starts_with("StreamReader") && debug.contains("buffered: 0"),
        "{debug}"
    );
}

#[aloop::test]
async fn streams_stream_repr_nondefault_limit() {
    assert!(format!("{:?}", StreamReader::with_limit(123)).contains("limit: 123"));
}

#[aloop::test]
async fn streams_stream_repr_eof() {
    let stream = StreamReader::new();
    stream.feed_eof();
    assert!(format!("{stream:?}").contains("eof: true"));
}

#[aloop::test]
async fn streams_stream_repr_data() {
    assert!(format!("{:?}", fed(b"data")).contains("buffered: 4"));
}

#[aloop::test]
async fn streams_stream_repr_exception() {
    let stream = StreamReader::new();
    stream.set_exception(io::Error::other("RuntimeError"));
    let debug = format!("{stream:?}");
    assert!(debug.contains("RuntimeError"), "{debug}");
}
