//! Fuzz target: the mini_redis example's RESP request parser
//! (`examples/mini_redis/resp.rs`, a pure function bytes -> Complete / Incomplete /
//! Error), included by path with the two sibling modules it uses (`inline.rs`,
//! `int.rs`).
//!
//! Properties, on a request stream libFuzzer builds (raw bytes in which a run of one
//! byte takes three, so a 64 KiB inline line or bulk header is cheap; the format is in
//! `common/stream_input.rs`):
//! - it never panics;
//! - `Complete(_, used)`: `0 < used <= len`, and parsing `input[..used]` gives the same;
//!   `Incomplete { needed }`: `needed > len`;
//! - prefixes: at cut points the input picks, a prefix whose parse is
//!   `Incomplete { needed }` is followed by no whole request in any longer prefix
//!   shorter than `needed` (needed is a lower bound), and once a prefix gives a
//!   result, every longer prefix gives the same result;
//! - chunking: the stream cut into chunks and parsed as the server does
//!   (`querybuf.rs`: append a chunk, skip parsing until `needed` bytes are there, take
//!   every whole request) gives the same commands, and the same error or unparsed
//!   rest, as the whole stream at once (except an error that the skipping has not
//!   looked at yet: see `same_session`).
//!
//! Neighbours: the other targets in this directory.
#![no_main]

#[allow(dead_code)] // write_i64 is for replies; the parser uses parse_i64 only.
#[path = "../../examples/mini_redis/int.rs"]
mod int;

#[path = "../../examples/mini_redis/inline.rs"]
mod inline;

#[path = "../../examples/mini_redis/resp.rs"]
mod resp;

#[path = "../common/stream_input.rs"]
mod stream_input;

use libfuzzer_sys::fuzz_target;

use resp::{parse, Parsed, ProtocolError};
use stream_input::StreamInput;

/// A parse result with owned arguments, comparable across inputs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Complete(Vec<Vec<u8>>, usize),
    Incomplete(usize),
    Error(ProtocolError),
}

fn outcome(input: &[u8]) -> Outcome {
    match parse(input) {
        Parsed::Complete(cmd, used) => {
            assert!(used > 0, "a complete request took no bytes");
            assert!(used <= input.len(), "used {used} of {}", input.len());
            Outcome::Complete(cmd.args.iter().map(|a| a.to_vec()).collect(), used)
        }
        Parsed::Incomplete { needed } => {
            assert!(needed > input.len(), "needed {needed} of {}", input.len());
            Outcome::Incomplete(needed)
        }
        Parsed::Error(e) => Outcome::Error(e),
    }
}

/// What a stream parses into: its commands, then an error or the unparsed rest.
#[derive(Debug)]
struct Session {
    commands: Vec<Vec<Vec<u8>>>,
    error: Option<ProtocolError>,
    rest: Vec<u8>,
    /// What parsing waited for when the stream ended.
    needed: usize,
}

/// A chunked session against the whole stream's: the same commands, and the same
/// error or unparsed rest. One difference is allowed, by `needed`'s design: an error
/// in an argument that came before the `needed` bytes of its request is not looked
/// for yet, so the chunked session may still be waiting where the whole one failed;
/// its rest must then be short of `needed` and fail the same way once parsed.
fn same_session(chunked: &Session, whole: &Session, how: &str) {
    assert_eq!(chunked.commands, whole.commands, "{how}: commands");
    match (chunked.error, whole.error) {
        (None, Some(e)) => {
            assert_eq!(chunked.rest, whole.rest, "{how}: the rest");
            assert!(chunked.rest.len() < chunked.needed, "{how}: {e:?} missed");
            assert_eq!(outcome(&chunked.rest), Outcome::Error(e), "{how}: the rest");
        }
        _ => {
            assert_eq!(chunked.error, whole.error, "{how}: the error");
            assert_eq!(chunked.rest, whole.rest, "{how}: the rest");
        }
    }
}

/// The server's loop (`querybuf.rs`) over `stream` cut at `cuts`: each chunk appended
/// to a buffer, parsing skipped until `needed` bytes are there, every whole request
/// taken.
fn serve(stream: &[u8], cuts: &[usize]) -> Session {
    // Unparsed bytes are buf[start..]: taking a request is an index bump, not a copy of
    // the rest (a stream of 100 000 one-byte requests stays linear).
    let mut buf = Vec::new();
    let mut start = 0;
    let mut needed = 0;
    let mut commands = Vec::new();
    let mut from = 0;
    for end in cuts.iter().copied().chain([stream.len()]) {
        buf.drain(..start);
        start = 0;
        buf.extend_from_slice(&stream[from..end]);
        from = end;
        while buf.len() - start >= needed {
            match outcome(&buf[start..]) {
                Outcome::Complete(args, used) => {
                    commands.push(args);
                    start += used;
                    needed = 0;
                }
                Outcome::Incomplete(n) => {
                    needed = n;
                    break;
                }
                Outcome::Error(e) => {
                    let mut rest = buf[start..].to_vec();
                    rest.extend_from_slice(&stream[from..]);
                    return Session {
                        commands,
                        error: Some(e),
                        rest,
                        needed: 0,
                    };
                }
            }
        }
    }
    Session {
        commands,
        error: None,
        rest: buf[start..].to_vec(),
        needed,
    }
}

fuzz_target!(|data: &[u8]| {
    let StreamInput { stream, cuts, .. } = StreamInput::decode(data);
    let whole = outcome(&stream);
    if let Outcome::Complete(_, used) = whole {
        assert_eq!(
            outcome(&stream[..used]),
            whole,
            "the request alone parses differently"
        );
    }

    // Prefixes, shortest first, then the whole stream.
    let mut points = cuts.clone();
    points.push(stream.len());
    let mut previous: Option<(usize, Outcome)> = None;
    for &end in &points {
        let now = outcome(&stream[..end]);
        if let Some((at, before)) = &previous {
            match before {
                // No whole request before `needed` (an error may come sooner).
                Outcome::Incomplete(needed) if end < *needed => assert!(
                    !matches!(now, Outcome::Complete(..)),
                    "prefix {at} needs {needed}, but prefix {end} gives {now:?}"
                ),
                Outcome::Incomplete(_) => {}
                done => assert_eq!(&now, done, "prefix {at} and longer prefix {end} differ"),
            }
        }
        previous = Some((end, now));
    }

    // Chunkings: whole, cut where the input says, and byte by byte for short streams.
    let at_once = serve(&stream, &[]);
    same_session(&serve(&stream, &cuts), &at_once, "chunked at the cuts");
    if stream.len() <= 256 {
        let every: Vec<usize> = (1..stream.len()).collect();
        same_session(&serve(&stream, &every), &at_once, "fed byte by byte");
    }
});
