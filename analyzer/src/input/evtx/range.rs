//! Reading a file's chunks in ranges (one per thread or Web Worker) and merging the parts.

use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};

use super::super::report::{EvtxSummary, InputIssue, IssueKind, IssueLocation};
use super::super::{Details, EventSink, InputReport, Output, Progress, Shard};
use super::chunk::{ChunkOutcome, Emitted, parse_chunk};
use super::{
    Assembler, CHUNK_SIZE, ChunkJob, EventSpare, EvtxLayout, RawChunk, begin, end, settings,
    truncation,
};
use crate::event::Event;

/// One chunk parsed by [`parse_evtx_chunks`]: what it adds to the input's events and
/// report. Serialisable, so a worker can post it to the one that merges ([`EvtxMerge`]).
#[derive(Debug, Serialize, Deserialize)]
pub struct ChunkPart {
    number: u64,
    offset: u64,
    issues: Vec<InputIssue>,
    truncated: bool,
    /// `None`: the chunk is all zeros.
    outcome: Option<ChunkOutcome>,
}

impl ChunkPart {
    /// The chunk's number in the file.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// Gives the chunk's events and tallies (of the input named `input`) to `shard`, in
    /// order, where they were just built; the part keeps only their count for the report.
    /// The shard ([`EvtxMerge::shard`]) is absorbed after this part is pushed
    /// ([`EvtxMerge::absorb`]).
    pub fn observe(&mut self, input: &str, shard: &mut dyn EventSink) {
        let Some(outcome) = self.outcome.as_mut() else {
            return;
        };
        for item in outcome.items.drain(..) {
            outcome.observed += match item {
                Emitted::Event(event) => {
                    shard.event(event);
                    1
                }
                Emitted::WithCuts(event, cuts) => {
                    shard.event_with_cuts(event, cuts);
                    1
                }
                Emitted::Tally(tally) => {
                    shard.tally(input, &tally);
                    tally.events
                }
            };
        }
    }
}

/// Parses chunks `range` (clipped to the file's) of a `.evtx` from `bytes`, the file's bytes
/// from offset `at` on (a batch read at once), handing each chunk's [`ChunkPart`] to `each`
/// in order; `Break` stops. A chunk lying whole in `bytes` is parsed where it lies; one that
/// `bytes` end inside is read as the file ending there (reported truncated). Nothing is
/// parsed when `range` starts before `at`. Pure parsing: no sink, no report, so any thread
/// or Web Worker can run it on its own batch; [`EvtxMerge`] puts the parts of all batches
/// together in chunk order. `input` names the events' origin; `details` is what the final
/// sink will ask ([`EventSink::details`]).
pub fn parse_evtx_chunks(
    bytes: &[u8],
    at: u64,
    layout: &EvtxLayout,
    range: std::ops::Range<u64>,
    input: &str,
    details: &Details,
    each: &mut dyn FnMut(ChunkPart) -> ControlFlow<()>,
) {
    let mut spare = EventSpare::default();
    parse_evtx_chunks_reusing(bytes, at, layout, range, input, details, &mut spare, each);
}

/// [`parse_evtx_chunks`], building the events in the allocations of those `spare` was given
/// (events the merging side's sink is done with: [`EvtxMerge::reclaim`]). The parts are
/// the same whatever `spare` holds.
#[allow(clippy::too_many_arguments)]
pub fn parse_evtx_chunks_reusing(
    bytes: &[u8],
    at: u64,
    layout: &EvtxLayout,
    range: std::ops::Range<u64>,
    input: &str,
    details: &Details,
    spare: &mut EventSpare,
    each: &mut dyn FnMut(ChunkPart) -> ControlFlow<()>,
) {
    let first = range.start.min(layout.chunks);
    let last = range.end.min(layout.chunks);
    let Some(skip) = layout.chunk_offset(first).checked_sub(at) else {
        return;
    };
    let job = ChunkJob {
        input: input.to_owned(),
        details: details.clone(),
    };
    let settings = settings();
    // A chunk the bytes end inside, padded with zeros as a reader's buffer is.
    let mut padded = Vec::new();
    let mut from = usize::try_from(skip).unwrap_or(usize::MAX);
    for number in first..last {
        let offset = layout.chunk_offset(number);
        let held = bytes.get(from..).unwrap_or_default();
        let held = held.get(..CHUNK_SIZE).unwrap_or(held);
        from = from.saturating_add(CHUNK_SIZE);
        let (data, issues) = if held.len() == CHUNK_SIZE {
            (held, Vec::new())
        } else {
            padded.clear();
            padded.extend_from_slice(held);
            padded.resize(CHUNK_SIZE, 0);
            (
                padded.as_slice(),
                vec![truncation(number, offset, held.len())],
            )
        };
        let outcome = data
            .iter()
            .any(|b| *b != 0)
            .then(|| parse_chunk(data, number, offset, &settings, &job, spare));
        let part = ChunkPart {
            number,
            offset,
            truncated: !issues.is_empty(),
            issues,
            outcome,
        };
        if each(part).is_break() {
            return;
        }
    }
}

