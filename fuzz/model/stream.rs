//! The reference model of a hand-fed `StreamReader` for the `stream_reader` fuzz
//! target (`fuzz_targets/stream_reader.rs`): asyncio's `StreamReader` semantics over a
//! plain `Vec<u8>`, written from asyncio's documentation and `docs/asyncio-mapping.md`,
//! with aloop's deliberate differences:
//! - `readline()` past the limit returns the error and keeps the buffer (asyncio drops
//!   the line, H8);
//! - `lines()` ends after yielding one error;
//! - `feed_data` after `feed_eof` is ignored (asyncio asserts).
//!
//! `poll` answers a read from the current state, or `None` while it has to wait, and
//! takes what it returns out of the buffer. It is asked after every step, as the real
//! read is polled after every feed, so the limit rule (checked each time more data
//! arrived) is applied at the same moments.

use std::io::ErrorKind;

/// A read, named after the method the fuzz target calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Read(usize),
    ReadInto(usize),
    ReadExactly(usize),
    ReadExactlyInto(usize),
    ReadUntil(Vec<u8>),
    /// `readuntil_into`: `readuntil`'s answer, appended to the caller's `Vec`.
    ReadUntilInto(Vec<u8>),
    ReadLine,
    /// `readline_into`: `readline`'s answer, appended to the caller's `Vec`.
    ReadLineInto,
    ReadToEof,
    /// Up to this many items of `lines()`.
    Lines(usize),
    /// `AsyncBufRead::poll_fill_buf`, then `consume` of up to this many bytes.
    BufRead(usize),
}

/// A read's outcome, comparable between the reader and the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Got {
    Bytes(Vec<u8>),
    /// A `lines()` read is over (its items are compared separately).
    LinesDone,
    Io(ErrorKind),
    Incomplete {
        partial: Vec<u8>,
        expected: Option<usize>,
    },
    Overrun {
        consumed: usize,
        /// asyncio's two messages: the separator was found (past the limit) or not.
        found: bool,
    },
    EmptySeparator,
}

/// One item a `lines()` stream yielded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item {
    Line(Vec<u8>),
    Error(Got),
}

pub struct Model {
    buf: Vec<u8>,
    eof: bool,
    exception: Option<ErrorKind>,
    limit: usize,
    /// The read started and not yet answered.
    in_flight: Option<Call>,
    /// What the current `lines()` read yielded so far, and whether it ended.
    pub lines: Vec<Item>,
    lines_ended: bool,
}

impl Model {
    pub fn new(limit: usize) -> Model {
        Model {
            buf: Vec::new(),
            eof: false,
            exception: None,
            limit,
            in_flight: None,
            lines: Vec::new(),
            lines_ended: false,
        }
    }

    pub fn feed(&mut self, data: &[u8]) {
        if !self.eof {
            self.buf.extend_from_slice(data);
        }
    }

    pub fn feed_eof(&mut self) {
        self.eof = true;
    }

    pub fn set_exception(&mut self, kind: ErrorKind) {
        self.exception = Some(kind);
    }

    pub fn has_exception(&self) -> bool {
        self.exception.is_some()
    }

    pub fn start(&mut self, read: &Call) {
        self.in_flight = Some(read.clone());
        if let Call::Lines(_) = read {
            self.lines.clear();
            self.lines_ended = false;
        }
    }

    /// A read in flight was cancelled: a waiting read has taken nothing (the bytes a
    /// `readexactly_into` held go back), lines already yielded stay taken.
    pub fn cancel(&mut self, read: &Call) {
        assert_eq!(self.in_flight.as_ref(), Some(read));
        self.in_flight = None;
    }

    /// What `buffered()` reports: a waiting `readexactly_into` holds every buffered
    /// byte in the caller's buffer.
    pub fn visible_len(&self) -> usize {
        match self.in_flight {
            Some(Call::ReadExactlyInto(_)) => 0,
            _ => self.buf.len(),
        }
    }

    pub fn at_eof(&self) -> bool {
        self.eof && self.visible_len() == 0
    }

    fn take(&mut self, n: usize) -> Vec<u8> {
        self.buf.drain(..n).collect()
    }

