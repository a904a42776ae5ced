//! A connection's query buffer: the bytes read and not yet parsed, read straight
//! from the socket into it (`StreamReader::read_into`), and the bound on them.
//! `connection.rs` calls `fill` then takes commands out with `next` until it says
//! `NeedMore`; the parsing itself is `resp.rs`'s pure function.

use std::io;

use aloop::StreamReader;

use crate::resp::{self, Command, Parsed, ProtocolError};

/// Room made for each read; also the size an idle connection's buffer shrinks back to.
const READ_SIZE: usize = 16 * 1024;

pub struct QueryBuffer {
    /// All initialised (so reads need no `unsafe`); `data[start..end]` is unparsed.
    data: Vec<u8>,
    start: usize,
    end: usize,
    /// Unparsed bytes needed before parsing can progress (from `Parsed::Incomplete`):
    /// a request arriving in many reads is not parsed again after each of them.
    needed: usize,
    limit: usize,
}

/// What [`QueryBuffer::next`] found.
pub enum Next<'a> {
    /// A request, and the bytes to [`consume`](QueryBuffer::consume) once it is done.
    Command(Command<'a>, usize),
    /// Every whole request is taken: read more.
    NeedMore,
    /// Not RESP: answer and close.
    Malformed(ProtocolError),
    /// The request needs more than the buffer's bound: answer and close.
    TooBig,
}

impl QueryBuffer {
    pub fn new(limit: usize) -> QueryBuffer {
        QueryBuffer {
            data: vec![0; READ_SIZE.min(limit)],
            start: 0,
            end: 0,
            needed: 0,
            limit,
        }
    }

    /// The bound it was made with.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Reads what the socket has; returns how many bytes (0: end of stream).
    pub async fn fill(&mut self, reader: &StreamReader) -> io::Result<usize> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.data.len() > 4 * READ_SIZE {
                // An idle connection does not keep the memory of its largest request.
                self.data = vec![0; READ_SIZE.min(self.limit)];
            }
        }
        if self.data.len() - self.end < READ_SIZE {
            self.make_room();
        }
        let n = reader.read_into(&mut self.data[self.end..]).await?;
        self.end += n;
        Ok(n)
    }

    /// Room for the next read: the unparsed bytes moved to the front, or a larger
    /// buffer (at once as large as the pending request needs), within the bound.
    fn make_room(&mut self) {
        if self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.data.len() - self.end < READ_SIZE && self.data.len() < self.limit {
            let size = (self.data.len() * 2).max(self.needed).min(self.limit);
            self.data.resize(size, 0);
        }
    }

    /// The next whole request in the buffer.
    pub fn next(&mut self) -> Next<'_> {
        let pending = self.end - self.start;
        if pending < self.needed {
            return self.need_more();
        }
        match resp::parse(&self.data[self.start..self.end]) {
            Parsed::Complete(cmd, used) => Next::Command(cmd, used),
            Parsed::Incomplete { needed } => {
                self.needed = needed;
                self.need_more()
            }
            Parsed::Error(e) => Next::Malformed(e),
        }
    }

    /// `NeedMore`, unless the request can never fit in the bound: it needs more, or
    /// it fills the whole buffer and is still not complete.
    fn need_more(&self) -> Next<'static> {
        if self.needed > self.limit || self.end - self.start >= self.limit {
            Next::TooBig
        } else {
            Next::NeedMore
        }
    }

    /// Drops a request [`next`](Self::next) returned, now that it is done.
    pub fn consume(&mut self, used: usize) {
        self.start += used;
        self.needed = 0;
    }
}
