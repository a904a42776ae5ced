//! The decoder of `Transfer-Encoding: chunked` request bodies (RFC 9112 §7.1), pure: a
//! state machine that says what it needs next (a line, or exactly n bytes) and is fed
//! exactly that, so the connection (`connection.rs`) can read it from the stream with
//! `readuntil(b"\r\n")` and `readexactly(n)` and never read past the body into the
//! next pipelined request. [`decode_chunked`] runs the same machine over a buffer, for
//! tests and fuzzing. Chunk-size lines are parsed by `httparse::parse_chunk_size`,
//! trailer fields by `httparse::parse_headers`; the request head is `request.rs`.

use crate::request::{Parsed, RequestError};

/// How long a chunk-size line may be (its extensions included).
pub const MAX_CHUNK_LINE: usize = 4 * 1024;
/// How many bytes of trailer fields a body may end with.
pub const MAX_TRAILERS: usize = 8 * 1024;

/// What the decoder must be fed next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// A line, with its `\r\n`.
    Line,
    /// Exactly this many bytes (a chunk's data and its `\r\n`).
    Bytes(usize),
    /// Nothing: the body is complete.
    Done,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Size,
    /// A chunk of this many data bytes, then `\r\n`.
    Data(usize),
    Trailers,
    Done,
}

/// Decodes one chunked body, bounded by a maximum decoded size.
#[derive(Debug)]
pub struct ChunkedDecoder {
    state: State,
    body_len: u64,
    max_body: u64,
    trailer_len: usize,
}

impl ChunkedDecoder {
    /// A decoder for a body of at most `max_body` decoded bytes (413 beyond).
    pub fn new(max_body: u64) -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::Size,
            body_len: 0,
            max_body,
            trailer_len: 0,
        }
    }

    pub fn need(&self) -> Need {
        match self.state {
            State::Size | State::Trailers => Need::Line,
            State::Data(n) => Need::Bytes(n + 2),
            State::Done => Need::Done,
        }
    }

    /// Takes what [`need`](Self::need) asked for (a line ending in `\r\n`, or exactly
    /// the bytes asked) and appends the data it holds to `body`.
    pub fn feed(&mut self, input: &[u8], body: &mut Vec<u8>) -> Result<(), RequestError> {
        match self.state {
            State::Size => {
                let size = chunk_size(input)?;
                if size > self.max_body - self.body_len {
                    return Err(RequestError::BodyTooLarge);
                }
                self.body_len += size;
                // Fits: at most max_body, which the caller holds in memory.
                let size = usize::try_from(size).map_err(|_| RequestError::BodyTooLarge)?;
                self.state = if size == 0 {
                    State::Trailers
                } else {
                    State::Data(size)
                };
            }
            State::Data(n) => {
                if input.len() != n + 2 {
                    return Err(RequestError::Malformed("chunk shorter than its size"));
                }
                if &input[n..] != b"\r\n" {
                    return Err(RequestError::Malformed("chunk data not ended by CRLF"));
                }
                body.extend_from_slice(&input[..n]);
                self.state = State::Size;
            }
            State::Trailers => {
                if input == b"\r\n" {
                    self.state = State::Done;
                    return Ok(());
                }
                self.trailer_len += input.len();
                if self.trailer_len > MAX_TRAILERS {
                    return Err(RequestError::HeadTooLarge);
                }
                check_trailer(input)?;
            }
            State::Done => return Err(RequestError::Malformed("data after the last chunk")),
        }
        Ok(())
    }
}

