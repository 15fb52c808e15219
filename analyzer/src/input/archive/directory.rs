//! What an archive's end record says about its central directory — how many members, how
//! many bytes — read before the `zip` crate reads the directory into memory, so that a
//! hostile count cannot size an allocation ([`super::MAX_DIRECTORY_BYTES`],
//! [`super::MAX_MEMBERS`]). Only these two numbers are read here; the crate reads the rest.

use std::io::{Read, Seek, SeekFrom};

const END: &[u8; 4] = b"PK\x05\x06";
const ZIP64_LOCATOR: &[u8; 4] = b"PK\x06\x07";
const ZIP64_END: &[u8; 4] = b"PK\x06\x06";
/// The end record (22 bytes) and the longest comment after it.
const SEARCH: u64 = 22 + 0xFFFF;

/// The central directory's size as the end record states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Directory {
    pub(super) members: u64,
    pub(super) bytes: u64,
}

/// The end record's figures (the ZIP64 record's when the end record defers to it); `None`
/// when no end record is found (the archive is cut short or is not one).
pub(super) fn measure<R: Read + Seek>(reader: &mut R, len: u64) -> Option<Directory> {
    let start = len.saturating_sub(SEARCH);
    reader.seek(SeekFrom::Start(start)).ok()?;
    let mut tail = Vec::new();
    reader.take(SEARCH).read_to_end(&mut tail).ok()?;
    let at = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| tail.get(i..i + 4) == Some(END.as_slice()))?;
    let record = tail.get(at..at + 22)?;
    let members = u64::from(le16(record, 10)?);
    let bytes = u64::from(le32(record, 12)?);
    if members != 0xFFFF && bytes != 0xFFFF_FFFF {
        return Some(Directory { members, bytes });
    }
    // ZIP64: the locator just before the end record points at the ZIP64 end record.
    let locator = tail.get(at.checked_sub(20)?..at)?;
    if locator.get(..4) != Some(ZIP64_LOCATOR.as_slice()) {
        return None;
    }
    let offset = le64(locator, 8)?;
    reader.seek(SeekFrom::Start(offset)).ok()?;
    let mut record = [0u8; 56];
    reader.read_exact(&mut record).ok()?;
    if record.get(..4) != Some(ZIP64_END.as_slice()) {
        return None;
    }
    Some(Directory {
        members: le64(&record, 32)?,
        bytes: le64(&record, 40)?,
    })
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}
