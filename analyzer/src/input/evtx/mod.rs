//! Binary `.evtx` logs, read one 64 KiB chunk at a time with the `evtx` crate, so memory
//! stays bounded whatever the file's size and a browser can feed the file slice by slice.
//!
//! Damage never fails the whole file: the header is only advisory (chunks sit at fixed
//! offsets), a chunk that cannot be read is skipped with its reason, a chunk whose CRC32
//! does not match is still read (and flagged), and a record that cannot be read is skipped
//! while the rest of its chunk is read. Chunks are visited in file order; a log that wrapped
//! around therefore yields its events out of time order.

use std::io::{Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::sync::Arc;

use evtx::{EvtxFileHeader, HeaderFlags, ParserSettings};
use sha2::{Digest, Sha256};

use super::report::{Dialect, EvtxSummary, InputIssue, IssueKind, IssueLocation, Severity, hex};
use super::{Details, Format, Output};

mod build;
mod chunk;
mod crc;
mod range;
mod recent;
mod spare;
mod template;
mod value;
mod walk;

use chunk::{ChunkOutcome, ChunkState, Emitted, parse_chunk};
pub use crc::update as chunk_crc32;
pub use range::{ChunkPart, EvtxMerge, parse_evtx_chunks, parse_evtx_chunks_reusing};
pub use spare::EventSpare;

const FILE_HEADER_SIZE: u64 = 4096;
const CHUNK_SIZE: usize = 64 * 1024;
/// A chunk's header; its first record starts right after it.
const CHUNK_HEADER_SIZE: usize = 512;
const FILE_MAGIC: &[u8; 8] = b"ElfFile\0";
const CHUNK_MAGIC: &[u8; 8] = b"ElfChnk\0";

/// Whether `head` (the first [`SNIFF_BYTES`] of an input, or all of it) starts an `.evtx`:
/// the file magic `ElfFile\0`, or — where the header was destroyed — `ElfChnk\0` where the
/// first chunk starts (at 0, or at 4096 behind the lost header).
pub fn looks_like_evtx(head: &[u8]) -> bool {
    head.starts_with(FILE_MAGIC)
        || head.starts_with(CHUNK_MAGIC)
        || head.get(4096..4104) == Some(CHUNK_MAGIC.as_slice())
}

/// How many bytes of an input [`looks_like_evtx`] wants to see.
pub const SNIFF_BYTES: usize = 4104;

pub(crate) fn read<R: Read + Seek>(mut reader: R, len: u64, out: &mut Output<'_>) {
    let mut hasher = Sha256::new();
    if let Err(e) = reader.seek(SeekFrom::Start(0)) {
        out.report.format = Some(Format::Evtx);
        out.report.dialect = Some(Dialect::Evtx);
        out.report.error(
            IssueKind::Truncated,
            None,
            format!("cannot read the input: {e}"),
        );
        return;
    }
    let mut header = vec![0u8; FILE_HEADER_SIZE as usize];
    let got = read_full(&mut reader, &mut header);
    header.truncate(got);
    let (mut summary, layout) = begin(&header, len, out);
    if layout.chunks_start > 0 {
        hasher.update(&header);
    }
    let mut source = ChunkSource {
        reader: &mut reader,
        hasher: Some(&mut hasher),
        header: &header,
        chunks_start: layout.chunks_start,
    };
    let job = ChunkJob {
        input: out.input_name().to_owned(),
        details: out.details(),
    };
    let mut assembler = Assembler {
        summary: &mut summary,
        no_crc_chunks: 0,
    };
    let finished = sequential::run(&mut source, layout.chunks, &job, &mut assembler, out);
    let no_crc_chunks = assembler.no_crc_chunks;
    if finished.is_break() {
        return;
    }
    // Whatever follows the last chunk: hashed, and reported when it is not padding.
    let mut tail = Vec::new();
    if layout.trailing_bytes_after_chunks() > 0 {
        let _ = (&mut reader)
            .take(summary.trailing_bytes)
            .read_to_end(&mut tail);
        hasher.update(&tail);
    }
    end(summary, no_crc_chunks, &tail, hex(&hasher.finalize()), out);
}

/// The header stage: format, the file header's checks, where the chunks are.
fn begin(header: &[u8], len: u64, out: &mut Output<'_>) -> (EvtxSummary, EvtxLayout) {
    out.report.format = Some(Format::Evtx);
    out.report.dialect = Some(Dialect::Evtx);
    let mut summary = EvtxSummary::default();
    let layout = EvtxLayout::new(header, len);
    if layout.chunks_start == 0 {
        // A file whose first bytes are a chunk has lost its header: chunks start at 0.
        out.report.error(
            IssueKind::BadHeader,
            Some(IssueLocation::Byte { offset: 0 }),
            "the file has no EVTX file header (it starts with a chunk); its chunks were read"
                .to_owned(),
        );
    } else {
        read_header(header, len, &mut summary, out);
    }
    summary.chunks = layout.whole_chunks;
    summary.trailing_bytes = layout.trailing_bytes;
    (summary, layout)
}

/// The last stage: what follows the last chunk (`tail`, when it is not a chunk of its own),
/// chunks without checksums, the digest and the summary.
fn end(
    summary: EvtxSummary,
    no_crc_chunks: u64,
    tail: &[u8],
    sha256: String,
    out: &mut Output<'_>,
) {
    if tail.iter().any(|b| *b != 0) {
        out.report.truncated |= tail.starts_with(CHUNK_MAGIC);
        out.report.warning(
            IssueKind::Truncated,
            Some(IssueLocation::Byte {
                offset: out.report.bytes.saturating_sub(summary.trailing_bytes),
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
    out.report.sha256 = sha256;
    out.report.evtx = Some(summary);
}

/// Where an `.evtx` file's 64 KiB chunks lie, from its first bytes and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvtxLayout {
    /// Chunks to read: the whole ones, plus a last one cut short when at least its
    /// 512-byte header is there.
    pub chunks: u64,
    /// 4096, or 0 when the file has no header (it starts with a chunk).
    pub chunks_start: u64,
    whole_chunks: u64,
    trailing_bytes: u64,
}

impl EvtxLayout {
    /// The layout of an `.evtx` of `len` bytes whose first bytes are `head` (8 are enough).
    pub fn new(head: &[u8], len: u64) -> EvtxLayout {
        let chunks_start = if head.starts_with(CHUNK_MAGIC) {
            0
        } else {
            FILE_HEADER_SIZE
        };
        let body = len.saturating_sub(chunks_start);
        let whole_chunks = body / CHUNK_SIZE as u64;
        let trailing_bytes = body % CHUNK_SIZE as u64;
        let partial = u64::from(trailing_bytes >= CHUNK_HEADER_SIZE as u64);
        EvtxLayout {
            chunks: whole_chunks + partial,
            chunks_start,
            whole_chunks,
            trailing_bytes,
        }
    }

    /// Where chunk `number` starts.
    pub fn chunk_offset(&self, number: u64) -> u64 {
        self.chunks_start + number * CHUNK_SIZE as u64
    }

    /// Bytes after the last chunk read (too few for a chunk header): `0` or the tail.
    fn trailing_bytes_after_chunks(&self) -> u64 {
        if self.chunks > self.whole_chunks {
            0
        } else {
            self.trailing_bytes
        }
    }

    /// Where the bytes after the last chunk start, and how many there are.
    pub fn tail(&self) -> (u64, u64) {
        let n = self.trailing_bytes_after_chunks();
        (self.chunk_offset(self.whole_chunks), n)
    }
}

/// Reads the chunks of a file one after the other, hashing every byte read.
struct ChunkSource<'a, R> {
    reader: &'a mut R,
    hasher: Option<&'a mut Sha256>,
    /// The first 4096 bytes: a file header, or the first chunk's start when it has none.
    header: &'a [u8],
    chunks_start: u64,
}

/// One chunk as read from the file, before parsing.
#[derive(Debug)]
pub(crate) struct RawChunk {
    pub(crate) number: u64,
    pub(crate) offset: u64,
    /// Found while reading (the file ends inside the chunk).
    pub(crate) issues: Vec<InputIssue>,
    pub(crate) truncated: bool,
    /// `None`: the chunk is all zeros (never written).
    pub(crate) data: Option<Vec<u8>>,
}

/// The issue of a chunk the file ends `got` bytes into.
fn truncation(number: u64, offset: u64, got: usize) -> InputIssue {
    InputIssue {
        severity: Severity::Error,
        kind: IssueKind::Truncated,
        at: Some(IssueLocation::Chunk {
            chunk: number,
            offset,
        }),
        message: format!(
            "the file ends {got} bytes into chunk {number}: it looks truncated (a copy cut \
             short?); the records in that part of the chunk were read"
        ),
    }
}

impl<R: Read> ChunkSource<'_, R> {
    fn offset(&self, number: u64) -> u64 {
        self.chunks_start + number * CHUNK_SIZE as u64
    }

    /// Reads chunk `number` (the next one in the file) into `chunk`, a buffer to reuse
    /// (`None`: a new one).
    fn next(&mut self, number: u64, chunk: Option<Vec<u8>>) -> RawChunk {
        let offset = self.offset(number);
        let mut chunk = chunk.unwrap_or_default();
        chunk.resize(CHUNK_SIZE, 0);
        let mut issues = Vec::new();
        let mut truncated = false;
        let read;
        if self.chunks_start == 0 && number == 0 && !self.header.is_empty() {
            // The bytes already read as a "header" are this chunk's start.
            if let Some(dst) = chunk.get_mut(..self.header.len()) {
                dst.copy_from_slice(self.header);
            }
            let rest = chunk.get_mut(self.header.len()..).unwrap_or_default();
            let more = read_full(self.reader, rest);
            rest.get_mut(more..).unwrap_or_default().fill(0);
            read = self.header.len() + more;
        } else {
            let got = read_full(self.reader, &mut chunk);
            chunk.get_mut(got..).unwrap_or_default().fill(0);
            read = got;
            if got < CHUNK_SIZE {
                truncated = true;
                issues.push(truncation(number, offset, got));
            }
        }
        if let (Some(bytes), Some(hasher)) = (chunk.get(..read), self.hasher.as_mut()) {
            hasher.update(bytes);
        }
        let data = chunk.iter().any(|b| *b != 0).then_some(chunk);
        RawChunk {
            number,
            offset,
            issues,
            truncated,
            data,
        }
    }
}

impl<R: Read> ChunkSource<'_, R> {
    /// Reads chunk `number` into `buffer` (reused from one chunk to the next) and parses it
    /// on this thread, its events built in `spare`'s allocations: the chunk, and its
    /// outcome unless it is all zeros.
    fn next_parsed(
        &mut self,
        number: u64,
        buffer: &mut Option<Vec<u8>>,
        settings: &Arc<ParserSettings>,
        job: &ChunkJob,
        spare: &mut EventSpare,
    ) -> (RawChunk, Option<ChunkOutcome>) {
        let mut raw = self.next(number, buffer.take());
        let outcome = raw.data.take().map(|data| {
            let outcome = parse_chunk(&data, raw.number, raw.offset, settings, job, spare);
            *buffer = Some(data);
            outcome
        });
        (raw, outcome)
    }
}

/// What every chunk's parse needs to know.
#[derive(Debug, Clone)]
pub(crate) struct ChunkJob {
    /// The input's name, for each event's origin.
    pub(crate) input: String,
    pub(crate) details: Details,
}

impl ChunkJob {
    /// Cuts a whole event (one the crate rendered) to what the sink reads of it, as a built
    /// one is ([`Details::Checked`]).
    pub(crate) fn cut(&self, event: &mut crate::Event) {
        if let Details::Checked(checked) = &self.details {
            checked.cut(event);
        }
    }
}

/// Applies chunks' outcomes to the report and the sink, in chunk order.
struct Assembler<'a> {
    summary: &'a mut EvtxSummary,
    no_crc_chunks: u64,
}

