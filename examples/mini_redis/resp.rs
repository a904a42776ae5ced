//! The RESP2 request parser: a pure function from bytes to the first command in them
//! (`parse`), with no I/O and no state kept between calls, so it can be unit-tested,
//! property-tested and fuzzed on its own. Requests come in two forms, as redis reads
//! them: multibulk (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`, what clients send) and inline
//! (`GET k\r\n`, what a person types into telnet or nc), whose splitting is in
//! `inline.rs`. Replies are encoded by `reply.rs`; `querybuf.rs` feeds this parser
//! from a connection.
//!
//! Errors carry redis's own texts (its `processMultibulkBuffer` /
//! `processInlineBuffer`), so a client sees `-ERR Protocol error: invalid multibulk
//! length` exactly as from redis. One deliberate difference: redis skips the two
//! bytes after a bulk string whatever they are; here they must be `\r\n`, or the
//! request is an error (a client that sends anything else is out of step with its own
//! lengths, and guessing where its next command starts helps nobody).

use std::borrow::Cow;
use std::fmt;

use crate::inline;
use crate::int::parse_i64;

/// Longest inline request, and longest `*N` / `$N` header line, redis accepts
/// (`PROTO_INLINE_MAX_SIZE`).
pub const INLINE_MAX: usize = 64 * 1024;
/// Largest bulk string (redis's default `proto-max-bulk-len`, 512 MB).
pub const BULK_MAX: usize = 512 * 1024 * 1024;
/// The smallest encoding of one argument, `$0\r\n\r\n`: how `Incomplete` bounds the
/// bytes a multibulk request still needs.
const MIN_ARG_LEN: usize = 6;

/// One request's arguments, the command name first. Arguments borrow the input
/// bytes, except inline ones that had quotes or escapes to resolve. Empty for the
/// requests redis skips without a reply (`*0\r\n`, `*-1\r\n`, a blank inline line).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Command<'a> {
    /// The arguments, in order.
    pub args: Vec<Cow<'a, [u8]>>,
}

#[cfg(test)]
impl Command<'_> {
    /// The arguments as owned byte strings, for comparisons.
    pub fn to_vecs(&self) -> Vec<Vec<u8>> {
        self.args.iter().map(|a| a.to_vec()).collect()
    }
}

/// What [`parse`] found at the start of its input.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// A whole request, and how many input bytes it took.
    Complete(Command<'a>, usize),
    /// Not a whole request yet, and none can be before the input is at least
    /// `needed` bytes long (always more than it is now): a lower bound that counts
    /// each argument still to come at its smallest (`$0\r\n\r\n`), exact while a bulk
    /// string's bytes are awaited. A caller skips parsing until that much has arrived
    /// (a request of many arguments is not parsed again after every read) and can
    /// refuse at once a request its buffer cannot hold. The price: a malformed
    /// argument arriving before that point is reported once `needed` bytes are there,
    /// not at once as redis does (the resp_parser fuzz target checks that it is then).
    Incomplete {
        /// Input length before which no whole request can be parsed.
        needed: usize,
    },
    /// The input is not RESP: answer the error and close the connection.
    Error(ProtocolError),
}

/// Why the input is not a request; `Display` gives redis's text (after
/// `Protocol error: `).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolError {
    /// No newline in the first [`INLINE_MAX`] bytes of an inline request.
    TooBigInline,
    /// An inline request with an unterminated quote, or a closing quote not followed
    /// by a space.
    UnbalancedQuotes,
    /// No `\r` in the first [`INLINE_MAX`] bytes of a `*N` line.
    TooBigMultibulkCount,
    /// `*N` with N not an integer, or above `i32::MAX`.
    InvalidMultibulkLength,
    /// An argument not starting with `$`: the byte found instead.
    ExpectedDollar(u8),
    /// No `\r` in the first [`INLINE_MAX`] bytes of a `$N` line.
    TooBigBulkCount,
    /// `$N` with N not an integer, negative, or above [`BULK_MAX`].
    InvalidBulkLength,
    /// A bulk string not followed by `\r\n` (redis does not check; see the file
    /// comment).
    MissingCrlf,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::TooBigInline => f.write_str("too big inline request"),
            ProtocolError::UnbalancedQuotes => f.write_str("unbalanced quotes in request"),
            ProtocolError::TooBigMultibulkCount => f.write_str("too big mbulk count string"),
            ProtocolError::InvalidMultibulkLength => f.write_str("invalid multibulk length"),
            // redis prints the byte as it is; a control byte would break the reply line.
            ProtocolError::ExpectedDollar(b) if b.is_ascii_graphic() || *b == b' ' => {
                write!(f, "expected '$', got '{}'", char::from(*b))
            }
            ProtocolError::ExpectedDollar(b) => write!(f, "expected '$', got '\\x{b:02x}'"),
            ProtocolError::TooBigBulkCount => f.write_str("too big bulk count string"),
            ProtocolError::InvalidBulkLength => f.write_str("invalid bulk length"),
            ProtocolError::MissingCrlf => f.write_str("expected '\\r\\n' after a bulk string"),
        }
    }
}

