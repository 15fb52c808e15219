//! Parsing one chunk: the records it holds, as events, and what could not be read.

use std::sync::Arc;

use evtx::err::{ChunkError, DeserializationError, EvtxError};
use evtx::{ChunkFlags, EvtxChunkData, ParserSettings};
use serde::{Deserialize, Serialize};

use super::super::Details;
use super::super::Tally;
use super::super::limits::ExcerptCuts;
use super::super::report::{InputIssue, IssueKind, IssueLocation, Severity, hex};
use super::super::xml::{record_event_from_system, record_event_from_xml};
use super::spare::EventSpare;
use super::template::TemplateCache;
use super::walk::{Place, Walk, Walked, walk_intact_chunk};
use super::{CHUNK_HEADER_SIZE, ChunkJob};
use crate::event::{Event, Location, Origin};

/// Whether a chunk's records were read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ChunkState {
    Skipped,
    Read { checksum_mismatch: bool },
}

/// What a chunk gives the sink, in record order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum Emitted {
    Event(Event),
    /// An event and what an excerpt of it cuts.
    WithCuts(Event, ExcerptCuts),
    /// Records only counted ([`Details::Counted`], [`Details::Checked`]).
    Tally(Tally),
}

/// What parsing one chunk found, to be applied in chunk order.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ChunkOutcome {
    pub(crate) items: Vec<Emitted>,
    pub(crate) issues: Vec<InputIssue>,
    /// Records that could not be read.
    pub(crate) skipped: u64,
    pub(crate) state: ChunkState,
    /// The chunk's NO_CRC32 flag is set.
    pub(crate) no_crc: bool,
    /// Events already given to a shard ([`super::ChunkPart::observe`]): counted in the
    /// input's report, no longer among `items`.
    #[serde(default)]
    pub(crate) observed: u64,
}

impl ChunkOutcome {
    pub(super) fn issue(
        &mut self,
        severity: Severity,
        kind: IssueKind,
        at: Option<IssueLocation>,
        message: String,
    ) {
        self.issues.push(InputIssue {
            severity,
            kind,
            at,
            message,
        });
    }
}

