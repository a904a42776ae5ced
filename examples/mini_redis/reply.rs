//! RESP2 reply encoding: each function appends one reply (or an array's header) to
//! a byte buffer; the connection writes the buffer as it is (`connection.rs`). The
//! parsing side is `resp.rs`.

use crate::int::write_i64;

pub const OK: &[u8] = b"+OK\r\n";
pub const PONG: &[u8] = b"+PONG\r\n";
/// RESP2's null bulk string: a missing key.
pub const NULL: &[u8] = b"$-1\r\n";
pub const EMPTY_ARRAY: &[u8] = b"*0\r\n";

/// `:n\r\n`.
pub fn integer(out: &mut Vec<u8>, n: i64) {
    out.push(b':');
    write_i64(out, n);
    out.extend_from_slice(b"\r\n");
}

/// `$len\r\ndata\r\n`.
pub fn bulk(out: &mut Vec<u8>, data: &[u8]) {
    out.reserve(data.len() + 16);
    out.push(b'$');
    write_i64(out, data.len() as i64);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// A bulk string, or the null bulk string for `None`.
pub fn bulk_or_null(out: &mut Vec<u8>, data: Option<&[u8]>) {
    match data {
        Some(data) => bulk(out, data),
        None => out.extend_from_slice(NULL),
    }
}

/// `*n\r\n`: the `n` elements follow.
pub fn array(out: &mut Vec<u8>, n: usize) {
    out.push(b'*');
    write_i64(out, n as i64);
    out.extend_from_slice(b"\r\n");
}

/// `-ERR message\r\n`. Line ends inside `message` become spaces, as redis's
/// `addReplyErrorFormat` does, so a client's bytes echoed in an error cannot end
/// the reply early.
pub fn error(out: &mut Vec<u8>, message: &str) {
    out.extend_from_slice(b"-ERR ");
    out.extend(
        message
            .bytes()
            .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
    );
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_each_kind() {
        let mut out = Vec::new();
        integer(&mut out, -12);
        bulk(&mut out, b"hi");
        bulk_or_null(&mut out, None);
        array(&mut out, 2);
        error(&mut out, "bad\r\nthing");
        assert_eq!(out, b":-12\r\n$2\r\nhi\r\n$-1\r\n*2\r\n-ERR bad  thing\r\n");
    }
}
