//! Typed stream errors: asyncio's `IncompleteReadError` and `LimitOverrunError`, the
//! `ReadError` that the structured reads (`readexactly`, `readuntil`, `readline`)
//! return, and the helper that hands a stored connection error out more than once.
//!
//! Every error converts into `io::Error` (the typed error stays inside it, reachable
//! with `get_ref().downcast_ref()`), so `?` works in functions returning
//! `io::Result`.

use std::fmt;
use std::io;

/// The stream ended before a read could be satisfied (asyncio's `IncompleteReadError`).
///
/// `partial` holds every byte that was read, so nothing is lost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncompleteReadError {
    /// The bytes read before the end of the stream.
    pub partial: Vec<u8>,
    /// How many bytes were expected; `None` when the read waited for a separator.
    pub expected: Option<usize>,
}

impl fmt::Display for IncompleteReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.expected {
            Some(n) => write!(
                f,
                "{} bytes read on a total of {n} expected bytes",
                self.partial.len()
            ),
            None => write!(
                f,
                "{} bytes read on a total of undefined expected bytes",
                self.partial.len()
            ),
        }
    }
}

impl std::error::Error for IncompleteReadError {}

/// A separator was not found within the reader's limit (asyncio's
/// `LimitOverrunError`). The data stays in the reader's buffer; `consumed` says how
/// many bytes a caller would have to consume to get past it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitOverrunError {
    /// Bytes that may be consumed to get past the over-long chunk.
    pub consumed: usize,
    /// asyncio's wording: whether the separator was found.
    pub message: &'static str,
}

impl LimitOverrunError {
    pub(crate) const FOUND: &'static str = "Separator is found, but chunk is longer than limit";
    pub(crate) const NOT_FOUND: &'static str = "Separator is not found, and chunk exceed the limit";
}

impl fmt::Display for LimitOverrunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message)
    }
}

impl std::error::Error for LimitOverrunError {}

/// Why `readexactly`, `readuntil` or `readline` returned no data.
#[derive(Debug)]
pub enum ReadError {
    /// The connection failed, or an exception was set on the reader.
    Io(io::Error),
    /// End of stream came first; the bytes read are in it.
    IncompleteRead(IncompleteReadError),
    /// The chunk before the separator is longer than the reader's limit; nothing was
    /// removed from the buffer.
    LimitOverrun(LimitOverrunError),
    /// `readuntil` was given an empty separator (asyncio raises `ValueError`).
    EmptySeparator,
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::IncompleteRead(e) => write!(f, "{e}"),
            ReadError::LimitOverrun(e) => write!(f, "{e}"),
            ReadError::EmptySeparator => {
                f.write_str("Separator should be at least one-byte string")
            }
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io(e) => Some(e),
            ReadError::IncompleteRead(e) => Some(e),
            ReadError::LimitOverrun(e) => Some(e),
            ReadError::EmptySeparator => None,
        }
    }
}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

impl From<ReadError> for io::Error {
    /// Keeps the typed error inside: `UnexpectedEof` for an incomplete read,
    /// `InvalidData` for a limit overrun, `InvalidInput` for an empty separator.
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Io(e) => e,
            ReadError::IncompleteRead(e) => io::Error::new(io::ErrorKind::UnexpectedEof, e),
            ReadError::LimitOverrun(e) => io::Error::new(io::ErrorKind::InvalidData, e),
            ReadError::EmptySeparator => io::Error::new(
                io::ErrorKind::InvalidInput,
                "Separator should be at least one-byte string",
            ),
        }
    }
}

/// A connection error kept to be returned by every later call: `io::Error` is not
/// `Clone`, so each call gets a fresh one with the same OS code (or kind and message).
#[derive(Debug)]
pub(crate) struct StoredError {
    code: Option<i32>,
    kind: io::ErrorKind,
    message: String,
}

impl StoredError {
    pub(crate) fn new(e: &io::Error) -> StoredError {
        StoredError {
            code: e.raw_os_error(),
            kind: e.kind(),
            message: e.to_string(),
        }
    }

    pub(crate) fn get(&self) -> io::Error {
        match self.code {
            Some(code) => io::Error::from_raw_os_error(code),
            None => io::Error::new(self.kind, self.message.clone()),
        }
    }
}
