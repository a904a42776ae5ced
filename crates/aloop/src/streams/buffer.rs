//! The byte buffers behind the reader and the writer: a `Vec<u8>` with a start offset,
//! so consuming from the front is O(1) and the storage is reused.
//!
//! The reader's buffer keeps its whole `Vec` initialised (zeroed once when it grows) and
//! tracks the filled part separately: socket reads then go straight into the spare
//! part with no allocation, no zeroing and no copy per chunk in steady state. Taking
//! bytes out is a copy and an index bump and nothing else; moving the rest to the
//! front, and giving back storage left over from a burst, wait until the next fill
//! (which pays a syscall anyway).

use std::mem::MaybeUninit;

/// Spare room a socket read is given at least.
pub(crate) const MIN_READ: usize = 8 * 1024;
/// First size of a reader's storage.
const INITIAL: usize = 16 * 1024;
/// Storage above this is given back once the buffer empties before a read (a burst, a
/// long `read_to_eof`), so a busy connection costs `INITIAL`, not its peak; below it
/// the room is kept while reads go on, and cut back to `INITIAL` once the socket is
/// found drained with nothing buffered ([`ReadBuffer::idle`]).
const KEEP: usize = 256 * 1024;

/// Filled bytes are `data[start..end]`; `data[end..]` is spare (initialised) room.
#[derive(Debug, Default)]
pub(crate) struct ReadBuffer {
    data: Vec<u8>,
    start: usize,
    end: usize,
    /// Stream position of the first filled byte: bytes taken out, or read past the
    /// buffer straight into a caller's, since the buffer was made (see `search.rs`).
    consumed: u64,
}

impl ReadBuffer {
    pub(crate) fn new() -> ReadBuffer {
        ReadBuffer::default()
    }

    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.end - self.start
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.start == self.end
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.data[self.start..self.end]
    }

    /// Bytes ever taken out of the buffer.
    #[inline]
    pub(crate) fn consumed(&self) -> u64 {
        self.consumed
    }

    /// Removes and returns the first `n` filled bytes (`n <= len`).
    #[inline]
    pub(crate) fn consume(&mut self, n: usize) -> Vec<u8> {
        let out = self.data[self.start..self.start + n].to_vec();
        self.advance(n);
        out
    }

    /// Removes the first `dst.len()` filled bytes (`<= len`) into `dst`.
    #[inline]
    pub(crate) fn consume_into(&mut self, dst: &mut [u8]) {
        let n = dst.len();
        dst.copy_from_slice(&self.data[self.start..self.start + n]);
        self.advance(n);
    }

    /// Removes the first `n` filled bytes (`<= len`), appending them to `dst`.
    #[inline]
    pub(crate) fn consume_append(&mut self, n: usize, dst: &mut Vec<u8>) {
        dst.extend_from_slice(&self.data[self.start..self.start + n]);
        self.advance(n);
    }

    /// Drops the first `n` filled bytes (`n <= len`): bytes a caller already took a
    /// copy of (`AsyncBufRead::consume`).
    #[inline]
    pub(crate) fn discard(&mut self, n: usize) {
        self.advance(n);
    }

    /// Counts `n` bytes the socket gave straight to a caller, past the (empty)
    /// buffer, so stream positions stay right.
    #[inline]
    pub(crate) fn skip(&mut self, n: usize) {
        debug_assert!(self.is_empty());
        self.consumed += n as u64;
    }

    /// Puts `bytes` back in front (a read that took them was dropped unfinished).
    /// After a `consume_into` the room is normally right there in front.
    pub(crate) fn unread(&mut self, bytes: &[u8]) {
        let n = bytes.len();
        if self.start < n {
            let len = self.len();
            if self.data.len() < n + len {
                self.data.resize((n + len).max(INITIAL), 0);
            }
            self.data.copy_within(self.start..self.end, n);
            self.start = n;
            self.end = n + len;
        }
        self.start -= n;
        self.data[self.start..self.start + n].copy_from_slice(bytes);
        self.consumed -= n as u64;
    }

    #[inline]
    fn advance(&mut self, n: usize) {
        debug_assert!(n <= self.len());
        self.start += n;
        self.consumed += n as u64;
    }

    /// Makes room for at least `want` more bytes. The common case (the buffer was
    /// emptied, the storage is big enough) is two compares, inline: this runs before
    /// every socket read, including the one that finds nothing there yet.
    #[inline]
    fn reserve(&mut self, want: usize) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.data.len() - self.end < want || self.data.len() > KEEP {
            self.make_room(want);
        }
    }

    /// `reserve`'s rare part: gives back a burst's storage once the buffer is empty
    /// (unless this read needs that much again), moves the filled part to the front
    /// if that frees enough, grows otherwise.
    #[cold]
    #[inline(never)]
    fn make_room(&mut self, want: usize) {
        if self.start == self.end && self.data.len() > KEEP && want <= KEEP {
            self.data = Vec::new();
        }
        if self.data.len() - self.end >= want {
            return;
        }
        if self.start > 0 {
            self.data.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.data.len() - self.end < want {
            let size = (self.end + want).max(self.data.len() * 2).max(INITIAL);
            self.data.resize(size, 0);
        }
    }

    /// The socket was found drained with nothing buffered: room grown past `INITIAL`
    /// for a burst (a long line, a big body) is cut back to it, so a connection idle
    /// after a burst holds what it held before one. Two compares when there is nothing
    /// to do (every wait for a request).
    #[inline]
    pub(crate) fn idle(&mut self) {
        if self.data.len() > INITIAL && self.start == self.end {
            self.shrink();
        }
    }

    #[cold]
    fn shrink(&mut self) {
        self.data.truncate(INITIAL);
        self.data.shrink_to_fit();
        self.start = 0;
        self.end = 0;
    }

    /// The spare room for a socket read: at least `want` bytes (`MIN_READ` if less).
    #[inline]
    pub(crate) fn spare(&mut self, want: usize) -> &mut [u8] {
        self.reserve(want.max(MIN_READ));
        &mut self.data[self.end..]
    }

    /// Marks `n` bytes of the spare room as filled.
    #[inline]
    pub(crate) fn commit(&mut self, n: usize) {
        debug_assert!(self.end + n <= self.data.len());
        self.end += n;
    }

    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        self.reserve(bytes.len());
        self.data[self.end..self.end + bytes.len()].copy_from_slice(bytes);
        self.end += bytes.len();
    }
}

