//! One archive member as the normal readers want it: `Read + Seek` over a stream that can
//! only go forward (a deflated member), never past the size the archive declares.
//!
//! The readers look at an input's first bytes, then start again from byte 0
//! ([`super::super::read_seekable`], the `.evtx` reader); the member's first
//! [`SNIFF_BYTES`] are kept, so going back there replays them. Any other backward seek is
//! an error: no reader asks for one.

use std::io::{self, Read, Seek, SeekFrom};

use super::super::{SNIFF_BYTES, seek_target};

/// A forward-only member seen as a seekable input of `len` bytes.
pub(super) struct Member<Z> {
    inner: Z,
    /// The first bytes, read as the member was opened.
    head: Vec<u8>,
    /// Where the next read starts.
    pos: u64,
    /// Bytes taken from `inner` so far (at least `head.len()`).
    taken: u64,
    len: u64,
    /// The first error `inner` gave (bad data, a CRC-32 mismatch): the reader saw an end
    /// there; the member's report says what it was.
    pub(super) failure: Option<(u64, String)>,
}

impl<Z: Read> Member<Z> {
    /// Opens `inner`, declared to hold `len` bytes.
    pub(super) fn new(mut inner: Z, len: u64) -> Member<Z> {
        let want = usize::try_from(len).unwrap_or(usize::MAX).min(SNIFF_BYTES);
        let mut head = vec![0u8; want];
        let mut failure = None;
        let mut got = 0;
        while got < want {
            match inner.read(head.get_mut(got..).unwrap_or_default()) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    failure = Some((got as u64, e.to_string()));
                    break;
                }
            }
        }
        head.truncate(got);
        let taken = got as u64;
        Member {
            inner,
            head,
            pos: 0,
            taken,
            len,
            failure,
        }
    }

    /// The member's first bytes (fewer than [`SNIFF_BYTES`] when it is shorter).
    pub(super) fn head(&self) -> &[u8] {
        &self.head
    }

    /// Whether every declared byte was taken from the member.
    pub(super) fn read_to_the_end(&self) -> bool {
        self.taken >= self.len
    }

    /// After the reader is done with a member read to its declared end: whether the member
    /// holds more than it declares (`Err` when its data ends badly — the CRC-32 check
    /// comes with the end).
    pub(super) fn holds_more(&mut self) -> io::Result<bool> {
        let mut one = [0u8; 1];
        loop {
            match self.inner.read(&mut one) {
                Ok(n) => return Ok(n > 0),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn read_inner(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let room = self.len.saturating_sub(self.taken);
        let want = usize::try_from(room).unwrap_or(usize::MAX).min(out.len());
        let Some(buf) = out.get_mut(..want) else {
            return Ok(0);
        };
        if buf.is_empty() || self.failure.is_some() {
            return Ok(0);
        }
        match self.inner.read(buf) {
            Ok(n) => {
                self.taken += n as u64;
                Ok(n)
            }
            Err(e) => {
                self.failure = Some((self.taken, e.to_string()));
                Err(e)
            }
        }
    }
}

impl<Z: Read> Read for Member<Z> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        let head_len = self.head.len() as u64;
        if self.pos < head_len {
            let from = usize::try_from(self.pos).unwrap_or(usize::MAX);
            let rest = self.head.get(from..).unwrap_or_default();
            let n = rest.len().min(out.len());
            out.get_mut(..n)
                .unwrap_or_default()
                .copy_from_slice(rest.get(..n).unwrap_or_default());
            self.pos += n as u64;
            return Ok(n);
        }
        // Forward seeks past what was taken are served by reading on.
        while self.taken < self.pos {
            let mut skip = [0u8; 4096];
            let gap = usize::try_from(self.pos - self.taken).unwrap_or(usize::MAX);
            let n = self.read_inner(skip.get_mut(..gap.min(4096)).unwrap_or_default())?;
            if n == 0 {
                return Ok(0);
            }
        }
        if self.taken != self.pos {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "an archive member cannot be read backwards",
            ));
        }
        let n = self.read_inner(out)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<Z: Read> Seek for Member<Z> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = seek_target(self.pos, self.len, to)?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn replays_its_head_and_stops_at_the_declared_size() {
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut m = Member::new(&bytes[..], 9_000);
        assert_eq!(m.head(), &bytes[..SNIFF_BYTES]);
        let mut again = Vec::new();
        m.seek(SeekFrom::Start(0)).unwrap();
        m.read_to_end(&mut again).unwrap();
        assert_eq!(again, &bytes[..9_000]);
        assert!(m.read_to_the_end());
        assert!(
            m.holds_more().unwrap(),
            "1,000 bytes past the declared size"
        );
        // Back into the head: fine; behind the head and before what was read: refused.
        m.seek(SeekFrom::Start(10)).unwrap();
        assert_eq!(m.read(&mut [0u8; 4]).unwrap(), 4);
        m.seek(SeekFrom::Start(5_000)).unwrap();
        assert!(m.read(&mut [0u8; 4]).is_err());
    }

    #[test]
    fn a_forward_seek_reads_on() {
        let bytes: Vec<u8> = (0..20_000u32).map(|i| (i % 241) as u8).collect();
        let mut m = Member::new(&bytes[..], 20_000);
        m.seek(SeekFrom::Start(12_000)).unwrap();
        let mut four = [0u8; 4];
        m.read_exact(&mut four).unwrap();
        assert_eq!(four, bytes[12_000..12_004]);
    }
}