/// Puts [`ChunkPart`]s together, in chunk order, into one input's events (pushed to a sink)
/// and report — the same as reading the file in one go. For a page that splits a file
/// across workers: each worker runs [`parse_evtx_chunks`] on its batch and posts the parts;
/// this side pushes them in order, then finishes with the file's tail and its SHA-256 (which
/// only a reader of every byte in order can compute).
pub struct EvtxMerge<'a> {
    out: Output<'a>,
    summary: EvtxSummary,
    layout: EvtxLayout,
    next: u64,
    no_crc_chunks: u64,
}

impl std::fmt::Debug for EvtxMerge<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EvtxMerge")
            .field("layout", &self.layout)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl<'a> EvtxMerge<'a> {
    /// Starts an input named `name` of `len` bytes whose first 4096 bytes (or all, when
    /// shorter) are `head`: the header is checked here.
    pub fn new(
        name: &str,
        head: &[u8],
        len: u64,
        sink: &'a mut dyn EventSink,
        progress: &'a mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> EvtxMerge<'a> {
        let mut out = Output::new(name, len, sink, progress);
        let (summary, layout) = begin(head, len, &mut out);
        EvtxMerge {
            out,
            summary,
            layout,
            next: 0,
            no_crc_chunks: 0,
        }
    }

    /// Where the chunks are (to split them into ranges).
    pub fn layout(&self) -> EvtxLayout {
        self.layout
    }

    /// What [`parse_evtx_chunks`] must be given as `details`: what the sink asks.
    pub fn details(&self) -> Details {
        self.out.details()
    }

    /// Adds the next chunk's part. Parts must come in chunk order, each once; `Break` when
    /// the progress callback cancelled or a part came out of order (the report says which).
    pub fn push(&mut self, part: ChunkPart) -> ControlFlow<()> {
        if part.number != self.next {
            self.out.report.error(
                IssueKind::BadChunkHeader,
                Some(IssueLocation::Chunk {
                    chunk: part.number,
                    offset: part.offset,
                }),
                format!(
                    "chunk {} arrived while chunk {} was expected; reading stopped",
                    part.number, self.next
                ),
            );
            return ControlFlow::Break(());
        }
        self.out.tick(part.offset)?;
        self.next += 1;
        let raw = RawChunk {
            number: part.number,
            offset: part.offset,
            issues: part.issues,
            truncated: part.truncated,
            // Hashed, if at all, by whoever read it.
            data: None,
        };
        let mut assembler = Assembler {
            summary: &mut self.summary,
            no_crc_chunks: self.no_crc_chunks,
        };
        assembler.apply(raw, part.outcome, &mut self.out);
        self.no_crc_chunks = assembler.no_crc_chunks;
        ControlFlow::Continue(())
    }

    /// Moves into `into` the events the sink is done with ([`EventSink::reclaim`]), for the
    /// readers to build the next ones in ([`EventSpare::give`]).
    pub fn reclaim(&mut self, into: &mut Vec<Event>) {
        self.out.reclaim(into);
    }

    /// A shard of the sink ([`EventSink::shard`]) for a reader's thread to give a range's
    /// events to ([`ChunkPart::observe`]); `None` when the sink makes none.
    pub fn shard(&self) -> Option<Box<dyn Shard>> {
        self.out.shard()
    }

    /// Takes in a shard whose events are those of the parts pushed last (and of none
    /// pushed before or after them): the sink then holds what it would have been given,
    /// and the shard is left empty, for the next range ([`EventSink::absorb`]).
    pub fn absorb(&mut self, shard: &mut dyn Shard) {
        self.out.absorb(shard);
    }

    /// The input's report. `tail`: the bytes at [`EvtxLayout::tail`] (empty when none);
    /// `sha256`: the whole file's digest in lowercase hex, when known (`None` leaves it empty).
    pub fn finish(mut self, tail: &[u8], sha256: Option<String>) -> InputReport {
        if !self.out.report.cancelled && self.next >= self.layout.chunks {
            end(
                self.summary,
                self.no_crc_chunks,
                tail,
                sha256.unwrap_or_default(),
                &mut self.out,
            );
        }
        self.out.finish()
    }
}
