//! Binary `.evtx` logs, read one 64 KiB chunk at a time with the `evtx` crate, so memory
//! stays bounded whatever the file's size and a browser can feed the file slice by slice.
//!
//! Damage never fails the whole file: the header is only advisory (chunks sit at fixed
//! offsets), a chunk that cannot be read is skipped with its reason, a chunk whose CRC32
//! does not match is still read (and flagged), and a record that cannot be read is skipped
//! while the rest of its chunk is read. Chunks are visited in file order; a log that wrapped
//! around therefore yields its events out of time order.

use std::io::{Read, Seek, SeekFrom};
use std::sync::Arc;

use evtx::err::{ChunkError, DeserializationError, EvtxError};
use evtx::{ChunkFlags, EvtxChunkData, EvtxFileHeader, HeaderFlags, ParserSettings};
use sha2::{Digest, Sha256};

use super::report::{Dialect, EvtxSummary, IssueKind, IssueLocation, hex};
use super::xml::record_event_from_xml;
use super::{Format, Output};
use crate::event::{Location, Origin};

const FILE_HEADER_SIZE: u64 = 4096;
const CHUNK_SIZE: usize = 64 * 1024;
const CHUNK_HEADER_SIZE: usize = 512;
const FILE_MAGIC: &[u8; 8] = b"ElfFile\0";
const CHUNK_MAGIC: &[u8; 8] = b"ElfChnk\0";

/// An `.evtx` file starts with `ElfFile\0`; one whose header was destroyed still has
/// `ElfChnk\0` where its first chunk starts.
pub(crate) fn looks_like_evtx(head: &[u8]) -> bool {
    head.starts_with(FILE_MAGIC)
        || head.starts_with(CHUNK_MAGIC)
        || head.get(4096..4104) == Some(CHUNK_MAGIC.as_slice())
}

/// How many bytes of an input [`looks_like_evtx`] wants to see.
pub(crate) const SNIFF_BYTES: usize = 4104;

pub(crate) fn read<R: Read + Seek>(mut reader: R, len: u64, out: &mut Output<'_>) {
    out.report.format = Some(Format::Evtx);
    out.report.dialect = Some(Dialect::Evtx);
    let mut summary = EvtxSummary::default();
    let mut hasher = Sha256::new();
    if let Err(e) = reader.seek(SeekFrom::Start(0)) {
        out.report.error(
            IssueKind::Truncated,
            None,
            format!("cannot read the input: {e}"),
        );
        return;
    }
    // A file whose first bytes are a chunk has lost its header: chunks start at 0.
    let mut header = vec![0u8; FILE_HEADER_SIZE as usize];
    let got = read_full(&mut reader, &mut header);
    header.truncate(got);
    let chunks_start = if header.starts_with(CHUNK_MAGIC) {
        out.report.error(
            IssueKind::BadHeader,
            Some(IssueLocation::Byte { offset: 0 }),
            "the file has no EVTX file header (it starts with a chunk); its chunks were read"
                .to_owned(),
        );
        0
    } else {
        hasher.update(&header);
        read_header(&header, len, &mut summary, out);
        FILE_HEADER_SIZE
    };
    let body = len.saturating_sub(chunks_start);
    summary.chunks = body / CHUNK_SIZE as u64;
    summary.trailing_bytes = body % CHUNK_SIZE as u64;
    let settings = Arc::new(ParserSettings::new().indent(false));
    let mut chunk = vec![0u8; CHUNK_SIZE];
    let mut no_crc_chunks = 0u64;
    let partial = u64::from(summary.trailing_bytes >= CHUNK_HEADER_SIZE as u64);
    for number in 0..summary.chunks + partial {
        let offset = chunks_start + number * CHUNK_SIZE as u64;
        if out.tick(offset).is_break() {
            return;
        }
        if chunks_start == 0 && number == 0 {
            // The bytes already read as a "header" are this chunk's start.
            chunk.fill(0);
            if let Some(dst) = chunk.get_mut(..header.len()) {
                dst.copy_from_slice(&header);
            }
            let rest = chunk.get_mut(header.len()..).unwrap_or_default();
            let more = read_full(&mut reader, rest);
            if let Some(bytes) = chunk.get(..header.len() + more) {
                hasher.update(bytes);
            }
        } else {
            chunk.fill(0);
            let got = read_full(&mut reader, &mut chunk);
            if let Some(bytes) = chunk.get(..got) {
                hasher.update(bytes);
            }
            if got < CHUNK_SIZE {
                out.report.truncated = true;
                out.report.error(
                    IssueKind::Truncated,
                    Some(IssueLocation::Chunk {
                        chunk: number,
                        offset,
                    }),
                    format!(
                        "the file ends {got} bytes into chunk {number}: it looks truncated (a \
                         copy cut short?); the records in that part of the chunk were read"
                    ),
                );
            }
        }
        if chunk.iter().all(|b| *b == 0) {
            summary.chunks_empty += 1;
            continue;
        }
        let data = std::mem::replace(&mut chunk, vec![0u8; CHUNK_SIZE]);
        read_chunk(
            data,
            number,
            offset,
            &settings,
            &mut summary,
            &mut no_crc_chunks,
            out,
        );
    }
    // Whatever follows the last chunk: hashed, and reported when it is not padding.
    let mut tail = Vec::new();
    if partial == 0 && summary.trailing_bytes > 0 {
        let _ = (&mut reader)
            .take(summary.trailing_bytes)
            .read_to_end(&mut tail);
        hasher.update(&tail);
        if tail.iter().any(|b| *b != 0) {
            out.report.truncated |= tail.starts_with(CHUNK_MAGIC);
            out.report.warning(
                IssueKind::Truncated,
                Some(IssueLocation::Byte {
                    offset: len - summary.trailing_bytes,
                }),
                format!(
                    "{} bytes after the last whole chunk were ignored{}",
                    summary.trailing_bytes,
                    if tail.starts_with(CHUNK_MAGIC) {
                        ": they start a chunk, so the file looks truncated"
                    } else {
                        ""
                    }
                ),
            );
        }
    }
    if no_crc_chunks > 0 {
        out.report.info(
            IssueKind::NoChecksums,
            None,
            format!(
                "{no_crc_chunks} chunks carry no CRC32 (their NO_CRC32 flag is set), so damage \
                 in them cannot be detected"
            ),
        );
    }
    out.report.sha256 = hex(&hasher.finalize());
    out.report.evtx = Some(summary);
}

fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> usize {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..) {
        if rest.is_empty() {
            break;
        }
        match reader.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    filled
}

fn read_header(header: &[u8], len: u64, summary: &mut EvtxSummary, out: &mut Output<'_>) {
    if (header.len() as u64) < FILE_HEADER_SIZE {
        out.report.truncated = true;
        out.report.error(
            IssueKind::Truncated,
            Some(IssueLocation::Byte {
                offset: header.len() as u64,
            }),
            format!(
                "the file is {len} bytes, shorter than its 4096-byte header: it looks truncated \
                 and holds no events"
            ),
        );
        return;
    }
    match EvtxFileHeader::from_bytes(header) {
        Ok(h) => {
            summary.header_chunk_count = h.chunk_count;
            summary.header_dirty = h.flags.contains(HeaderFlags::DIRTY);
            summary.header_checksum_ok = h.validate_checksum();
            if !summary.header_checksum_ok {
                out.report.warning(
                    IssueKind::HeaderChecksum,
                    Some(IssueLocation::Byte { offset: 0 }),
                    format!(
                        "the file header's CRC32 does not match (stored {:#010x}, computed \
                         {:#010x}); the header was ignored and every chunk in the file was read",
                        h.checksum, h.computed_checksum
                    ),
                );
            }
            if summary.header_dirty {
                out.report.info(
                    IssueKind::DirtyHeader,
                    Some(IssueLocation::Byte { offset: 0 }),
                    "the log was not closed cleanly (dirty header: copied while Windows was \
                     writing it), so its header may be stale; every chunk in the file was read"
                        .to_owned(),
                );
            }
        }
        Err(e) => out.report.error(
            IssueKind::BadHeader,
            Some(IssueLocation::Byte { offset: 0 }),
            format!("the file header cannot be read ({e}); every chunk in the file was read"),
        ),
    }
}