/// The size of a chunk-size line: hex digits, optional extensions (ignored), `\r\n`.
fn chunk_size(line: &[u8]) -> Result<u64, RequestError> {
    const BAD: RequestError = RequestError::Malformed("invalid chunk size line");
    if line.len() > MAX_CHUNK_LINE {
        return Err(RequestError::Malformed("chunk size line too long"));
    }
    // httparse takes an empty size as 0 and passes bare CR/LF inside extensions; a
    // line is one size and one CRLF, nothing looser.
    let Some(content) = line.strip_suffix(b"\r\n") else {
        return Err(BAD);
    };
    if !content.first().is_some_and(u8::is_ascii_hexdigit)
        || content.iter().any(|&b| b == b'\r' || b == b'\n')
    {
        return Err(BAD);
    }
    match httparse::parse_chunk_size(line) {
        Ok(httparse::Status::Complete((used, size))) if used == line.len() => Ok(size),
        _ => Err(BAD),
    }
}

/// One trailer field line (`name: value\r\n`), valid by httparse's rules.
fn check_trailer(line: &[u8]) -> Result<(), RequestError> {
    const BAD: RequestError = RequestError::Malformed("invalid trailer field");
    let mut field = Vec::with_capacity(line.len() + 2);
    field.extend_from_slice(line);
    field.extend_from_slice(b"\r\n");
    let mut headers = [httparse::EMPTY_HEADER; 1];
    match httparse::parse_headers(&field, &mut headers) {
        Ok(httparse::Status::Complete((used, parsed)))
            if used == field.len() && parsed.len() == 1 =>
        {
            Ok(())
        }
        _ => Err(BAD),
    }
}

