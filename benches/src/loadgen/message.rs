//! The echo protocol's messages: fixed-size lines that name their connection and
//! sequence number, so a reply that is lost, reordered or misrouted fails the check in
//! generate.rs. A line (one `\n`, at the end) so that line-reading servers
//! (echo_servers.rs, examples/echo_server.rs) and size-reading ones frame it alike.

/// The smallest message: 16 hex digits of sequence, 8 of connection, `\n`.
pub const MIN_SIZE: usize = 25;
/// The largest: under the 64 KiB line limit of aloop's and asyncio's `StreamReader`.
pub const MAX_SIZE: usize = 60 * 1024;

/// Writes message `seq` of connection `conn` into `buf` (its whole length, at least
/// [`MIN_SIZE`]): the sequence and connection in hex, then filler, then `\n`.
pub fn fill(buf: &mut [u8], conn: usize, seq: u64) {
    debug_assert!(buf.len() >= MIN_SIZE);
    hex(&mut buf[..16], seq);
    hex(&mut buf[16..24], conn as u64);
    let last = buf.len() - 1;
    for (i, b) in buf[24..last].iter_mut().enumerate() {
        *b = b'a' + ((i + conn) % 26) as u8;
    }
    buf[last] = b'\n';
}

/// `value`'s low hex digits into `out`, most significant first.
fn hex(out: &mut [u8], mut value: u64) {
    for b in out.iter_mut().rev() {
        *b = b"0123456789abcdef"[(value & 0xf) as usize];
        value >>= 4;
    }
}
