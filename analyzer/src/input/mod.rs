//! Reading every log export an admin may have into [`Event`]s.
//!
//! Formats are recognised by content, never by file name: binary `.evtx`, `wevtutil` text
//! (and Event Viewer's and the article's label layouts, in any language), `wevtutil` /
//! Event Viewer XML, Event Viewer CSV / tab-delimited text, PowerShell `Export-Csv`, and
//! `Format-List`; and zip archives of any of these ([`read_any`]). Events are pushed to an
//! [`EventSink`] as they are read, so memory stays bounded whatever the input's size; a
//! progress callback sees bytes done and may cancel.
//!
//! Nothing here fails as a whole: a damaged or foreign input yields every event that can be
//! read plus an [`InputReport`] that says what was skipped, where, and why.

mod archive;
pub(crate) mod bytes;
mod channel;
pub(crate) mod config;
mod csv;
mod datetime;
mod decode;
pub(crate) mod evidence;
mod evtx;
mod format_list;
pub mod hive;
mod labels;
mod limits;
mod normalise;
mod parts;
mod report;
mod sniff;
mod table;
mod text;
mod wevtutil_text;
mod xml;

use std::io::{Read, Seek, SeekFrom};
use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};

use crate::event::Event;

pub use archive::{
    MAX_DIRECTORY_BYTES, MAX_EXPANDED_BYTES, MAX_FOLDER_FILES, MAX_MEMBERS, MEMBER_SEPARATOR,
    archive_left_out, folder_reads, is_archive_name, looks_like_zip, read_any, read_zip,
};
pub use decode::decode_text;
/// The CRC-32 the `.evtx` reader checks a chunk with: public only so that the tests run on
/// wasm32, where it takes a path of its own, can compare it with `crc32fast`.
#[doc(hidden)]
pub use evtx::chunk_crc32;
pub use evtx::{
    ChunkPart, EventSpare, EvtxLayout, EvtxMerge, SNIFF_BYTES, looks_like_evtx, parse_evtx_chunks,
    parse_evtx_chunks_reusing,
};
pub(crate) use limits::is_collapsed;
pub use limits::{
    EXCERPT_CHARS, EXCERPT_ITEMS, EXCERPT_NAME_CHARS, ExcerptCuts, MAX_EVENT_BYTES,
    MAX_FIELD_CHARS, MAX_TEXT_INPUT_BYTES, MAX_XML_DEPTH,
};
pub(crate) use report::hex;
pub use report::{
    Attempt, Dialect, EvtxSummary, InputIssue, InputReport, IssueKind, IssueLocation, MAX_ISSUES,
    Severity, TextEncoding, TextPart,
};
pub(crate) use table::is_cut;

/// The export formats, as named in `fixer diagnose --json` (`inputs[].format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// Binary `.evtx`.
    Evtx,
    /// `wevtutil qe /f:text`, Event Viewer's details as text, the article's layout.
    WevtutilText,
    /// `wevtutil /f:xml`, `/f:RenderedXml`, Event Viewer's saved XML.
    Xml,
    /// Event Viewer CSV or tab-delimited text, PowerShell `Export-Csv`.
    Csv,
    /// PowerShell `Format-List`.
    FormatList,
    /// PowerShell's table: `Get-WinEvent`'s default output, `Format-Table`.
    #[serde(rename = "format-table")]
    Table,
    /// `RDPFIX-EVIDENCE` blocks written by `fixer collect --compact`.
    EvidenceBlock,
    /// `RDPFIX-CONFIG` configuration snapshots (`docs/config-snapshot.md`).
    ConfigSnapshot,
    /// A zip archive: its members are read as inputs of their own ([`read_any`]).
    Zip,
    /// An offline registry hive (`SYSTEM`, `SOFTWARE`): read into a configuration snapshot.
    RegistryHive,
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Format::Evtx => "evtx",
            Format::WevtutilText => "wevtutil-text",
            Format::Xml => "xml",
            Format::Csv => "csv",
            Format::FormatList => "format-list",
            Format::Table => "format-table",
            Format::EvidenceBlock => "rdpfix-evidence",
            Format::ConfigSnapshot => "rdpfix-config",
            Format::Zip => "zip",
            Format::RegistryHive => "registry-hive",
        })
    }
}

