//! Tests of `resp.rs`'s parser: each form and each error by example, and by property:
//! any request stream, cut into any chunks and parsed as a server does (append the
//! chunk, take every whole request), gives the same commands as parsing it whole.

use proptest::prelude::*;

use super::{parse, Parsed, ProtocolError, BULK_MAX, INLINE_MAX};

fn complete(input: &[u8]) -> (Vec<Vec<u8>>, usize) {
    match parse(input) {
        Parsed::Complete(cmd, used) => (cmd.to_vecs(), used),
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(input)),
    }
}

fn error(input: &[u8]) -> ProtocolError {
    match parse(input) {
        Parsed::Error(e) => e,
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(input)),
    }
}

fn needed(input: &[u8]) -> usize {
    match parse(input) {
        Parsed::Incomplete { needed } => {
            assert!(needed > input.len());
            needed
        }
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(input)),
    }
}

fn vecs(args: &[&str]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.as_bytes().to_vec()).collect()
}

#[test]
fn multibulk_requests() {
    let req = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n*1\r\n$4\r\nPING\r\n";
    assert_eq!(complete(req), (vecs(&["SET", "k", ""]), 26));
    assert_eq!(complete(&req[26..]), (vecs(&["PING"]), 14));
    // Binary-safe: CR, LF and NUL inside a bulk string are data.
    assert_eq!(
        complete(b"*1\r\n$3\r\na\r\n\r\n").0,
        vec![b"a\r\n".to_vec()]
    );
}

#[test]
fn empty_requests_are_skipped() {
    assert_eq!(complete(b"*0\r\n"), (vec![], 4));
    assert_eq!(complete(b"*-1\r\n"), (vec![], 5));
    assert_eq!(complete(b"\r\n"), (vec![], 2));
    assert_eq!(complete(b"   \n"), (vec![], 4));
}

#[test]
fn inline_requests() {
    assert_eq!(complete(b"PING\r\n"), (vecs(&["PING"]), 6));
    assert_eq!(complete(b"PING\n"), (vecs(&["PING"]), 5));
    assert_eq!(
        complete(b"SET k \"a b\"\r\nGET k\r\n"),
        (vecs(&["SET", "k", "a b"]), 13)
    );
}

#[test]
fn incomplete_requests_say_how_much_they_need_at_least() {
    assert_eq!(needed(b""), 1);
    assert_eq!(needed(b"PIN"), 4);
    assert_eq!(needed(b"*2\r"), 4);
    // Two arguments of at least 6 bytes each after the header.
    assert_eq!(needed(b"*2\r\n"), 4 + 12);
    // The first bulk's length is known: 4 + 7 + 2, then one more argument.
    assert_eq!(needed(b"*2\r\n$7\r\nab"), 4 + 4 + 7 + 2 + 6);
    assert_eq!(needed(b"*1\r\n$7\r\nabcdefg\r"), 17);
    // A huge bulk announces itself at once (so a bounded buffer can refuse it).
    assert_eq!(needed(b"*1\r\n$100000000\r\n"), 16 + 100_000_000 + 2);
}

#[test]
fn malformed_requests_get_redis_errors() {
    use ProtocolError::*;
    assert_eq!(error(b"*x\r\n"), InvalidMultibulkLength);
    assert_eq!(error(b"*-\r\n"), InvalidMultibulkLength);
    assert_eq!(error(b"*01\r\n"), InvalidMultibulkLength);
    assert_eq!(error(b"*3000000000\r\n"), InvalidMultibulkLength);
    assert_eq!(error(b"*1\rx"), InvalidMultibulkLength);
    assert_eq!(error(b"*1\r\n%4\r\nPING\r\n"), ExpectedDollar(b'%'));
    assert_eq!(error(b"*1\r\n$-5\r\n"), InvalidBulkLength);
    assert_eq!(error(b"*1\r\n$x\r\n"), InvalidBulkLength);
    let too_big = format!("*1\r\n${}\r\n", BULK_MAX + 1);
    assert_eq!(error(too_big.as_bytes()), InvalidBulkLength);
    assert_eq!(error(b"*1\r\n$4\r\nPINGXX"), MissingCrlf);
    assert_eq!(error(b"ECHO \"abc\r\n"), UnbalancedQuotes);
    let long = vec![b'a'; INLINE_MAX + 1];
    assert_eq!(error(&long), TooBigInline);
    let mut long_count = b"*".to_vec();
    long_count.extend(vec![b'1'; INLINE_MAX + 1]);
    assert_eq!(error(&long_count), TooBigMultibulkCount);
    let mut long_len = b"*1\r\n$".to_vec();
    long_len.extend(vec![b'1'; INLINE_MAX + 1]);
    assert_eq!(error(&long_len), TooBigBulkCount);
}

