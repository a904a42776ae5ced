//! Fuzz target: the http_server example's request-head parser and chunked-body decoder
//! (`examples/http_server/request.rs` and `chunked.rs`, pure functions over bytes),
//! included by path.
//!
//! Properties, on a byte stream libFuzzer builds (raw bytes in which a run of one byte
//! takes three, so long lines are cheap; the format is in `common/stream_input.rs`):
//! - neither ever panics;
//! - `Complete(_, used)`: `used <= len`, and parsing `input[..used]` gives the same;
//! - prefixes: at cut points the input picks, once a prefix gives a result (a head, a
//!   body or an error) every longer prefix gives the same one, and before that each
//!   is `Incomplete`;
//! - the server's framing: `connection.rs` takes a head with `readuntil(b"\r\n\r\n")`
//!   and parses that; when the parse is complete it must have used all of it (a
//!   shorter head would leave bytes that belong to neither the head nor the body), and
//!   the head must be the same as the parse of the whole stream;
//! - a chunked body after a complete head decodes the same way alone.
//!
//! Neighbours: the other targets in this directory.
#![no_main]

#[allow(dead_code)] // RequestError::status is for the server's answers.
#[path = "../../examples/http_server/request.rs"]
mod request;

#[path = "../../examples/http_server/chunked.rs"]
mod chunked;

#[path = "../common/stream_input.rs"]
mod stream_input;

use libfuzzer_sys::fuzz_target;
use stream_input::StreamInput;

use chunked::decode_chunked;
use request::{parse_head, BodyFraming, Parsed, RequestError};

/// A head parse with owned fields, comparable across inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Head {
    Complete {
        method: String,
        path: String,
        minor_version: u8,
        body: BodyFraming,
        keep_alive: bool,
        expect_continue: bool,
        used: usize,
    },
    Incomplete,
    Error(RequestError),
}

fn head(input: &[u8], max_body: u64) -> Head {
    match parse_head(input, max_body) {
        Ok(Parsed::Complete(h, used)) => {
            assert!(used <= input.len());
            Head::Complete {
                method: h.method.to_owned(),
                path: h.path.to_owned(),
                minor_version: h.minor_version,
                body: h.body,
                keep_alive: h.keep_alive,
                expect_continue: h.expect_continue,
                used,
            }
        }
        Ok(Parsed::Incomplete) => Head::Incomplete,
        Err(e) => Head::Error(e),
    }
}

type Body = Result<Parsed<Vec<u8>>, RequestError>;

fn body(input: &[u8], max_body: u64) -> Body {
    let out = decode_chunked(input, max_body);
    if let Ok(Parsed::Complete(b, used)) = &out {
        assert!(*used <= input.len());
        assert!(b.len() as u64 <= max_body, "a body past the limit");
        assert_eq!(decode_chunked(&input[..*used], max_body), out);
    }
    out
}

/// Longer prefixes keep a result once there is one; `Incomplete` before.
fn check_prefixes<T: PartialEq + std::fmt::Debug>(
    stream: &[u8],
    cuts: &[usize],
    parse: impl Fn(&[u8]) -> T,
    incomplete: impl Fn(&T) -> bool,
) {
    let mut done: Option<(usize, T)> = None;
    for &end in cuts.iter().chain([&stream.len()]) {
        let now = parse(&stream[..end]);
        match &done {
            Some((at, before)) => assert_eq!(&now, before, "prefixes {at} and {end} differ"),
            None if incomplete(&now) => {}
            None => done = Some((end, now)),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let input = StreamInput::decode(data);
    let (stream, cuts) = (&input.stream[..], &input.cuts[..]);
    // Body limits from 0 to 64 KiB, small ones most often.
    let max_body = u64::from(input.param).pow(2);

    // The head.
    let whole = head(stream, max_body);
    if let Head::Complete { used, .. } = whole {
        assert_eq!(head(&stream[..used], max_body), whole);
    }
    check_prefixes(
        stream,
        cuts,
        |p| head(p, max_body),
        |h| *h == Head::Incomplete,
    );

    // The head as the server frames it: up to the first blank line.
    if let Some(i) = stream.windows(4).position(|w| w == b"\r\n\r\n") {
        let framed = &stream[..i + 4];
        if let Head::Complete { used, .. } = head(framed, max_body) {
            assert_eq!(
                used,
                framed.len(),
                "the head parse ends before the blank line"
            );
            assert_eq!(head(framed, max_body), whole);
        }
    }

    // A chunked body, alone and after a complete head.
    let _ = body(stream, max_body);
    check_prefixes(
        stream,
        cuts,
        |p| body(p, max_body),
        |b| *b == Ok(Parsed::Incomplete),
    );
    if let Head::Complete {
        body: BodyFraming::Chunked,
        used,
        ..
    } = whole
    {
        let rest = &stream[used..];
        let rest_cuts: Vec<usize> = cuts
            .iter()
            .filter(|&&c| c >= used)
            .map(|c| c - used)
            .collect();
        let _ = body(rest, max_body);
        check_prefixes(
            rest,
            &rest_cuts,
            |p| body(p, max_body),
            |b| *b == Ok(Parsed::Incomplete),
        );
    }
});
