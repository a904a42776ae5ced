//! The input format of the parser fuzz targets (`resp_parser`, `http_request`): raw
//! bytes, so that a seed is a request with two bytes in front and a dictionary token
//! lands in the stream as it is.
//!
//! ```text
//! byte 0          a parameter of the target (e.g. a body limit)
//! byte 1          n: how many cut points (n % 17)
//! next 2n bytes   the cut points, u16 little-endian, as fractions of the stream length
//! the rest        the stream, where 0xFE c b stands for c KiB of byte b (a long line in
//!                 three bytes), and 0xFE 0x00 for a literal 0xFE
//! ```

/// Streams stop growing here: past the parsers' 64 KiB bounds, small enough to stay
/// fast.
pub const MAX_STREAM: usize = 160 * 1024;

/// A decoded input.
pub struct StreamInput {
    #[allow(dead_code)] // resp_parser takes none.
    pub param: u8,
    pub stream: Vec<u8>,
    /// Sorted, distinct, each in `0..=stream.len()`.
    pub cuts: Vec<usize>,
}

impl StreamInput {
    pub fn decode(data: &[u8]) -> StreamInput {
        let param = data.first().copied().unwrap_or(0);
        let n = usize::from(data.get(1).copied().unwrap_or(0) % 17);
        let rest = data.get(2..).unwrap_or(&[]);
        let (fractions, program) = rest.split_at((2 * n).min(rest.len()));
        let stream = expand(program);
        let mut cuts: Vec<usize> = fractions
            .chunks_exact(2)
            .map(|f| (usize::from(u16::from_le_bytes([f[0], f[1]])) * (stream.len() + 1)) >> 16)
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        StreamInput {
            param,
            stream,
            cuts,
        }
    }
}

fn expand(program: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(program.len());
    let mut i = 0;
    while i < program.len() && out.len() < MAX_STREAM {
        match program[i..] {
            [0xFE, 0, ..] => {
                out.push(0xFE);
                i += 2;
            }
            [0xFE, kib, b, ..] => {
                let n = (usize::from(kib) * 1024).min(MAX_STREAM - out.len());
                out.resize(out.len() + n, b);
                i += 3;
            }
            [b, ..] => {
                out.push(b);
                i += 1;
            }
            [] => unreachable!(),
        }
    }
    out
}