#[test]
fn an_over_long_line_is_refused_however_it_arrives() {
    // Found by the resp_parser fuzz target: a 64 KiB+ inline line was an error while
    // its newline had not arrived, but a command when it came in the same read.
    use ProtocolError::*;
    let mut line = vec![b'a'; INLINE_MAX + 1];
    line.extend_from_slice(b"\r\n");
    assert_eq!(error(&line[..INLINE_MAX + 1]), TooBigInline);
    assert_eq!(error(&line), TooBigInline);
    // The bound counts the bytes before the `\n`, as when none has come yet.
    let at_bound = [&line[..INLINE_MAX], b"\n"].concat();
    assert_eq!(complete(&at_bound).1, INLINE_MAX + 1);
    // The same for a `*N` / `$N` line whose `\r` comes past the bound.
    for (prefix, want) in [
        (&b"*"[..], TooBigMultibulkCount),
        (b"*1\r\n$", TooBigBulkCount),
    ] {
        let mut header = prefix.to_vec();
        header.extend(vec![b'1'; INLINE_MAX + 1]);
        header.extend_from_slice(b"\r\n");
        assert_eq!(error(&header[..header.len() - 2]), want);
        assert_eq!(error(&header), want);
    }
}

#[test]
fn error_texts_are_redis_texts() {
    assert_eq!(
        ProtocolError::InvalidMultibulkLength.to_string(),
        "invalid multibulk length"
    );
    assert_eq!(
        ProtocolError::ExpectedDollar(b'%').to_string(),
        "expected '$', got '%'"
    );
    assert_eq!(
        ProtocolError::ExpectedDollar(b'\n').to_string(),
        "expected '$', got '\\x0a'"
    );
    assert_eq!(
        ProtocolError::UnbalancedQuotes.to_string(),
        "unbalanced quotes in request"
    );
}

/// Parses `stream` as a server does, fed in `chunks`: returns every command, or the
/// error that ended it. Also checks `needed` never overshoots: whenever parsing was
/// skipped because fewer bytes than `needed` were there, parsing anyway would still
/// have said Incomplete.
fn serve(stream: &[u8], cuts: &[usize]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
    let mut commands = Vec::new();
    let mut buf: Vec<u8> = Vec::new();
    let mut needed = 0;
    let mut fed = 0;
    let mut cuts = cuts.to_vec();
    cuts.push(stream.len());
    for cut in cuts {
        let cut = cut.clamp(fed, stream.len());
        buf.extend_from_slice(&stream[fed..cut]);
        fed = cut;
        loop {
            if buf.len() < needed {
                assert!(matches!(parse(&buf), Parsed::Incomplete { .. }));
                break;
            }
            match parse(&buf) {
                Parsed::Complete(cmd, used) => {
                    if !cmd.args.is_empty() {
                        commands.push(cmd.to_vecs());
                    }
                    buf.drain(..used);
                    needed = 0;
                }
                Parsed::Incomplete { needed: n } => {
                    needed = n;
                    break;
                }
                Parsed::Error(e) => return Err(e),
            }
        }
    }
    Ok(commands)
}

/// A request as a client would encode it, multibulk or (for plain words) inline.
fn encode(args: &[Vec<u8>], inline: bool) -> Vec<u8> {
    if inline {
        let mut out = args.join(&b' ');
        out.extend_from_slice(b"\r\n");
        return out;
    }
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn request() -> impl Strategy<Value = (Vec<Vec<u8>>, bool)> {
    prop_oneof![
        (
            prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..6),
            Just(false)
        ),
        (
            prop::collection::vec(prop::collection::vec(b'a'..=b'z', 1..10), 1..5),
            Just(true)
        ),
    ]
}

proptest! {
    #[test]
    fn any_chunking_gives_the_same_commands(
        requests in prop::collection::vec(request(), 1..8),
        cuts in prop::collection::vec(0usize..600, 0..12),
    ) {
        let mut stream = Vec::new();
        for (args, inline) in &requests {
            stream.extend(encode(args, *inline));
        }
        let mut cuts = cuts;
        cuts.sort_unstable();
        let want: Vec<Vec<Vec<u8>>> = requests.iter().map(|(a, _)| a.clone()).collect();
        prop_assert_eq!(serve(&stream, &[]), Ok(want.clone()));
        prop_assert_eq!(serve(&stream, &cuts), Ok(want));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_chunking_does_not_change_the_outcome(
        stream in prop::collection::vec(any::<u8>(), 0..200),
        cuts in prop::collection::vec(0usize..200, 0..8),
    ) {
        let mut cuts = cuts;
        cuts.sort_unstable();
        prop_assert_eq!(serve(&stream, &cuts), serve(&stream, &[]));
    }

    #[test]
    fn one_byte_at_a_time_is_the_same_as_whole(
        requests in prop::collection::vec(request(), 1..4),
    ) {
        let mut stream = Vec::new();
        for (args, inline) in &requests {
            stream.extend(encode(args, *inline));
        }
        let every_byte: Vec<usize> = (0..stream.len()).collect();
        prop_assert_eq!(serve(&stream, &every_byte), serve(&stream, &[]));
    }
}