/// The chunked body at the start of `buf`, decoded, and how many bytes of `buf` it
/// took; `Incomplete` if `buf` ends first.
// The server reads bodies through the decoder itself; this is for tests and fuzzers.
#[cfg_attr(not(test), allow(dead_code))]
pub fn decode_chunked(buf: &[u8], max_body: u64) -> Result<Parsed<Vec<u8>>, RequestError> {
    let mut decoder = ChunkedDecoder::new(max_body);
    let (mut body, mut pos) = (Vec::new(), 0);
    loop {
        let rest = &buf[pos..];
        let take = match decoder.need() {
            Need::Done => return Ok(Parsed::Complete(body, pos)),
            Need::Line => match rest.windows(2).position(|w| w == b"\r\n") {
                // A line can be no longer than this, whatever follows; and the same
                // error whether its end is in `buf` or not (found by the http_request
                // fuzz target: a long trailer line was a 431 or a 400 by where `buf`
                // ended).
                Some(i) if i >= MAX_CHUNK_LINE + MAX_TRAILERS => {
                    return Err(RequestError::Malformed("chunk size line too long"))
                }
                None if rest.len() > MAX_CHUNK_LINE + MAX_TRAILERS => {
                    return Err(RequestError::Malformed("chunk size line too long"))
                }
                Some(i) => i + 2,
                None => return Ok(Parsed::Incomplete),
            },
            Need::Bytes(n) if rest.len() >= n => n,
            Need::Bytes(_) => return Ok(Parsed::Incomplete),
        };
        decoder.feed(&rest[..take], &mut body)?;
        pos += take;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: u64 = 1 << 20;

    fn complete(raw: &[u8]) -> (Vec<u8>, usize) {
        match decode_chunked(raw, MAX) {
            Ok(Parsed::Complete(body, used)) => (body, used),
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(raw)),
        }
    }

    #[test]
    fn chunks_join_into_the_body_and_stop_at_its_end() {
        let raw =
            b"4\r\nWiki\r\n5;name=value\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\nGET /next";
        let (body, used) = complete(raw);
        assert_eq!(body, b"Wikipedia in\r\n\r\nchunks.");
        assert_eq!(&raw[used..], b"GET /next", "the next request is left alone");
    }

    #[test]
    fn trailers_are_read_and_checked() {
        let raw = b"3\r\nabc\r\n0\r\nX-Sum: 1\r\nX-B: 2\r\n\r\n";
        let (body, used) = complete(raw);
        assert_eq!((body.as_slice(), used), (&b"abc"[..], raw.len()));
        assert!(matches!(
            decode_chunked(b"0\r\nno colon here\r\n\r\n", MAX),
            Err(RequestError::Malformed(_))
        ));
    }

    #[test]
    fn every_prefix_is_incomplete() {
        let raw = b"4\r\nWiki\r\n10\r\n0123456789abcdef\r\n0\r\nT: v\r\n\r\n";
        for end in 0..raw.len() {
            assert_eq!(
                decode_chunked(&raw[..end], MAX),
                Ok(Parsed::Incomplete),
                "{end}"
            );
        }
        assert_eq!(complete(raw).1, raw.len());
    }

    #[test]
    fn malformed_framing_is_an_error() {
        for bad in [
            &b"\r\n"[..],                   // no size at all
            b"x\r\n",                       // not hex
            b"-1\r\n",                      // no sign
            b"4\r\nWikiXY",                 // data not ended by CRLF
            b"4\nWiki\r\n0\r\n\r\n",        // bare LF ends the size line
            b"4;a\nb\r\nWiki\r\n0\r\n\r\n", // bare LF inside an extension
            b"11111111111111111\r\n",       // 17 hex digits: past u64
        ] {
            assert!(
                matches!(decode_chunked(bad, MAX), Err(RequestError::Malformed(_))),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn the_body_limit_counts_decoded_bytes() {
        let mut raw = Vec::new();
        for _ in 0..4 {
            raw.extend_from_slice(b"100\r\n");
            raw.extend_from_slice(&[b'a'; 0x100]);
            raw.extend_from_slice(b"\r\n");
        }
        raw.extend_from_slice(b"0\r\n\r\n");
        assert_eq!(complete(&raw).0.len(), 0x400);
        assert!(matches!(
            decode_chunked(&raw, 0x400),
            Ok(Parsed::Complete(..))
        ));
        assert_eq!(decode_chunked(&raw, 0x3ff), Err(RequestError::BodyTooLarge));
        // A huge declared chunk fails at its size line, before any data is awaited.
        assert_eq!(
            decode_chunked(b"fffffffffff\r\n", MAX),
            Err(RequestError::BodyTooLarge)
        );
    }

    #[test]
    fn lines_and_trailers_are_bounded() {
        let mut long = b"1;".to_vec();
        long.extend_from_slice(&[b'e'; MAX_CHUNK_LINE]);
        long.extend_from_slice(b"\r\n");
        assert!(matches!(
            decode_chunked(&long, MAX),
            Err(RequestError::Malformed(_))
        ));
        let mut trailers = b"0\r\n".to_vec();
        for i in 0..1000 {
            trailers.extend_from_slice(format!("X-{i}: vvvvvvvv\r\n").as_bytes());
        }
        assert_eq!(
            decode_chunked(&trailers, MAX),
            Err(RequestError::HeadTooLarge)
        );
    }

    #[test]
    fn an_over_long_line_is_the_same_error_wherever_the_buffer_ends() {
        let mut raw = b"0\r\nX: ".to_vec();
        raw.extend_from_slice(&[b'v'; MAX_CHUNK_LINE + MAX_TRAILERS]);
        raw.extend_from_slice(b"\r\n\r\n");
        let whole = decode_chunked(&raw, MAX);
        assert!(
            matches!(whole, Err(RequestError::Malformed(_))),
            "{whole:?}"
        );
        for end in [raw.len() - 4, raw.len() - 3, raw.len()] {
            assert_eq!(decode_chunked(&raw[..end], MAX), whole, "{end}");
        }
    }

    #[test]
    fn no_input_makes_it_panic() {
        let base = b"4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\nT: v\r\n\r\n";
        for i in 0..base.len() {
            for b in [0u8, b'\r', b'\n', b';', b'0', b'f', 0xff] {
                let mut raw = base.to_vec();
                raw[i] = b;
                let _ = decode_chunked(&raw, MAX);
                let _ = decode_chunked(&raw[..i], 8);
            }
        }
    }
}
