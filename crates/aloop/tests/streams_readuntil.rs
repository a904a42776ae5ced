//! `readuntil`'s separator search, and its appending twins `readuntil_into` and
//! `readline_into`: each is compared with a naive reference over every split of the
//! input into two and three chunks and many random splits (fed by hand and polled
//! once per chunk, so the search must resume across chunks), then the limit rules, then
//! the line reads' inlined first look against the general search (the limit, a stored
//! error, a line completed later). The reads into a caller's slice are in
//! streams_read_into.rs.

use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context, Poll};

use aloop::{ReadError, StreamReader};
use futures_util::task::noop_waker_ref;

/// One poll with a waker that does nothing (a hand-fed reader needs no loop).
fn poll_once<F: Future + ?Sized>(fut: Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(noop_waker_ref()))
}

// ---- readuntil against a reference, over every chunking ------------------------------

/// What `readuntil(sep)` calls return, in order, until the first error.
#[derive(Debug, PartialEq)]
enum Got {
    Chunk(Vec<u8>),
    Incomplete(Vec<u8>),
}

/// The naive reference: the stream split after each first occurrence of `sep`.
fn reference(stream: &[u8], sep: &[u8]) -> Vec<Got> {
    let mut out = Vec::new();
    let mut rest = stream;
    loop {
        match rest.windows(sep.len()).position(|w| w == sep) {
            Some(i) => {
                out.push(Got::Chunk(rest[..i + sep.len()].to_vec()));
                rest = &rest[i + sep.len()..];
            }
            None => {
                out.push(Got::Incomplete(rest.to_vec()));
                return out;
            }
        }
    }
}

type ReadUntil = Pin<Box<dyn Future<Output = Result<Vec<u8>, ReadError>>>>;

/// Feeds `chunks` one at a time, polling a pending `readuntil` after each (so the
/// search resumes across chunks), then EOF.
fn chunked(chunks: &[&[u8]], sep: &[u8]) -> Vec<Got> {
    let r = StreamReader::new();
    let mut out = Vec::new();
    let mut fut: ReadUntil = Box::pin(r.readuntil(sep));
    let drain = |fut: &mut ReadUntil, out: &mut Vec<Got>| -> bool {
        loop {
            match poll_once(fut.as_mut()) {
                Poll::Pending => return false,
                Poll::Ready(Ok(chunk)) => {
                    out.push(Got::Chunk(chunk));
                    *fut = Box::pin(r.readuntil(sep));
                }
                Poll::Ready(Err(ReadError::IncompleteRead(e))) => {
                    out.push(Got::Incomplete(e.partial));
                    return true;
                }
                Poll::Ready(Err(e)) => panic!("unexpected {e:?}"),
            }
        }
    };
    for chunk in chunks {
        r.feed_data(chunk);
        assert!(!drain(&mut fut, &mut out), "ended before EOF");
    }
    r.feed_eof();
    assert!(drain(&mut fut, &mut out), "no end at EOF");
    out
}