    /// Bytes a `BufRead` consumed (it may lend fewer than the model's maximum).
    pub fn consume(&mut self, n: usize) {
        self.take(n);
    }

    /// The answer to `read` now, `None` while it waits. Answering ends the read.
    /// A `BufRead` answer is the longest window allowed, not consumed: the caller
    /// checks what was lent against it and calls [`consume`](Self::consume).
    pub fn poll(&mut self, read: &Call) -> Option<Got> {
        let answer = self.answer(read);
        if answer.is_some() {
            self.in_flight = None;
        }
        answer
    }

    fn answer(&mut self, read: &Call) -> Option<Got> {
        if let Call::ReadUntil(sep) | Call::ReadUntilInto(sep) = read {
            if sep.is_empty() {
                return Some(Got::EmptySeparator);
            }
        }
        if let Call::Lines(n) = read {
            return self.lines_step(*n);
        }
        if let Some(kind) = self.exception {
            return Some(Got::Io(kind));
        }
        let len = self.buf.len();
        match read {
            Call::Read(n) | Call::ReadInto(n) | Call::BufRead(n) => {
                // poll_fill_buf knows nothing of the `n` consumed after it: it waits
                // for data even then.
                let asks_nothing = *n == 0 && !matches!(read, Call::BufRead(_));
                if asks_nothing || (self.eof && len == 0) {
                    return Some(Got::Bytes(Vec::new()));
                }
                if len == 0 {
                    return None;
                }
                let k = (*n).min(len);
                Some(Got::Bytes(match read {
                    Call::BufRead(_) => self.buf[..k].to_vec(),
                    _ => self.take(k),
                }))
            }
            Call::ReadExactly(n) | Call::ReadExactlyInto(n) => {
                if len >= *n {
                    return Some(Got::Bytes(self.take(*n)));
                }
                if self.eof {
                    return Some(Got::Incomplete {
                        partial: self.take(len),
                        expected: Some(*n),
                    });
                }
                None
            }
            Call::ReadToEof => self.eof.then(|| Got::Bytes(self.take(len))),
            Call::ReadUntil(sep) | Call::ReadUntilInto(sep) => self.readuntil(sep),
            Call::ReadLine | Call::ReadLineInto => self.readline(),
            Call::Lines(_) => unreachable!("answered above"),
        }
    }

    /// asyncio's `readuntil`: the chunk before the separator may be `limit` long; the
    /// limit is also passed when, with no separator in sight, the bytes that can no
    /// longer start one (all but the last `len(sep) - 1`) number more than `limit`.
    /// Over the limit, nothing is consumed.
    fn readuntil(&mut self, sep: &[u8]) -> Option<Got> {
        let len = self.buf.len();
        if let Some(i) = self.buf.windows(sep.len()).position(|w| w == sep) {
            if i > self.limit {
                return Some(Got::Overrun {
                    consumed: i,
                    found: true,
                });
            }
            return Some(Got::Bytes(self.take(i + sep.len())));
        }
        if len >= sep.len() {
            let searched = len + 1 - sep.len();
            if searched > self.limit {
                return Some(Got::Overrun {
                    consumed: searched,
                    found: false,
                });
            }
        }
        self.eof.then(|| Got::Incomplete {
            partial: self.take(len),
            expected: None,
        })
    }

    /// `readuntil(b"\n")`, with the unterminated rest (or empty) at the end.
    fn readline(&mut self) -> Option<Got> {
        match self.readuntil(b"\n")? {
            Got::Incomplete { partial, .. } => Some(Got::Bytes(partial)),
            other => Some(other),
        }
    }

    /// `lines()`: readline until it returns empty or an error (yielded, then the end),
    /// at most `n` items.
    fn lines_step(&mut self, n: usize) -> Option<Got> {
        while !self.lines_ended && self.lines.len() < n {
            let item = match self.exception {
                Some(kind) => Got::Io(kind),
                None => self.readline()?,
            };
            match item {
                Got::Bytes(line) if line.is_empty() => self.lines_ended = true,
                Got::Bytes(line) => self.lines.push(Item::Line(line)),
                error => {
                    self.lines.push(Item::Error(error));
                    self.lines_ended = true;
                }
            }
        }
        Some(Got::LinesDone)
    }
}