fn read_chunk(
    data: Vec<u8>,
    number: u64,
    offset: u64,
    settings: &Arc<ParserSettings>,
    summary: &mut EvtxSummary,
    no_crc_chunks: &mut u64,
    out: &mut Output<'_>,
) {
    let at = Some(IssueLocation::Chunk {
        chunk: number,
        offset,
    });
    let mut chunk = match EvtxChunkData::new(data, false) {
        Ok(chunk) => chunk,
        Err(e) => {
            summary.chunks_skipped += 1;
            let (kind, why) = describe_chunk_error(&e);
            out.report.error(
                kind,
                at,
                format!("chunk {number} was skipped, its records are lost: {why}"),
            );
            return;
        }
    };
    let (first, last) = (
        chunk.header.first_event_record_id,
        chunk.header.last_event_record_id,
    );
    let claimed = last
        .checked_sub(first)
        .map(|d| d + 1)
        .filter(|n| *n <= 4096);
    if chunk.header.flags.contains(ChunkFlags::NO_CRC32) {
        *no_crc_chunks += 1;
    }
    let header_crc_ok = chunk.validate_header_checksum();
    let data_crc_ok = chunk.validate_data_checksum();
    let parsed = chunk.parse(Arc::clone(settings));
    let mut parsed = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            summary.chunks_skipped += 1;
            out.report.skipped += claimed.unwrap_or(0);
            let (kind, why) = describe_chunk_error(&e);
            out.report.error(
                kind,
                at,
                format!(
                    "chunk {number} was skipped, its records{} are lost: {why}",
                    claimed.map_or(String::new(), |n| format!(" ({n}, ids {first}–{last})"))
                ),
            );
            return;
        }
    };
    summary.chunks_read += 1;
    let chunk_u32 = u32::try_from(number).unwrap_or(u32::MAX);
    let (mut read, mut bad) = (0u64, 0u64);
    for record in parsed.iter() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                bad += 1;
                out.skip();
                let (record_id, rel) = record_error_location(&e);
                out.report.error(
                    IssueKind::BadRecord,
                    Some(IssueLocation::Record {
                        chunk: number,
                        record_id,
                        offset: rel.map(|r| offset + r),
                    }),
                    format!("a record was skipped: {}", error_chain(&e)),
                );
                continue;
            }
        };
        let record_id = record.event_record_id;
        let record_offset = offset + record.binxml_offset;
        let origin = Origin {
            input: out.input_name().to_owned(),
            location: Location::Record {
                record_id,
                chunk: chunk_u32,
            },
        };
        let rendered = record
            .into_xml()
            .map_err(|e| error_chain(&e))
            .and_then(|r| record_event_from_xml(&r.data, origin).map_err(|e| e.to_string()));
        match rendered {
            Ok(mut event) => {
                event.record_id.get_or_insert(record_id);
                if event.provider.is_empty() {
                    out.report.warning(
                        IssueKind::IncompleteEvent,
                        Some(IssueLocation::Record {
                            chunk: number,
                            record_id: Some(record_id),
                            offset: Some(record_offset),
                        }),
                        format!(
                            "record {record_id} has no provider (its values are damaged); it \
                             was kept as event {} with an empty provider",
                            event.event_id
                        ),
                    );
                }
                read += 1;
                out.emit(event);
            }
            Err(why) => {
                bad += 1;
                out.skip();
                out.report.error(
                    IssueKind::BadRecord,
                    Some(IssueLocation::Record {
                        chunk: number,
                        record_id: Some(record_id),
                        offset: Some(record_offset),
                    }),
                    format!("record {record_id} was skipped: {why}"),
                );
            }
        }
    }
    if !header_crc_ok || !data_crc_ok {
        summary.chunks_checksum_mismatch += 1;
        let which = match (header_crc_ok, data_crc_ok) {
            (false, false) => "header and records CRC32s do",
            (false, true) => "header CRC32 does",
            _ => "records CRC32 does",
        };
        out.report.warning(
            IssueKind::ChunkChecksum,
            at,
            format!(
                "chunk {number}'s {which} not match: the chunk is damaged or was being written; \
                 {read} records were read from it anyway{}",
                if bad > 0 {
                    format!(" and {bad} could not be")
                } else {
                    String::new()
                }
            ),
        );
    }
}

/// The kind and the reason, in words, of a chunk that cannot be read.
fn describe_chunk_error(e: &ChunkError) -> (IssueKind, String) {
    match e {
        ChunkError::FailedToParseChunkHeader(DeserializationError::InvalidEvtxChunkMagic {
            magic,
        }) => (
            IssueKind::BadChunkSignature,
            format!(
                "it does not start with the ElfChnk signature (found {})",
                hex(magic.as_slice())
            ),
        ),
        ChunkError::FailedToBuildStringCache { .. } => (
            IssueKind::ChunkTables,
            format!("its string table cannot be read ({})", error_chain(e)),
        ),
        ChunkError::InvalidChunkHeaderChecksum { .. } | ChunkError::InvalidChunkChecksum { .. } => {
            (IssueKind::ChunkChecksum, error_chain(e))
        }
        _ => (IssueKind::BadChunkHeader, error_chain(e)),
    }
}

/// A record error's record id and offset within its chunk, when the error names them.
fn record_error_location(e: &EvtxError) -> (Option<u64>, Option<u64>) {
    match e {
        EvtxError::FailedToParseRecord { record_id, .. } => (Some(*record_id), None),
        EvtxError::FailedToReadRecordAt { offset, .. } => (None, Some(*offset)),
        _ => (None, None),
    }
}

/// "outer: inner: innermost", lower-cased first letters, for messages.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        source = s.source();
    }
    parts
        .iter()
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map_or_else(String::new, |f| f.to_lowercase().chain(c).collect())
        })
        .collect::<Vec<_>>()
        .join(": ")
}