/// Receives events as they are read (push model: nothing is collected unless the sink does).
pub trait EventSink {
    fn event(&mut self, event: Event);

    /// Which events this sink needs whole; the others may arrive with their System fields
    /// only (see [`Details`]). Asked once per input, before its first event.
    fn details(&self) -> Details {
        Details::All
    }

    /// Events of the input named `input` that were only counted, several at once. Called only for a
    /// sink whose [`EventSink::details`] is [`Details::Counted`] or [`Details::Checked`]; such a sink must count
    /// these as it counts events.
    fn tally(&mut self, input: &str, tally: &Tally) {
        let _ = (input, tally);
    }

    /// Moves into `into` events this sink was given and is done with, so that a reader can
    /// build the next events in their allocations ([`EventSpare`]). A sink that keeps
    /// nothing to give back leaves the default: none.
    fn reclaim(&mut self, into: &mut Vec<Event>) {
        let _ = into;
    }

    /// [`EventSink::event`] of an event whose [`ExcerptCuts`] are known: readers say so
    /// where they have just built it, so that a sink keeping excerpts need not read again
    /// the items an excerpt leaves as they are.
    fn event_with_cuts(&mut self, event: Event, cuts: ExcerptCuts) {
        let _ = cuts;
        self.event(event);
    }

    /// A sink of this one's kind for a reader's thread, to be given a range of the events
    /// where they are built ([`ChunkPart::observe`]) and then taken in here, in order, by
    /// [`EventSink::absorb`] — for a sink whose absorbing a shard gives what being given its
    /// events would have. `None` (the default): the events come here.
    fn shard(&self) -> Option<Box<dyn Shard>> {
        None
    }

    /// Takes in what a shard this sink made ([`EventSink::shard`]) collected, as if its
    /// events were given here now, and leaves the shard empty: given the next range's
    /// events, it builds in the allocations it already has. A sink that makes shards must
    /// do both (the fixer gives the shard the next batch); this default, for sinks that
    /// make none, does nothing.
    fn absorb(&mut self, shard: &mut dyn Shard) {
        let _ = shard;
    }
}

/// A sink a reader's thread is given events in, to be absorbed by the sink that made it
/// ([`EventSink::shard`]).
pub trait Shard: EventSink + Send {
    /// Another empty shard of the sink that made this one (for the next range).
    fn another(&self) -> Box<dyn Shard>;

    /// The shard as `Any`, for the sink that made it to see it as its own type.
    fn as_any_mut(&mut self) -> &mut dyn std::any::Any;

    /// Whether this kind of shard can cross to another Web Worker ([`Shard::to_bytes`]).
    /// `false` (the default): the events must cross instead, so none may be given to it
    /// there.
    fn crosses(&self) -> bool {
        false
    }

    /// What the shard collected, as bytes for another Web Worker to [`Shard::load`] into an
    /// empty shard of its own sink (wasm threads share no memory). `Err` when it cannot
    /// (a kind that does not cross: the default).
    fn to_bytes(&self) -> Result<Vec<u8>, String> {
        Err("this kind of shard does not cross".to_string())
    }

    /// Makes this empty shard hold what `bytes` (from [`Shard::to_bytes`] of a shard of a
    /// sink of the same kind) says was collected. `Err`, and the shard left as it was, when
    /// the bytes are not such a shard's.
    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let _ = bytes;
        Err("this kind of shard cannot be loaded from bytes".to_string())
    }
}

