//! The separator search behind `readuntil`, `readline` and `lines`: which separator,
//! how far the buffer was already searched, and asyncio's limit rule.
//!
//! A search resumes where the last poll left it, so a long line arriving in many chunks
//! is scanned once, not once per chunk. "Where" is a position in the *stream* (bytes
//! ever consumed + offset into the buffer), not an offset into the buffer: a position
//! stays right even if someone consumed from the reader between two polls, and once a
//! line is taken the next search starts past it without being told.
//!
//! One-byte separators (`\n`) are looked for in the first word of the buffer, then by
//! `memchr` (protocol lines are short); longer ones go to a `memmem::Finder`, which
//! is built once per reader and separator (its setup is not free) and shared by `Rc`,
//! so a `readuntil` in steady state allocates nothing but the bytes it returns.

use std::rc::Rc;

use memchr::memmem::Finder;

use super::buffer::ReadBuffer;

/// What to look for.
#[derive(Clone)]
pub(crate) enum Separator {
    /// `readuntil(b"")`: asyncio's `ValueError`, reported when polled.
    Empty,
    Byte(u8),
    Bytes(Rc<Finder<'static>>),
}

impl Separator {
    /// The separator for `sep`, reusing `cache` when it already searches for `sep`.
    // Inlined, with the build out of line: a reader asks for the same separator
    // over and over (every HTTP head), and the build's big stack frame made every
    // lookup pay for a frame it never used.
    #[inline]
    pub(crate) fn new(sep: &[u8], cache: &mut Option<Rc<Finder<'static>>>) -> Separator {
        match sep {
            [] => Separator::Empty,
            [b] => Separator::Byte(*b),
            _ => match cache {
                Some(f) if f.needle() == sep => Separator::Bytes(f.clone()),
                _ => Separator::Bytes(Separator::build(sep, cache)),
            },
        }
    }

    /// A separator not cached (the reader's first, or a new one): its finder, built
    /// and cached.
    #[cold]
    #[inline(never)]
    fn build(sep: &[u8], cache: &mut Option<Rc<Finder<'static>>>) -> Rc<Finder<'static>> {
        let f = Rc::new(Finder::new(sep).into_owned());
        *cache = Some(f.clone());
        f
    }

    fn len(&self) -> usize {
        match self {
            Separator::Empty => 0,
            Separator::Byte(_) => 1,
            Separator::Bytes(f) => f.needle().len(),
        }
    }

    fn find(&self, haystack: &[u8]) -> Option<usize> {
        match self {
            Separator::Empty => None,
            Separator::Byte(b) => find_byte(*b, haystack),
            Separator::Bytes(f) => f.find(haystack),
        }
    }
}

/// `memchr`, after a look at the first word: protocol lines (`$5\r\n`, `*3\r\n`,
/// short commands) end within 8 bytes, which a word compare finds in ~10
/// instructions where `memchr`'s dispatch to its vector code costs ~45.
#[inline]
pub(crate) fn find_byte(b: u8, haystack: &[u8]) -> Option<usize> {
    const LOW: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let Some(head) = haystack.first_chunk::<8>() else {
        return memchr::memchr(b, haystack);
    };
    // Bytes equal to `b` become 0; the lowest byte whose high bit survives the
    // classic zero-byte test is the first zero (higher bits may be false positives,
    // from the borrow, and are never looked at).
    let x = u64::from_le_bytes(*head) ^ (LOW * u64::from(b));
    let zeros = x.wrapping_sub(LOW) & !x & HIGH;
    if zeros != 0 {
        return Some(zeros.trailing_zeros() as usize / 8);
    }
    memchr::memchr(b, &haystack[8..]).map(|i| i + 8)
}

/// The outcome of one look at the buffer.
pub(crate) enum Scan {
    /// The separator starts at this offset into the buffer.
    Found(usize),
    /// Not in the buffer yet; more data is needed.
    NotYet,
    /// Not found, and the part already searched is past the limit: asyncio's
    /// `LimitOverrunError(consumed = offset)`.
    Overrun(usize),
}

/// A resumable separator search (the state one `readuntil` keeps across polls).
#[derive(Clone)]
pub(crate) struct Search {
    sep: Separator,
    /// Stream position before which no match can start (already searched).
    searched_to: u64,
}

impl Search {
    pub(crate) fn new(sep: Separator) -> Search {
        Search {
            sep,
            searched_to: 0,
        }
    }