/// Parses the first request in `input`. Pure: the same bytes give the same answer,
/// and feeding a request in any chunking gives the same commands (see the tests).
pub fn parse(input: &[u8]) -> Parsed<'_> {
    match input.first() {
        None => Parsed::Incomplete { needed: 1 },
        Some(b'*') => multibulk(input),
        Some(_) => inline_request(input),
    }
}

/// `GET key\n` or `GET key\r\n`, split as redis splits it.
fn inline_request(input: &[u8]) -> Parsed<'_> {
    let Some(newline) = input.iter().position(|&b| b == b'\n') else {
        if input.len() > INLINE_MAX {
            return Parsed::Error(ProtocolError::TooBigInline);
        }
        return Parsed::Incomplete {
            needed: input.len() + 1,
        };
    };
    // A line that long is refused even when its newline came in the same read (redis
    // takes it then): otherwise the answer would depend on how the bytes were split.
    if newline > INLINE_MAX {
        return Parsed::Error(ProtocolError::TooBigInline);
    }
    let line = &input[..newline];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    match inline::split(line) {
        Some(args) => Parsed::Complete(Command { args }, newline + 1),
        None => Parsed::Error(ProtocolError::UnbalancedQuotes),
    }
}

/// The header line `<prefix>digits\r\n` starting at `at`: its value and the position
/// after it. `Ok(None)`: the line is not all there yet.
fn header(
    input: &[u8],
    at: usize,
    too_long: ProtocolError,
    invalid: ProtocolError,
) -> Result<Option<(i64, usize)>, ProtocolError> {
    let rest = &input[at + 1..];
    let Some(cr) = rest.iter().position(|&b| b == b'\r') else {
        return if rest.len() > INLINE_MAX {
            Err(too_long)
        } else {
            Ok(None)
        };
    };
    // The same error whether or not the `\r` is already there.
    if cr > INLINE_MAX {
        return Err(too_long);
    }
    match rest.get(cr + 1) {
        None => Ok(None),
        Some(b'\n') => {
            let value = parse_i64(&rest[..cr]).ok_or(invalid)?;
            Ok(Some((value, at + 1 + cr + 2)))
        }
        Some(_) => Err(invalid),
    }
}

fn multibulk(input: &[u8]) -> Parsed<'_> {
    let incomplete = |needed: usize| Parsed::Incomplete {
        needed: needed.max(input.len() + 1),
    };
    let (count, mut pos) = match header(
        input,
        0,
        ProtocolError::TooBigMultibulkCount,
        ProtocolError::InvalidMultibulkLength,
    ) {
        Ok(Some(found)) => found,
        Ok(None) => return incomplete(0),
        Err(e) => return Parsed::Error(e),
    };
    if count > i64::from(i32::MAX) {
        return Parsed::Error(ProtocolError::InvalidMultibulkLength);
    }
    if count <= 0 {
        return Parsed::Complete(Command::default(), pos);
    }
    let count = count as usize;
    // Never reserve more than the input could hold, whatever the header claims.
    let mut args = Vec::with_capacity(count.min((input.len() - pos) / MIN_ARG_LEN + 1));
    for i in 0..count {
        let left = count - i;
        match input.get(pos) {
            None => return incomplete(pos + left * MIN_ARG_LEN),
            Some(b'$') => {}
            Some(&other) => return Parsed::Error(ProtocolError::ExpectedDollar(other)),
        }
        let (len, start) = match header(
            input,
            pos,
            ProtocolError::TooBigBulkCount,
            ProtocolError::InvalidBulkLength,
        ) {
            Ok(Some(found)) => found,
            Ok(None) => return incomplete(pos + left * MIN_ARG_LEN),
            Err(e) => return Parsed::Error(e),
        };
        if len < 0 || len as u64 > BULK_MAX as u64 {
            return Parsed::Error(ProtocolError::InvalidBulkLength);
        }
        let end = start + len as usize;
        if input.len() < end + 2 {
            return incomplete(end + 2 + (left - 1) * MIN_ARG_LEN);
        }
        if &input[end..end + 2] != b"\r\n" {
            return Parsed::Error(ProtocolError::MissingCrlf);
        }
        args.push(Cow::Borrowed(&input[start..end]));
        pos = end + 2;
    }
    Parsed::Complete(Command { args }, pos)
}

#[cfg(test)]
#[path = "resp_tests.rs"]
mod tests;