/// Which events a sink needs whole (event data and message).
///
/// A sink that only counts most events (the rules' collector: statistics for every event,
/// details only for the event IDs some rule lists) says so with [`Details::Only`] or
/// [`Details::Counted`] (the rules' collector: [`Details::Checked`]). Text formats always
/// deliver whole events; for `.evtx`:
/// - with [`Details::Only`], records with other IDs arrive as events with their System
///   fields alone — provider, ID, qualifiers, level, time, record id, channel, computer and
///   user SID, exactly as the full read gives them — and `data` empty, `message` `None`.
///   Not rendering those records is most of the reading time saved.
/// - with [`Details::Counted`], records with other IDs arrive as [`Tally`]s: per chunk, how
///   many records had each provider, channel and computer, and when. Most of the rest of the
///   time is saved: no record is built, only the values the tally needs are read.
/// - with [`Details::Checked`], as with `Counted`, and the records with the listed IDs arrive
///   with only the data items the sink reads ([`Checked`]). Building the other items of every
///   listed record was most of the time left on a log full of them (a Security log under a
///   brute-force attack).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Details {
    /// Every event whole (the default).
    #[default]
    All,
    /// Only events with these IDs whole; the others with their System fields.
    Only(std::collections::HashSet<u16>),
    /// Only events with these IDs whole; the others counted in [`Tally`]s.
    Counted(std::collections::HashSet<u16>),
    /// Only events with these IDs, with the data items named; the others counted.
    Checked(Checked),
}

impl Details {
    /// Whether an event with this ID must be delivered (whole, or with the data it reads).
    pub fn needs(&self, event_id: u16) -> bool {
        match self {
            Details::All => true,
            Details::Only(ids) | Details::Counted(ids) => ids.contains(&event_id),
            Details::Checked(checked) => checked.reads.contains_key(&event_id),
        }
    }

    /// Whether events not needed are counted in [`Tally`]s rather than delivered.
    pub fn counts_the_rest(&self) -> bool {
        matches!(self, Details::Counted(_) | Details::Checked(_))
    }

    /// The data items an event with this ID must carry: `None` for all of them.
    pub fn data_read(&self, event_id: u16) -> Option<&[String]> {
        match self {
            Details::Checked(checked) => checked.fields(event_id),
            _ => None,
        }
    }
}

/// What a sink that only checks events reads of them ([`Details::Checked`]): per event ID
/// it needs, the names of the data items it reads (compared without ASCII case, as
/// [`Event::data_value`] compares them).
///
/// An event arrives with exactly the items of those names, in document order — unless all
/// its items are positional (`Param1`, `Param2`, …, see [`is_positional_name`]): then it
/// arrives with all of them, since a check looks through every positional value; and an
/// event whose ID has a positional name read arrives whole (cut to its positional items, a
/// mixed event would look all positional to a check). Its System fields are whole; only
/// `data` is cut.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checked {
    pub reads: std::collections::HashMap<u16, Vec<String>>,
}

impl Checked {
    /// Cuts a whole event's data to what this reads for its ID: what a reader that builds
    /// only those items delivers.
    pub fn cut(&self, event: &mut Event) {
        let Some(fields) = self.fields(event.event_id) else {
            return;
        };
        if event.data.iter().all(|(name, _)| is_positional_name(name)) {
            return;
        }
        event.data.retain(|(name, _)| is_read(fields, name));
    }
}

/// Whether a data item named `name` is among `fields`, the names a [`Checked`] reads of
/// its event (compared without ASCII case, as [`Event::data_value`] compares them).
pub(crate) fn is_read(fields: &[String], name: &str) -> bool {
    fields.iter().any(|f| f.eq_ignore_ascii_case(name))
}

impl Checked {
    /// The names an event with this ID is cut to; `None` when it keeps every item (its ID
    /// is not listed, or a name read is positional).
    fn fields(&self, event_id: u16) -> Option<&[String]> {
        self.reads
            .get(&event_id)
            .filter(|fields| !fields.iter().any(|f| is_positional_name(f)))
            .map(Vec::as_slice)
    }
}

/// Whether a data item's name is a position (`Param1`, …): what exports of older systems
/// and unnamed `<Data>` elements give.
pub fn is_positional_name(name: &str) -> bool {
    name.len() > 5
        && name
            .get(..5)
            .is_some_and(|p| p.eq_ignore_ascii_case("param"))
        && name
            .get(5..)
            .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
}