impl Assembler<'_> {
    fn apply(&mut self, raw: RawChunk, outcome: Option<ChunkOutcome>, out: &mut Output<'_>) {
        out.report.truncated |= raw.truncated;
        for issue in raw.issues {
            out.report.push(issue);
        }
        let Some(outcome) = outcome else {
            self.summary.chunks_empty += 1;
            return;
        };
        for issue in outcome.issues {
            out.report.push(issue);
        }
        out.report.skipped += outcome.skipped;
        match outcome.state {
            ChunkState::Skipped => self.summary.chunks_skipped += 1,
            ChunkState::Read { checksum_mismatch } => {
                self.summary.chunks_read += 1;
                self.summary.chunks_checksum_mismatch += u64::from(checksum_mismatch);
            }
        }
        self.no_crc_chunks += u64::from(outcome.no_crc);
        out.report.events += outcome.observed;
        for item in outcome.items {
            match item {
                Emitted::Event(event) => out.emit(event),
                Emitted::WithCuts(event, cuts) => out.emit_with_cuts(event, cuts),
                Emitted::Tally(tally) => out.tally(&tally),
            }
        }
    }
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

/// The parser settings every chunk is parsed with.
fn settings() -> Arc<ParserSettings> {
    Arc::new(ParserSettings::new().indent(false))
}

/// Reading, parsing and applying every chunk, in order, on the caller's thread. The analyzer
/// starts no thread: a caller that wants every core reads the file in batches, parses each
/// batch's chunks on a thread of its own ([`parse_evtx_chunks`]) and merges them
/// ([`EvtxMerge`]), as the page's workers and the native fixer do.
mod sequential {
    use super::*;

    pub(super) fn run<R: Read>(
        source: &mut ChunkSource<'_, R>,
        chunks: u64,
        job: &ChunkJob,
        assembler: &mut Assembler<'_>,
        out: &mut Output<'_>,
    ) -> ControlFlow<()> {
        let settings = settings();
        let mut buffer = None;
        let mut spare = EventSpare::default();
        let mut reclaimed = Vec::new();
        for number in 0..chunks {
            out.tick(source.offset(number))?;
            let (raw, outcome) =
                source.next_parsed(number, &mut buffer, &settings, job, &mut spare);
            assembler.apply(raw, outcome, out);
            // What the sink is done with builds the next chunk's events.
            out.reclaim(&mut reclaimed);
            for event in reclaimed.drain(..) {
                spare.give(event);
            }
        }
        ControlFlow::Continue(())
    }
}
