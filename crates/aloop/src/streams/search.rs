//! The separator search behind `readuntil`, `readline` and `lines`: which separator,
//! how far the buffer was already searched, and asyncio's limit rule.
//!
//! A search resumes where the last poll left it, so a long line arriving in many chunks
//! is scanned once, not once per chunk. "Where" is a position in the *stream* (bytes
//! ever consumed + offset into the buffer), not an offset into the buffer: a position
//! stays right even if someone consumed from the reader between two polls, and once a
//! line is taken the next search starts past it without being told.
//!
//! One-byte separators (`\n`) go to `memchr`; longer ones to a `memmem::Finder`, which
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
    pub(crate) fn new(sep: &[u8], cache: &mut Option<Rc<Finder<'static>>>) -> Separator {
        match sep {
            [] => Separator::Empty,
            [b] => Separator::Byte(*b),
            _ => match cache {
                Some(f) if f.needle() == sep => Separator::Bytes(f.clone()),
                _ => {
                    let f = Rc::new(Finder::new(sep).into_owned());
                    *cache = Some(f.clone());
                    Separator::Bytes(f)
                }
            },
        }
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
            Separator::Byte(b) => memchr::memchr(*b, haystack),
            Separator::Bytes(f) => f.find(haystack),
        }
    }
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

    pub(crate) fn is_empty(&self) -> bool {
        matches!(self.sep, Separator::Empty)
    }

    pub(crate) fn sep_len(&self) -> usize {
        self.sep.len()
    }

    /// Searches the bytes of `buf` not searched before (plus the `len - 1` before them
    /// that a separator arriving split across chunks may start in), as asyncio's
    /// `readuntil` loop does with its `offset`.
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