    /// A search for `\n` (`readline` and its kin).
    pub(crate) fn line() -> Search {
        Search::new(Separator::Byte(b'\n'))
    }

    /// Whether no byte has been searched yet (every match is still ahead).
    #[inline]
    pub(crate) fn is_fresh(&self) -> bool {
        self.searched_to == 0
    }

    pub(crate) fn is_empty(&self) -> bool {
        matches!(self.sep, Separator::Empty)
    }

    pub(crate) fn sep_len(&self) -> usize {
        self.sep.len()
    }

    /// Searches the bytes of `buf` not searched before (plus the `len - 1` before them
    /// that a separator arriving split across chunks may start in), as asyncio's
    /// `readuntil` loop does with its `offset`.
    // `always`: every read that finds its line in the buffer runs this, and LLVM's
    // own choice put it out of line, which cost ~6 instructions a `readline`.
    #[inline(always)]
    pub(crate) fn scan(&mut self, buf: &ReadBuffer, limit: usize) -> Scan {
        let data = buf.as_slice();
        let seplen = self.sep.len();
        // Saturates to 0 once the searched part has been consumed (a new line).
        let offset = (self.searched_to.saturating_sub(buf.consumed()) as usize).min(data.len());
        if data.len() - offset < seplen {
            return Scan::NotYet;
        }
        if let Some(i) = self.sep.find(&data[offset..]) {
            return Scan::Found(offset + i);
        }
        let offset = data.len() + 1 - seplen;
        self.searched_to = buf.consumed() + offset as u64;
        if offset > limit {
            return Scan::Overrun(offset);
        }
        Scan::NotYet
    }
}

#[cfg(test)]
mod tests {
    use super::find_byte;

    fn naive(b: u8, hay: &[u8]) -> Option<usize> {
        hay.iter().position(|&c| c == b)
    }

    /// The word test's borrow can mark bytes above a match; backgrounds next to the
    /// needle's value (and 0x00, 0x80, 0xff) are where that would show.
    #[test]
    fn find_byte_agrees_with_a_plain_search_at_every_position() {
        for b in [0x00u8, 0x01, b'\n', 0x7f, 0x80, 0x81, 0xfe, 0xff] {
            for fill in [
                b.wrapping_add(1),
                b.wrapping_sub(1),
                b ^ 0x80,
                0x00,
                0x80,
                0xff,
            ] {
                if fill == b {
                    continue;
                }
                for len in 0..40 {
                    let mut hay = vec![fill; len];
                    assert_eq!(
                        find_byte(b, &hay),
                        None,
                        "b {b:#x} fill {fill:#x} len {len}"
                    );
                    for first in 0..len {
                        hay.fill(fill);
                        hay[first] = b;
                        // A second match after the first must not be reported instead.
                        if first + 3 < len {
                            hay[first + 3] = b;
                        }
                        assert_eq!(
                            find_byte(b, &hay),
                            naive(b, &hay),
                            "b {b:#x} fill {fill:#x} len {len} at {first}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn find_byte_agrees_with_a_plain_search_on_random_bytes() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let len = (next() % 24) as usize;
            // Four byte values, so matches and near-misses are common.
            let alphabet = next().to_le_bytes();
            let hay: Vec<u8> = (0..len).map(|_| alphabet[(next() % 4) as usize]).collect();
            let b = alphabet[(next() % 5) as usize];
            assert_eq!(find_byte(b, &hay), naive(b, &hay), "{b:#x} in {hay:?}");
        }
    }
}