/// Events read only to be counted ([`Details::Counted`], [`Details::Checked`]): how many had this provider,
/// channel and computer (normalised as on an [`Event`]), and the span of their times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub provider: String,
    pub channel: Option<String>,
    pub computer: Option<String>,
    pub events: u64,
    /// Of those, the events without a time.
    pub undated: u64,
    pub oldest: Option<jiff::Timestamp>,
    pub newest: Option<jiff::Timestamp>,
}

impl EventSink for Vec<Event> {
    fn event(&mut self, event: Event) {
        self.push(event);
    }
}

/// A sink that calls a closure for each event.
#[derive(Debug)]
pub struct FnSink<F>(pub F);

impl<F: FnMut(Event)> EventSink for FnSink<F> {
    fn event(&mut self, event: Event) {
        (self.0)(event);
    }
}

/// How far a read has got. `bytes_done` only grows and ends equal to `bytes_total` unless
/// the read was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Progress {
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub events: u64,
}

/// A progress callback that never cancels.
pub fn no_progress(_: Progress) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

/// Reads one input held in memory: any supported format (text up to
/// [`MAX_TEXT_INPUT_BYTES`], as [`read_seekable`]).
pub fn read_bytes(
    name: &str,
    bytes: &[u8],
    sink: &mut dyn EventSink,
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> InputReport {
    let len = bytes.len() as u64;
    let mut out = Output::new(name, len, sink, progress);
    if evtx::looks_like_evtx(bytes) {
        evtx::read(std::io::Cursor::new(bytes), len, &mut out);
    } else if hive::looks_like_hive(bytes) {
        hive::read(std::io::Cursor::new(bytes), len, &mut out);
    } else if !text_over_cap(len, &mut out) {
        read_text_bytes(bytes, &mut out);
    }
    out.finish()
}

/// Whether a text input of `len` bytes is over [`MAX_TEXT_INPUT_BYTES`] (then the report
/// says so and nothing is read: decoding it would hold several copies).
fn text_over_cap(len: u64, out: &mut Output<'_>) -> bool {
    if len <= MAX_TEXT_INPUT_BYTES as u64 {
        return false;
    }
    out.report.error(
        IssueKind::Limit,
        None,
        format!(
            "this text export is {len} bytes, over the {} MiB cap on text inputs; export \
             fewer events (wevtutil /c:<count>, or a time filter) or save the log as .evtx",
            MAX_TEXT_INPUT_BYTES / (1024 * 1024)
        ),
    );
    out.report.tried.push(Attempt {
        format: Format::WevtutilText,
        why_not: "too large to read as text".to_owned(),
    });
    true
}

/// Reads one input from a seekable source of `len` bytes (a file, or in the browser a
/// `Blob` read slice by slice). `.evtx` is read one 64 KiB chunk at a time, so memory stays
/// bounded whatever the file's size; text formats are read whole, up to
/// [`MAX_TEXT_INPUT_BYTES`].
pub fn read_seekable<R: Read + Seek>(
    name: &str,
    mut reader: R,
    len: u64,
    sink: &mut dyn EventSink,
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> InputReport {
    let mut out = Output::new(name, len, sink, progress);
    let mut head = [0u8; evtx::SNIFF_BYTES];
    let head_len = read_up_to(&mut reader, &mut head).unwrap_or(0);
    let head = head.get(..head_len).unwrap_or_default();
    if evtx::looks_like_evtx(head) {
        evtx::read(reader, len, &mut out);
        return out.finish();
    }
    if hive::looks_like_hive(head) {
        hive::read(reader, len, &mut out);
        return out.finish();
    }
    if text_over_cap(len, &mut out) {
        return out.finish();
    }
    // `len` may be what an archive's header says, not what the reader holds: it sizes the
    // buffer only up to `PREALLOCATE` until that much has come; then to the rest of `len`,
    // so that a text of the length stated is held in its own room (grown by doubling, a
    // 100 MiB text took 128 MiB, and the 64 MiB before it while it was copied, in wasm).
    let stated = usize::try_from(len).unwrap_or(0).min(MAX_TEXT_INPUT_BYTES);
    let mut bytes = Vec::with_capacity(stated.min(PREALLOCATE));
    let read = reader.seek(SeekFrom::Start(0)).and_then(|_| {
        let mut capped = reader.take(MAX_TEXT_INPUT_BYTES as u64);
        (&mut capped)
            .take(PREALLOCATE as u64)
            .read_to_end(&mut bytes)?;
        if bytes.len() < PREALLOCATE {
            return Ok(());
        }
        bytes.reserve_exact(stated.saturating_sub(bytes.len()));
        capped.read_to_end(&mut bytes).map(|_| ())
    });
    if let Err(e) = read {
        out.report.error(
            IssueKind::Truncated,
            Some(IssueLocation::Byte {
                offset: bytes.len() as u64,
            }),
            format!("reading the input failed after {} bytes: {e}", bytes.len()),
        );
        out.report.truncated = true;
    }
    read_text_vec(bytes, &mut out);
    out.finish()
}

/// Where a seek `to` lands for a reader at `pos` in an input of `len` bytes (the one
/// `Seek` rule of every reader built over an input: a `Blob`, a window of it, an archive
/// member); `Err` before the start.
pub fn seek_target(pos: u64, len: u64, to: SeekFrom) -> std::io::Result<u64> {
    match to {
        SeekFrom::Start(p) => Some(p),
        SeekFrom::End(d) => len.checked_add_signed(d),
        SeekFrom::Current(d) => pos.checked_add_signed(d),
    }
    .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start"))
}

/// The most a text input's stated length reserves at once (see [`read_seekable`]).
const PREALLOCATE: usize = 16 * 1024 * 1024;

fn read_up_to<R: Read>(reader: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..) {
        if rest.is_empty() {
            break;
        }
        match reader.read(rest)? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

fn read_text_bytes(bytes: &[u8], out: &mut Output<'_>) {
    out.report.sha256 = report::sha256_hex(bytes);
    let decoded = decode::decode_text(bytes);
    let unsupported = looks_unsupported(&decoded, bytes);
    read_decoded(decoded, unsupported, out);
}

/// [`read_text_bytes`] of bytes it may keep: plain UTF-8 (most exports) becomes the text
/// where it lies instead of being copied, which for a large export is a tenth of the peak;
/// other bytes are let go once decoded, before the text is read (UTF-16 bytes are twice
/// the text).
fn read_text_vec(bytes: Vec<u8>, out: &mut Output<'_>) {
    out.report.sha256 = report::sha256_hex(&bytes);
    match decode::decode_plain_utf8(bytes) {
        Ok(decoded) => read_decoded(decoded, false, out),
        Err(bytes) => {
            let decoded = decode::decode_text(&bytes);
            let unsupported = looks_unsupported(&decoded, &bytes);
            drop(bytes);
            read_decoded(decoded, unsupported, out);
        }
    }
}

/// Whether `bytes`, read as `decoded` in a single-byte code page, look like a code page
/// this reader does not decode.
fn looks_unsupported(decoded: &decode::DecodedText, bytes: &[u8]) -> bool {
    let single_byte = matches!(
        decoded.encoding,
        TextEncoding::Cp437 | TextEncoding::Cp850 | TextEncoding::Windows1252
    );
    single_byte && decode::looks_unsupported_code_page(bytes)
}

/// Reads `decoded`; `unsupported`: its bytes look like a code page this reader does not
/// decode ([`looks_unsupported`]).
fn read_decoded(decoded: decode::DecodedText, unsupported: bool, out: &mut Output<'_>) {
    out.report.encoding = Some(decoded.encoding);
    if decoded.replaced > 0 {
        out.report.warning(
            IssueKind::Encoding,
            decoded
                .first_bad_byte
                .map(|offset| IssueLocation::Byte { offset }),
            format!(
                "{} bytes are not valid {:?} text and were replaced with U+FFFD; if names look \
                 wrong, export again as UTF-8 (PowerShell: Out-File -Encoding utf8)",
                decoded.replaced, decoded.encoding
            ),
        );
    }
    if unsupported {
        out.report.warning(
            IssueKind::Encoding,
            None,
            format!(
                "most bytes above 0x7F come in runs, as in a code page this reader does not \
                 decode (a Greek, Hebrew, Arabic or Thai one; or Japanese, Chinese, \
                 Korean or Cyrillic text too short or too damaged to recognise) \
                 rather than in {:?}, as which they were read: names, labels and messages \
                 are likely garbled and events may be missing; export again with PowerShell \
                 (`wevtutil qe System /f:text | Out-File -Encoding utf8 System.txt`) or as \
                 .evtx (`wevtutil epl System System.evtx`)",
                decoded.encoding
            ),
        );
    }
    // Lines that end in CR alone (a terminal's capture, an old Mac editor) are lines all
    // the same: each CR becomes LF, one byte for one, so every offset stays true.
    if !decoded.text.contains('\n') && decoded.text.contains('\r') {
        out.report.info(
            IssueKind::Encoding,
            None,
            "the lines end in CR alone (no LF); each CR was read as a line end".to_owned(),
        );
        sniff::read_text(&decoded.text.replace('\r', "\n"), out);
        return;
    }
    sniff::read_text(&decoded.text, out);
}

/// Events read with a wall-clock time and no time zone (`Event::time_is_local`): how many,
/// and where the first of them is, for [`Output::report_local_times`].
#[derive(Debug, Default)]
pub(crate) struct LocalTimes {
    count: u64,
    first: Option<IssueLocation>,
}

impl LocalTimes {
    /// Counts `event` if its time has no zone; `at`: where it is.
    pub(crate) fn note(&mut self, event: &Event, at: impl FnOnce() -> Option<IssueLocation>) {
        if event.time_is_local {
            self.count += 1;
            if self.first.is_none() {
                self.first = at();
            }
        }
    }
}

/// Where a parser's results go: the sink, the report, and the progress callback.
pub(crate) struct Output<'a> {
    pub(crate) report: InputReport,
    sink: &'a mut dyn EventSink,
    progress: &'a mut dyn FnMut(Progress) -> ControlFlow<()>,
}

impl<'a> Output<'a> {
    fn new(
        name: &str,
        len: u64,
        sink: &'a mut dyn EventSink,
        progress: &'a mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> Output<'a> {
        Output {
            report: InputReport::new(name, len),
            sink,
            progress,
        }
    }

    pub(crate) fn input_name(&self) -> &str {
        &self.report.name
    }

    pub(crate) fn details(&self) -> Details {
        self.sink.details()
    }

    pub(crate) fn emit(&mut self, event: Event) {
        self.report.events += 1;
        self.sink.event(event);
    }

    pub(crate) fn tally(&mut self, tally: &Tally) {
        self.report.events += tally.events;
        self.sink.tally(&self.report.name, tally);
    }

    /// [`Output::emit`] of an event whose [`ExcerptCuts`] are known.
    pub(crate) fn emit_with_cuts(&mut self, event: Event, cuts: ExcerptCuts) {
        self.report.events += 1;
        self.sink.event_with_cuts(event, cuts);
    }

    pub(crate) fn reclaim(&mut self, into: &mut Vec<Event>) {
        self.sink.reclaim(into);
    }

    pub(crate) fn shard(&self) -> Option<Box<dyn Shard>> {
        self.sink.shard()
    }

    pub(crate) fn absorb(&mut self, shard: &mut dyn Shard) {
        self.sink.absorb(shard);
    }

    pub(crate) fn skip(&mut self) {
        self.report.skipped += 1;
    }

    /// Skips an event of `bytes`, over [`MAX_EVENT_BYTES`], saying so at `at`: `what` names it
    /// ("this row", "the event starting here").
    pub(crate) fn skip_oversized(&mut self, at: Option<IssueLocation>, what: &str, bytes: usize) {
        self.skip();
        self.report.error(
            IssueKind::Limit,
            at,
            format!(
                "{what} is {bytes} bytes, over the {} KiB cap on one event; it was skipped",
                MAX_EVENT_BYTES / 1024
            ),
        );
    }

    /// Says how many events showed a wall-clock time without a time zone ([`LocalTimes`]),
    /// and `why` an export of this kind does (` (PowerShell prints local time)`, or nothing).
    pub(crate) fn report_local_times(&mut self, local: LocalTimes, why: &str) {
        let LocalTimes { count, first } = local;
        if count > 0 {
            let (events, show) = if count == 1 {
                ("event", "shows")
            } else {
                ("events", "show")
            };
            self.report.warning(
                IssueKind::AmbiguousTime,
                first,
                format!(
                    "{count} {events} {show} a time without a time zone{why}; it was read as \
                     UTC, so times may be off by the VM's UTC offset"
                ),
            );
        }
    }

    /// Reports the text as cut at its start, at `line`: `what` (the text before the first
    /// whole one) is the end of a `unit` whose start is missing and is not read; `fewer` is
    /// the query that gets whole ones through Run Command's 4,096 bytes.
    pub(crate) fn cut_at_start(&mut self, line: u32, what: &str, unit: &str, fewer: &str) {
        self.skip();
        self.report.truncated = true;
        self.report.error(
            IssueKind::Truncated,
            Some(IssueLocation::Line { line }),
            format!(
                "{what} whose start is missing: the text looks cut at its start (Azure Run \
                 Command returns only the last 4,096 bytes of output), so that {unit} was not \
                 read; query fewer events ({fewer}) to get whole ones"
            ),
        );
    }

    /// Reports progress; `Break` means the caller cancelled (recorded in the report).
    pub(crate) fn tick(&mut self, bytes_done: u64) -> ControlFlow<()> {
        let p = Progress {
            bytes_done: bytes_done.min(self.report.bytes),
            bytes_total: self.report.bytes,
            events: self.report.events,
        };
        let flow = (self.progress)(p);
        if flow.is_break() && !self.report.cancelled {
            self.report.cancelled = true;
            self.report.info(
                IssueKind::Cancelled,
                Some(IssueLocation::Byte {
                    offset: p.bytes_done,
                }),
                format!(
                    "reading was cancelled after {} of {} bytes",
                    p.bytes_done, p.bytes_total
                ),
            );
        }
        flow
    }

    fn finish(mut self) -> InputReport {
        if self.report.cancelled {
            self.report.sha256.clear();
        } else {
            let total = self.report.bytes;
            let _ = self.tick(total);
        }
        if self.report.format.is_none() && !self.report.cancelled {
            self.report.push(InputIssue {
                severity: Severity::Error,
                kind: IssueKind::Unrecognised,
                at: None,
                message: unrecognised_message(&self.report),
            });
        }
        self.report
    }
}

fn unrecognised_message(report: &InputReport) -> String {
    let mut msg = "this is not an event log export I can read".to_owned();
    if !report.tried.is_empty() {
        msg.push_str(" (tried: ");
        let tried: Vec<String> = report
            .tried
            .iter()
            .map(|a| format!("{} — {}", a.format, a.why_not))
            .collect();
        msg.push_str(&tried.join("; "));
        msg.push(')');
    }
    msg.push_str(
        "; export the log as .evtx (wevtutil epl System System.evtx), or as text with \
         wevtutil qe System /f:text",
    );
    msg
}

#[cfg(test)]
mod tests {
    use super::Format;

    /// `fixer diagnose --json` names an export format as its text report does (the
    /// `RDPFIX-…` blocks are named by their markers in words, `evidence-block` and
    /// `config-snapshot` in JSON, since before this test).
    #[test]
    fn each_format_is_named_alike_in_json_and_in_words() {
        for format in [
            Format::Evtx,
            Format::WevtutilText,
            Format::Xml,
            Format::Csv,
            Format::FormatList,
            Format::Table,
            Format::Zip,
            Format::RegistryHive,
        ] {
            let json = serde_json::to_string(&format).unwrap_or_default();
            assert_eq!(json, format!("\"{format}\""));
        }
    }
}