/// `chunked` through `readuntil_into`, into a `Vec` that already holds bytes (which
/// must stay): each read appends its chunk and says how long it is; at EOF the rest is
/// in the error and the `Vec` is untouched. The next chunk is fed only while a read is
/// pending, so one future resumes its search across chunks.
fn chunked_into(chunks: &[&[u8]], sep: &[u8]) -> Vec<Got> {
    let r = StreamReader::new();
    let (mut out, mut buf) = (Vec::new(), b"kept".to_vec());
    let (mut chunks, mut eof_fed) = (chunks.iter(), false);
    loop {
        let before = buf.len();
        let got = {
            let mut fut = pin!(r.readuntil_into(sep, &mut buf));
            loop {
                if let Poll::Ready(got) = poll_once(fut.as_mut()) {
                    break got;
                }
                match chunks.next() {
                    Some(chunk) => r.feed_data(chunk),
                    None if !eof_fed => {
                        r.feed_eof();
                        eof_fed = true;
                    }
                    None => panic!("pending after EOF"),
                }
            }
        };
        assert!(buf.starts_with(b"kept"), "appends, never clears");
        match got {
            Ok(n) => {
                assert_eq!(buf.len(), before + n, "returns how many it appended");
                out.push(Got::Chunk(buf[before..].to_vec()));
            }
            Err(ReadError::IncompleteRead(e)) => {
                assert!(eof_fed, "ended before EOF");
                assert_eq!(buf.len(), before, "an error appends nothing");
                out.push(Got::Incomplete(e.partial));
                return out;
            }
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
}

/// Both ways of reading `chunks` must give the reference's answer.
fn check(chunks: &[&[u8]], sep: &[u8], want: &[Got], what: &str) {
    assert_eq!(chunked(chunks, sep), want, "readuntil: {what}, sep {sep:?}");
    assert_eq!(
        chunked_into(chunks, sep),
        want,
        "readuntil_into: {what}, sep {sep:?}"
    );
}

const CASES: &[(&[u8], &[u8])] = &[
    (b"a\nbb\n\nccc\nd", b"\n"),
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody\r\n", b"\r\n"),
    (
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\nbody\r\n\r\n",
        b"\r\n\r\n",
    ),
    (b"xabcabcabdabcabdyabcabd", b"abcabd"),
    (b"aaaaaaaaaaa", b"aa"),
    (b"aaaaaaaaaa", b"aaa"),
    (b"no separator in here at all", b"--"),
    (b"--", b"--"),
    (b"", b"\n"),
];

#[test]
fn readuntil_matches_the_reference_for_every_split_into_two_and_three_chunks() {
    for &(stream, sep) in CASES {
        let want = reference(stream, sep);
        check(&[stream], sep, &want, "one chunk");
        let n = stream.len();
        for i in 0..=n {
            check(
                &[&stream[..i], &stream[i..]],
                sep,
                &want,
                &format!("split at {i} of {stream:?}"),
            );
            for j in i..=n {
                let chunks = [&stream[..i], &stream[i..j], &stream[j..]];
                check(
                    &chunks,
                    sep,
                    &want,
                    &format!("split at {i},{j} of {stream:?}"),
                );
            }
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        check(&bytes, sep, &want, &format!("bytewise {stream:?}"));
    }
}

#[test]
fn readuntil_matches_the_reference_for_random_chunkings_of_random_streams() {
    // xorshift: deterministic, no extra dependency.
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..400 {
        // A small alphabet so separators (and near-misses) are frequent.
        let len = (next() % 300) as usize;
        let stream: Vec<u8> = (0..len).map(|_| b"ab\r\n"[(next() % 4) as usize]).collect();
        let sep: &[u8] = [&b"\n"[..], b"\r\n", b"\r\n\r\n", b"abab", b"ba\r"][round % 5];
        let mut chunks = Vec::new();
        let mut rest = &stream[..];
        while !rest.is_empty() {
            let k = 1 + (next() % 40) as usize;
            let (c, r) = rest.split_at(k.min(rest.len()));
            chunks.push(c);
            rest = r;
        }
        let what = format!("round {round}: {stream:?} in {} chunks", chunks.len());
        check(&chunks, sep, &reference(&stream, sep), &what);
    }
}

#[test]
fn lines_across_chunks_match_the_reference() {
    use futures_util::StreamExt;
    let stream = b"one\ntwo\n\nthree\nfour";
    for i in 0..=stream.len() {
        let r = StreamReader::new();
        let mut lines = r.lines();
        let mut got = Vec::new();
        r.feed_data(&stream[..i]);
        while let Poll::Ready(Some(line)) = poll_once(Pin::new(&mut lines.next())) {
            got.push(line.unwrap());
        }
        r.feed_data(&stream[i..]);
        r.feed_eof();
        while let Poll::Ready(Some(line)) = poll_once(Pin::new(&mut lines.next())) {
            got.push(line.unwrap());
        }
        assert_eq!(
            got,
            [&b"one\n"[..], b"two\n", b"\n", b"three\n", b"four"],
            "split {i}"
        );
    }
}

#[test]
fn readline_into_across_chunks_appends_each_line_then_the_partial_last_then_zero() {
    let stream = b"one\ntwo\n\nthree\nfour";
    for i in 0..=stream.len() {
        let r = StreamReader::new();
        let (mut buf, mut counts) = (Vec::new(), Vec::new());
        r.feed_data(&stream[..i]);
        let mut fed_rest = false;
        loop {
            let got = {
                let mut fut = pin!(r.readline_into(&mut buf));
                loop {
                    match poll_once(fut.as_mut()) {
                        Poll::Ready(got) => break got,
                        Poll::Pending => {
                            assert!(!fed_rest, "pending after EOF (split {i})");
                            r.feed_data(&stream[i..]);
                            r.feed_eof();
                            fed_rest = true;
                        }
                    }
                }
            };
            let n = got.unwrap();
            counts.push(n);
            if n == 0 {
                break;
            }
        }
        assert_eq!(counts, [4, 4, 1, 6, 4, 0], "split {i}");
        assert_eq!(buf, stream, "split {i}: every line appended in order");
    }
}

#[test]
fn readuntil_into_dropped_unfinished_takes_nothing() {
    let r = StreamReader::new();
    let mut buf = Vec::new();
    r.feed_data(b"no separator yet");
    assert!(poll_once(pin!(r.readuntil_into(b"\r\n", &mut buf))).is_pending());
    assert!(buf.is_empty());
    assert_eq!(r.buffered(), 16, "the dropped read took nothing");
    r.feed_data(b"\r\n");
    let got = poll_once(pin!(r.readuntil(b"\r\n")));
    assert!(matches!(got, Poll::Ready(Ok(ref v)) if v == b"no separator yet\r\n"));
}

#[test]
fn readuntil_pending_while_another_read_consumes_still_finds_the_separator() {
    let r = StreamReader::new();
    r.feed_data(b"abcdef");
    let mut fut = pin!(r.readuntil(b"\n"));
    assert!(poll_once(fut.as_mut()).is_pending(), "searched 6 bytes");
    // Someone else takes bytes the search already looked at.
    let taken = poll_once(pin!(r.read(3)));
    assert!(matches!(taken, Poll::Ready(Ok(ref v)) if v == b"abc"));
    r.feed_data(b"gh\nij");
    match poll_once(fut.as_mut()) {
        Poll::Ready(Ok(line)) => assert_eq!(line, b"defgh\n"),
        other => panic!("expected the line, got {other:?}"),
    }
}

#[test]
fn readuntil_futures_keep_their_own_separator_when_another_call_changes_it() {
    let r = StreamReader::new();
    let mut a = pin!(r.readuntil(b"XY"));
    let mut b = pin!(r.readuntil(b"ZW"));
    r.feed_data(b"11ZW22XY");
    assert!(matches!(poll_once(a.as_mut()), Poll::Ready(Ok(ref v)) if v == b"11ZW22XY"));
    r.feed_data(b"33ZW");
    assert!(matches!(poll_once(b.as_mut()), Poll::Ready(Ok(ref v)) if v == b"33ZW"));
    let mut c = pin!(r.readuntil(b"XY"));
    r.feed_data(b"XY");
    assert!(matches!(poll_once(c.as_mut()), Poll::Ready(Ok(ref v)) if v == b"XY"));
}

// ---- the limit -----------------------------------------------------------------------

#[test]
fn readuntil_limit_found_beyond_the_limit_keeps_the_buffer() {
    aloop::run(async {
        let r = StreamReader::with_limit(5);
        r.feed_data(b"0123456789\r\nrest");
        match r.readuntil(b"\r\n").await {
            Err(ReadError::LimitOverrun(e)) => {
                assert_eq!(e.consumed, 10);
                assert_eq!(
                    e.to_string(),
                    "Separator is found, but chunk is longer than limit"
                );
            }
            other => panic!("expected LimitOverrun, got {other:?}"),
        }
        assert_eq!(r.buffered(), 16);
        // A chunk exactly at the limit is fine.
        let r = StreamReader::with_limit(5);
        r.feed_data(b"01234\r\n");
        assert_eq!(r.readuntil(b"\r\n").await.unwrap(), b"01234\r\n");
    });
}

#[test]
fn readuntil_limit_not_found_across_chunks_reports_what_was_searched() {
    let r = StreamReader::with_limit(10);
    let mut fut = pin!(r.readuntil(b"\r\n"));
    r.feed_data(b"01234567");
    assert!(
        poll_once(fut.as_mut()).is_pending(),
        "8 bytes: under the limit"
    );
    r.feed_data(b"89abc");
    match poll_once(fut.as_mut()) {
        // asyncio: offset = buflen + 1 - seplen = 13 + 1 - 2.
        Poll::Ready(Err(ReadError::LimitOverrun(e))) => {
            assert_eq!(e.consumed, 12);
            assert_eq!(
                e.to_string(),
                "Separator is not found, and chunk exceed the limit"
            );
        }
        other => panic!("expected LimitOverrun, got {other:?}"),
    }
    assert_eq!(r.buffered(), 13, "nothing removed");
}

#[test]
fn readuntil_into_and_readline_into_over_the_limit_leave_both_buffers_as_they_were() {
    aloop::run(async {
        let r = StreamReader::with_limit(5);
        r.feed_data(b"0123456789\r\nrest");
        let mut buf = b"kept".to_vec();
        match r.readuntil_into(b"\r\n", &mut buf).await {
            Err(ReadError::LimitOverrun(e)) => assert_eq!(e.consumed, 10),
            other => panic!("expected LimitOverrun, got {other:?}"),
        }
        match r.readline_into(&mut buf).await {
            Err(ReadError::LimitOverrun(e)) => assert_eq!(e.consumed, 11),
            other => panic!("expected LimitOverrun, got {other:?}"),
        }
        assert_eq!(buf, b"kept");
        assert_eq!(r.buffered(), 16, "nothing removed");
        assert!(matches!(
            r.readuntil_into(b"", &mut buf).await,
            Err(ReadError::EmptySeparator)
        ));
    });
}

// ---- the line reads' first look (a line already buffered is taken inline) ----------

/// A line read answers the same whether its line was buffered before the first poll
/// (taken by the inlined first look) or arrived after a poll that waited (the general
/// search): right at the limit it is returned, one byte past it is `LimitOverrun`
/// with nothing removed.
#[test]
fn line_reads_agree_on_the_limit_whether_the_line_was_buffered_first_or_not() {
    for line in [&b"01234\n"[..], b"012345\n"] {
        for buffered_first in [true, false] {
            let r = StreamReader::with_limit(5);
            if buffered_first {
                r.feed_data(line);
            }
            let mut got = Vec::new();
            let case = format!("{line:?}, buffered first: {buffered_first}");
            {
                let mut into = pin!(r.readline_into(&mut got));
                if !buffered_first {
                    assert!(poll_once(into.as_mut()).is_pending());
                    r.feed_data(line);
                }
                match (line.len(), poll_once(into.as_mut())) {
                    (6, Poll::Ready(Ok(6))) => {}
                    (7, Poll::Ready(Err(ReadError::LimitOverrun(e)))) => {
                        assert_eq!(e.consumed, 6, "{case}");
                        assert_eq!(r.buffered(), 7, "{case}: nothing removed");
                    }
                    (_, other) => panic!("{case}: readline_into gave {other:?}"),
                }
            }
            assert_eq!(got, if line.len() == 6 { line } else { b"" }, "{case}");

            let r = StreamReader::with_limit(5);
            if buffered_first {
                r.feed_data(line);
            }
            let mut plain = pin!(r.readline());
            if !buffered_first {
                assert!(poll_once(plain.as_mut()).is_pending());
                r.feed_data(line);
            }
            match (line.len(), poll_once(plain.as_mut())) {
                (6, Poll::Ready(Ok(l))) => assert_eq!(l, line, "{case}"),
                (7, Poll::Ready(Err(ReadError::LimitOverrun(e)))) => {
                    assert_eq!(e.consumed, 6, "{case}");
                    assert_eq!(r.buffered(), 7, "{case}: nothing removed");
                }
                (_, other) => panic!("{case}: readline gave {other:?}"),
            }
        }
    }
}

/// The error set on a reader wins over an answer already buffered, for the reads that
/// take a buffered answer inline (asyncio checks `_exception` before the buffer), and
/// the buffered bytes stay where they are.
#[test]
fn a_set_exception_wins_over_a_whole_line_or_field_already_buffered() {
    aloop::run(async {
        let r = StreamReader::new();
        r.feed_data(b"line\nmore\n");
        r.set_exception(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "boom",
        ));
        let reset = |e: ReadError| matches!(e, ReadError::Io(e) if e.kind() == std::io::ErrorKind::ConnectionReset);
        assert!(reset(r.readline().await.unwrap_err()));
        let mut buf = Vec::new();
        assert!(reset(r.readline_into(&mut buf).await.unwrap_err()));
        assert!(reset(r.readexactly(3).await.unwrap_err()));
        assert!(reset(r.readexactly_into(&mut [0; 3]).await.unwrap_err()));
        assert!(buf.is_empty());
        assert_eq!(r.buffered(), 10);
    });
}

/// A line that arrives in pieces after a first poll found part of it: the later poll
/// (no longer a first look) still returns the whole line, and the next line read,
/// a fresh one, takes the next buffered line.
#[test]
fn a_line_completed_after_a_partial_first_look_is_returned_whole() {
    let r = StreamReader::new();
    r.feed_data(b"par");
    let mut first = pin!(r.readline());
    assert!(poll_once(first.as_mut()).is_pending());
    r.feed_data(b"tial\nnext\n");
    assert!(matches!(poll_once(first.as_mut()), Poll::Ready(Ok(l)) if l == b"partial\n"));
    let mut buf = Vec::new();
    assert!(matches!(
        poll_once(pin!(r.readline_into(&mut buf))),
        Poll::Ready(Ok(5))
    ));
    assert_eq!(buf, b"next\n");
    assert_eq!(r.buffered(), 0);
}