/// Storage a writer keeps once everything queued is sent: a batch of replies written
/// one by one (coalesced) reuses it; a bigger backlog's storage goes back, so a
/// connection idle after a large reply holds none of it.
const WRITE_KEEP: usize = 4 * 1024;

/// Writes up to this long are copied in by [`WriteBuffer::extend_small`].
const SMALL_WRITE: usize = 16;

/// The first `N` bytes of `bytes` (which holds exactly `N`) as spare-room values.
#[inline(always)]
fn uninit<const N: usize>(bytes: &[u8]) -> [MaybeUninit<u8>; N] {
    let mut out = [MaybeUninit::uninit(); N];
    for (dst, &b) in out.iter_mut().zip(bytes) {
        dst.write(b);
    }
    out
}

/// The writer's pending bytes: `data[start..]`.
#[derive(Debug, Default)]
pub(crate) struct WriteBuffer {
    data: Vec<u8>,
    start: usize,
}

impl WriteBuffer {
    pub(crate) fn len(&self) -> usize {
        self.data.len() - self.start
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.data[self.start..]
    }

    #[inline]
    pub(crate) fn extend(&mut self, bytes: &[u8]) {
        if self.extend_small(bytes) {
            return;
        }
        // Compact before growing so a steady trickle reuses the same storage.
        if self.start > 0 && self.data.capacity() - self.data.len() < bytes.len() {
            self.data.drain(..self.start);
            self.start = 0;
        }
        self.data.extend_from_slice(bytes);
    }

