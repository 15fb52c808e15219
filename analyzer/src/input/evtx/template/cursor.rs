//! A little-endian reader over a chunk's bytes for template definitions ([`Cursor`]), and
//! what it read them from ([`ReadFrom`], what the cache compares).

use super::{known_name, utf16};

/// A little-endian reader over chunk bytes that answers `None` past the end.
pub(super) struct Cursor<'a> {
    pub(super) data: &'a [u8],
    pub(super) pos: usize,
    /// Where the names it reads are, and where it read their offsets.
    pub(super) names: NameReach,
}

#[derive(Debug, Default)]
pub(super) struct NameReach {
    pub(super) floor: usize,
    /// Where each name's offset was read.
    fields: Vec<usize>,
    /// Each name read before `floor` (most often one an earlier definition of the chunk
    /// wrote): where its length and characters are.
    below: Vec<std::ops::Range<usize>>,
    /// The same of the others.
    inside: Vec<std::ops::Range<usize>>,
    /// Where the furthest of the others ends.
    end: usize,
}

/// What a definition was read from: the bytes from its offset + 20 on (`main`), in which
/// the names' offsets were read at `fields`, and the names before it (`below`). The same
/// bytes at another offset, each name offset moved by as much, say the same: a name's
/// offset is the only position a definition holds.
#[derive(Debug)]
pub(super) struct ReadFrom {
    pub(super) main: std::ops::Range<usize>,
    pub(super) fields: Vec<usize>,
    pub(super) below: Vec<std::ops::Range<usize>>,
    /// Where the length and characters of the names in `main` are.
    pub(super) inside: Vec<std::ops::Range<usize>>,
    /// Where the reading stopped (the names it reads may lie beyond).
    pub(super) parsed: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn at(data: &'a [u8], pos: usize) -> Cursor<'a> {
        Cursor {
            data,
            pos,
            names: NameReach::default(),
        }
    }

    /// Where the bytes what it read came from are: its own and its names'.
    pub(super) fn read_from(self) -> ReadFrom {
        ReadFrom {
            main: self.names.floor..self.pos.max(self.names.end),
            fields: self.names.fields,
            below: self.names.below,
            inside: self.names.inside,
            parsed: self.pos,
        }
    }

    pub(super) fn u8(&mut self) -> Option<u8> {
        let b = *self.data.get(self.pos)?;
        self.pos += 1;
        Some(b)
    }

    pub(super) fn u16(&mut self) -> Option<u16> {
        let b = self.data.get(self.pos..self.pos + 2)?;
        self.pos += 2;
        Some(u16::from_le_bytes([*b.first()?, *b.get(1)?]))
    }

    pub(super) fn u32(&mut self) -> Option<u32> {
        let b = self.data.get(self.pos..self.pos + 4)?;
        self.pos += 4;
        Some(u32::from_le_bytes([
            *b.first()?,
            *b.get(1)?,
            *b.get(2)?,
            *b.get(3)?,
        ]))
    }

    pub(super) fn skip(&mut self, n: usize) -> Option<()> {
        let end = self.pos.checked_add(n)?;
        (end <= self.data.len()).then(|| self.pos = end)
    }

    /// UTF-16LE text of `chars` code units.
    pub(super) fn utf16(&mut self, chars: usize) -> Option<String> {
        let bytes = self.data.get(self.pos..self.pos.checked_add(chars * 2)?)?;
        self.pos += chars * 2;
        utf16(bytes)
    }

    /// A name reference: an offset into the chunk's string table, whose entry may follow
    /// inline (then it is skipped). Returns the name when it is one of [`KNOWN_NAMES`](super::KNOWN_NAMES), `""`
    /// for any other (valid) name.
    pub(super) fn name(&mut self) -> Option<&'static str> {
        Some(self.name_and_text()?.0)
    }

    /// [`Cursor::name`] and the name's UTF-16LE bytes.
    pub(super) fn name_and_text(&mut self) -> Option<(&'static str, &'a [u8])> {
        let field = self.pos;
        let offset = usize::try_from(self.u32()?).ok()?;
        self.names.fields.push(field);
        if offset == self.pos {
            // next string (4), hash (2), length (2), UTF-16 characters, NUL (2)
            let mut c = Cursor::at(self.data, self.pos + 6);
            let len = usize::from(c.u16()?);
            self.skip(10 + 2 * len)?;
        }
        let mut c = Cursor::at(self.data, offset.checked_add(6)?);
        let len = usize::from(c.u16()?);
        let end = c.pos.checked_add(len.checked_mul(2)?)?;
        let bytes = self.data.get(c.pos..end)?;
        // Its length and characters (not the entry's link and hash, which are not read).
        if offset < self.names.floor {
            self.names.below.push(offset + 6..end);
        } else {
            self.names.inside.push(offset + 6..end);
            self.names.end = self.names.end.max(end);
        }
        Some((known_name(bytes)?, bytes))
    }
}