/// Parses one chunk's records into events (pure: no report, no sink, any thread).
pub(crate) fn parse_chunk(
    data: &[u8],
    number: u64,
    offset: u64,
    settings: &Arc<ParserSettings>,
    job: &ChunkJob,
    spare: &mut EventSpare,
) -> ChunkOutcome {
    let mut result = ChunkOutcome {
        items: Vec::new(),
        issues: Vec::new(),
        skipped: 0,
        state: ChunkState::Skipped,
        no_crc: false,
        observed: 0,
    };
    let at = Some(IssueLocation::Chunk {
        chunk: number,
        offset,
    });
    // An intact chunk whose records mostly need counting is walked without the crate.
    let place = Place {
        input: &job.input,
        chunk: u32::try_from(number).unwrap_or(u32::MAX),
    };
    if job.details.counts_the_rest()
        && let Some(walk) = walk_intact_chunk(data, &job.details, place, spare)
        && let Some(walked) = read_needed(data, walk, number, offset, settings, job)
    {
        return walked;
    }
    let mut chunk = match EvtxChunkData::new(data.to_vec(), false) {
        Ok(chunk) => chunk,
        Err(e) => {
            let (kind, why) = describe_chunk_error(&e);
            result.issue(
                Severity::Error,
                kind,
                at,
                format!("chunk {number} was skipped, its records are lost: {why}"),
            );
            return result;
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
    result.no_crc = chunk.header.flags.contains(ChunkFlags::NO_CRC32);
    let header_crc_ok = chunk.validate_header_checksum();
    let data_crc_ok = chunk.validate_data_checksum();
    let mut templates = TemplateCache::default();
    let parsed = chunk.parse(Arc::clone(settings));
    let mut parsed = match parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            result.skipped += claimed.unwrap_or(0);
            let (kind, why) = describe_chunk_error(&e);
            result.issue(
                Severity::Error,
                kind,
                at,
                format!(
                    "chunk {number} was skipped, its records{} are lost: {why}",
                    claimed.map_or(String::new(), |n| format!(" ({n}, ids {first}–{last})"))
                ),
            );
            return result;
        }
    };
    let chunk_u32 = u32::try_from(number).unwrap_or(u32::MAX);
    let (mut read, mut bad) = (0u64, 0u64);
    result.items.reserve(claimed.unwrap_or(0) as usize);
    for record in parsed.iter() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                bad += 1;
                result.skipped += 1;
                let (record_id, rel) = record_error_location(&e);
                result.issue(
                    Severity::Error,
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
            input: job.input.clone(),
            location: Location::Record {
                record_id,
                chunk: chunk_u32,
            },
        };
        // A record no rule asks for: its System fields are enough, read without rendering.
        if !matches!(job.details, Details::All)
            && let Some(system) = templates.system_text(&record)
            && let Ok(mut event) = record_event_from_system(system, origin.clone())
            && !event.provider.is_empty()
            && !job.details.needs(event.event_id)
        {
            event.record_id.get_or_insert(record_id);
            read += 1;
            result.items.push(Emitted::Event(event));
            continue;
        }
        match render(record, origin) {
            Ok(mut event) => {
                job.cut(&mut event);
                if let Some(issue) = no_provider(&event, number, record_offset) {
                    result.issues.push(issue);
                }
                read += 1;
                result.items.push(Emitted::Event(event));
            }
            Err(why) => {
                bad += 1;
                result.skipped += 1;
                result.issue(
                    Severity::Error,
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
    let checksum_mismatch = !header_crc_ok || !data_crc_ok;
    result.state = ChunkState::Read { checksum_mismatch };
    if checksum_mismatch {
        let which = match (header_crc_ok, data_crc_ok) {
            (false, false) => "header and records CRC32s do",
            (false, true) => "header CRC32 does",
            _ => "records CRC32 does",
        };
        result.issue(
            Severity::Warning,
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
    result
}

/// A record rendered as XML and read back: the whole event.
fn render(record: evtx::EvtxRecord<'_>, origin: Origin) -> Result<Event, String> {
    let record_id = record.event_record_id;
    let mut event = record
        .into_xml()
        .map_err(|e| error_chain(&e))
        .and_then(|r| record_event_from_xml(&r.data, origin).map_err(|e| e.to_string()))?;
    event.record_id.get_or_insert(record_id);
    Ok(event)
}

/// The warning for a rendered event without a provider.
fn no_provider(event: &Event, chunk: u64, offset: u64) -> Option<InputIssue> {
    let record_id = event.record_id.unwrap_or_default();
    event.provider.is_empty().then(|| InputIssue {
        severity: Severity::Warning,
        kind: IssueKind::IncompleteEvent,
        at: Some(IssueLocation::Record {
            chunk,
            record_id: Some(record_id),
            offset: Some(offset),
        }),
        message: format!(
            "record {record_id} has no provider (its values are damaged); it was kept as event \
             {} with an empty provider",
            event.event_id
        ),
    })
}

/// A walked chunk's outcome: its tallies, and the records some rule lists read whole by the
/// `evtx` crate — from a copy of the chunk in which each of those records (and the first
/// record) is made to span the records up to the next one, so the crate builds only them.
/// `None` when the crate does not give exactly those records (the caller then reads the
/// whole chunk with it).
fn read_needed(
    data: &[u8],
    walk: Walk,
    number: u64,
    chunk_offset: u64,
    settings: &Arc<ParserSettings>,
    job: &ChunkJob,
) -> Option<ChunkOutcome> {
    let mut outcome = ChunkOutcome {
        items: Vec::with_capacity(walk.items.len()),
        issues: Vec::new(),
        skipped: 0,
        state: ChunkState::Read {
            checksum_mismatch: false,
        },
        no_crc: false,
        observed: 0,
    };
    let needed: Vec<(usize, u64)> = walk
        .items
        .iter()
        .filter_map(|item| match item {
            Walked::Needed { offset, id } => Some((*offset, *id)),
            Walked::Tally(_) | Walked::Event(_) => None,
        })
        .collect();
    let mut events = Vec::with_capacity(needed.len()).into_iter();
    if !needed.is_empty() {
        let mut copy = data.to_vec();
        let mut starts: Vec<usize> = needed.iter().map(|(offset, _)| *offset).collect();
        // The first record, when not needed, spans the records before the first needed one.
        let mut spanning_first = starts.first() != Some(&CHUNK_HEADER_SIZE);
        if spanning_first {
            starts.insert(0, CHUNK_HEADER_SIZE);
        }
        for (i, &start) in starts.iter().enumerate() {
            let next = starts.get(i + 1).copied().unwrap_or(walk.end);
            let size = u32::try_from(next.checked_sub(start)?).ok()?;
            let field = copy.get_mut(start + 4..start + 8)?;
            let original = u32::from_le_bytes(field.try_into().ok()?);
            field.copy_from_slice(&size.to_le_bytes());
            // The record's BinXML now runs on into the next records: the crate reads its
            // template instance, then wants the end-of-stream token (0) or nothing after it,
            // where the copy of the record's size was.
            let size_copy = start
                .checked_add(usize::try_from(original).ok()?)?
                .checked_sub(4)?;
            *copy.get_mut(size_copy)? = 0;
        }
        // The live area ends where the last record does.
        let end = u32::try_from(walk.end).ok()?;
        copy.get_mut(FREE_SPACE_OFFSET..FREE_SPACE_OFFSET + 4)?
            .copy_from_slice(&end.to_le_bytes());
        let mut chunk = EvtxChunkData::new(copy, false).ok()?;
        let mut parsed = chunk.parse(Arc::clone(settings)).ok()?;
        let chunk_u32 = u32::try_from(number).unwrap_or(u32::MAX);
        let mut wanted = needed.iter().peekable();
        let mut read = Vec::with_capacity(needed.len());
        for record in parsed.iter() {
            let record = record.ok()?;
            if spanning_first {
                spanning_first = false;
                continue;
            }
            let (_, id) = wanted.next()?;
            if record.event_record_id != *id {
                return None;
            }
            let record_offset = chunk_offset + record.binxml_offset;
            let origin = Origin {
                input: job.input.clone(),
                location: Location::Record {
                    record_id: *id,
                    chunk: chunk_u32,
                },
            };
            let mut event = render(record, origin).ok()?;
            job.cut(&mut event);
            if let Some(issue) = no_provider(&event, number, record_offset) {
                outcome.issues.push(issue);
            }
            read.push(event);
        }
        if wanted.next().is_some() {
            return None;
        }
        events = read.into_iter();
    }
    for item in walk.items {
        outcome.items.push(match item {
            Walked::Tally(tally) => Emitted::Tally(tally),
            Walked::Event(event) => emitted(event),
            Walked::Needed { .. } => emitted(events.next()?),
        });
    }
    Some(outcome)
}

/// A needed event as emitted, with what an excerpt of it cuts when that can be known: found
/// here, on the thread that built it.
fn emitted(event: Event) -> Emitted {
    match ExcerptCuts::of(&event) {
        Some(cuts) => Emitted::WithCuts(event, cuts),
        None => Emitted::Event(event),
    }
}

/// Where a chunk's header keeps the free space offset.
const FREE_SPACE_OFFSET: usize = 48;

/// The kind and the reason, in words, of a chunk that cannot be read.
fn describe_chunk_error(e: &ChunkError) -> (IssueKind, String) {
    match e {
        // Another log's file header: logs joined into one file (`copy /b a.evtx+b.evtx`).
        // Its chunks follow 4 KiB later, off this file's 64 KiB grid, and read as damage.
        ChunkError::FailedToParseChunkHeader(DeserializationError::InvalidEvtxChunkMagic {
            magic: [b'E', b'l', b'f', b'F', b'i', b'l', b'e', 0],
        }) => (
            IssueKind::BadChunkSignature,
            "it is another event log file's header (ElfFile): this file looks like several \
             .evtx files joined into one (copy /b), and the chunks after it, off this file's \
             grid, cannot be read; give each log as a file of its own"
                .to_owned(),
        ),
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

#[cfg(test)]
mod tests;