    /// `extend` for a short write (a pipelined server's `+OK\r\n`) with room to spare:
    /// two fixed-size copies in place of a call to `memcpy`, which costs more than the
    /// copy at this size. `false`, having done nothing, for anything else.
    #[inline(always)]
    fn extend_small(&mut self, bytes: &[u8]) -> bool {
        let n = bytes.len();
        let len = self.data.len();
        let spare = self.data.spare_capacity_mut();
        if n > SMALL_WRITE || spare.len() < SMALL_WRITE {
            return false;
        }
        // The window's first and last 8 (or 4) bytes, two copies that overlap, cover
        // every length from 8 to 16 (or 4 to 7); under 4, byte by byte.
        if n >= 8 {
            spare[..8].copy_from_slice(&uninit::<8>(&bytes[..8]));
            spare[n - 8..n].copy_from_slice(&uninit::<8>(&bytes[n - 8..]));
        } else if n >= 4 {
            spare[..4].copy_from_slice(&uninit::<4>(&bytes[..4]));
            spare[n - 4..n].copy_from_slice(&uninit::<4>(&bytes[n - 4..]));
        } else {
            for (dst, &b) in spare.iter_mut().zip(bytes) {
                dst.write(b);
            }
        }
        // SAFETY: the `n` bytes after the first `len` were written just above (each
        // branch covers `spare[..n]`), and `len + n <= capacity` since `n <= spare.len()`.
        unsafe { self.data.set_len(len + n) };
        true
    }

    pub(crate) fn consume(&mut self, n: usize) {
        self.start = (self.start + n).min(self.data.len());
        if self.start == self.data.len() {
            self.data.clear();
            self.start = 0;
            if self.data.capacity() > WRITE_KEEP {
                self.data = Vec::new();
            }
        }
    }

    pub(crate) fn clear(&mut self) {
        self.data = Vec::new();
        self.start = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::{ReadBuffer, WriteBuffer, INITIAL, WRITE_KEEP};

    #[test]
    fn a_reader_idle_after_a_burst_keeps_only_its_first_room() {
        let mut buf = ReadBuffer::new();
        let room = buf.spare(100_000).len();
        assert!(room >= 100_000);
        buf.commit(100_000);
        // Not while bytes are buffered: they are the reader's.
        buf.idle();
        assert_eq!(buf.len(), 100_000);
        assert_eq!(buf.consume(100_000).len(), 100_000);
        buf.idle();
        assert_eq!(buf.data.len(), INITIAL);
        assert!(buf.data.capacity() < 2 * INITIAL);
        // Reads go on as before, and the stream position is kept.
        buf.spare(0)[..3].copy_from_slice(b"abc");
        buf.commit(3);
        assert_eq!(buf.consume(3), b"abc");
        assert_eq!(buf.consumed(), 100_003);
    }

    #[test]
    fn writes_of_every_short_length_land_whole_and_in_order() {
        // Every length each side of the small-copy paths (0..=3 byte by byte, 4..=7,
        // 8..=16 in two overlapping copies, then memcpy), at every fill level up to
        // past a growth, interleaved with partial sends, against a plain byte queue.
        let mut buf = WriteBuffer::default();
        let mut model = std::collections::VecDeque::new();
        let mut next = 0u8;
        for round in 0..400 {
            let n = round % 41;
            let bytes: Vec<u8> = (0..n)
                .map(|_| {
                    next = next.wrapping_add(1);
                    next
                })
                .collect();
            buf.extend(&bytes);
            model.extend(bytes);
            assert_eq!(buf.as_slice(), model.make_contiguous(), "round {round}");
            if round % 7 == 6 {
                let sent = buf.len() / 2 + round % 3;
                let sent = sent.min(buf.len());
                buf.consume(sent);
                model.drain(..sent);
                assert_eq!(buf.as_slice(), model.make_contiguous(), "round {round}");
            }
        }
    }

    #[test]
    fn a_writer_gives_back_a_backlog_but_keeps_room_for_a_batch() {
        let mut buf = WriteBuffer::default();
        buf.extend(&[1; 1000]);
        buf.consume(1000);
        assert!(buf.data.capacity() >= 1000, "a batch's room is kept");
        buf.extend(&vec![2; 3 * WRITE_KEEP]);
        buf.consume(WRITE_KEEP);
        assert_eq!(buf.len(), 2 * WRITE_KEEP, "a partial send keeps the rest");
        buf.consume(2 * WRITE_KEEP);
        assert_eq!(buf.data.capacity(), 0, "a backlog's room goes back");
    }
}
