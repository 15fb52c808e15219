//! What reading one input produced besides its events: the format found, counts, and every
//! problem with where it is. The page shows it; `fixer diagnose --json` prints it.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Format;

/// How many issues one report keeps. A garbage input can have an issue per line; past this
/// cap they are only counted (`issues_dropped`), so memory stays bounded.
pub const MAX_ISSUES: usize = 200;

/// The result of reading one input (a file or a pasted text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputReport {
    /// The input's display name (a file name, or "pasted text").
    pub name: String,
    /// The format recognised from the content; `None` when nothing readable was found.
    pub format: Option<Format>,
    /// Which variant of the format, for people: "wevtutil /f:text", "Event Viewer CSV", …
    pub dialect: Option<Dialect>,
    /// The text encoding found, for text formats.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<TextEncoding>,
    /// Size of the input in bytes.
    pub bytes: u64,
    /// Lowercase hex SHA-256 of the input's bytes; empty when the read was cancelled before
    /// the end (the whole input was never seen).
    pub sha256: String,
    /// Events handed to the sink.
    pub events: u64,
    /// Events seen but not read (damaged records, malformed blocks).
    pub skipped: u64,
    /// How many issues are errors (something was lost).
    pub errors: u64,
    /// Problems found, in input order; at most [`MAX_ISSUES`].
    pub issues: Vec<InputIssue>,
    /// Issues beyond [`MAX_ISSUES`], counted only.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub issues_dropped: u64,
    /// The input looks cut short (at its start or its end): events may be missing.
    pub truncated: bool,
    /// The reader was stopped by the caller before the end.
    pub cancelled: bool,
    /// For `.evtx`: the file's chunks and header state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evtx: Option<EvtxSummary>,
    /// When no format fitted: what was tried and why each did not fit.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tried: Vec<Attempt>,
    /// Configuration snapshots (`RDPFIX-CONFIG` blocks) found in the input, in input order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub configs: Vec<crate::config::ConfigSnapshot>,
    /// When a text held several exports one after another (what several Run Command runs
    /// returned, pasted together): each, in input order, as read in its own format.
    /// `format` and `dialect` are then the first one's; empty for a single export.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<TextPart>,
}

/// One of several exports in one text ([`InputReport::parts`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextPart {
    pub format: Format,
    pub dialect: Option<Dialect>,
    /// Its first and last lines, 1-based, in the whole text.
    pub first_line: u32,
    pub last_line: u32,
    /// Events read from it.
    pub events: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl InputReport {
    pub(crate) fn new(name: &str, bytes: u64) -> InputReport {
        InputReport {
            name: name.to_owned(),
            format: None,
            dialect: None,
            encoding: None,
            bytes,
            sha256: String::new(),
            events: 0,
            skipped: 0,
            errors: 0,
            issues: Vec::new(),
            issues_dropped: 0,
            truncated: false,
            cancelled: false,
            evtx: None,
            tried: Vec::new(),
            configs: Vec::new(),
            parts: Vec::new(),
        }
    }

    /// The format read, for people and `--json` readers alike (`csv`); each part's, joined
    /// by ` + `, when the text held several exports ([`InputReport::parts`]).
    pub fn format_names(&self) -> Option<String> {
        if self.parts.is_empty() {
            return self.format.map(|f| f.to_string());
        }
        Some(join(self.parts.iter().map(|p| p.format.to_string())))
    }

    /// The dialect read, for people ("Event Viewer CSV"); each part's, joined by ` + `, when
    /// the text held several exports ([`InputReport::parts`]).
    pub fn dialect_names(&self) -> Option<String> {
        if self.parts.is_empty() {
            return self.dialect.map(|d| d.to_string());
        }
        Some(join(self.parts.iter().map(|p| {
            p.dialect
                .map_or_else(|| p.format.to_string(), |d| d.to_string())
        })))
    }

    /// Records an issue (counted as an error when its severity is `Error`).
    pub(crate) fn push(&mut self, issue: InputIssue) {
        if issue.severity == Severity::Error {
            self.errors += 1;
        }
        if self.issues.len() < MAX_ISSUES {
            self.issues.push(issue);
        } else {
            self.issues_dropped += 1;
        }
    }

    pub(crate) fn error(&mut self, kind: IssueKind, at: Option<IssueLocation>, message: String) {
        self.push(InputIssue {
            severity: Severity::Error,
            kind,
            at,
            message,
        });
    }

    pub(crate) fn warning(&mut self, kind: IssueKind, at: Option<IssueLocation>, message: String) {
        self.push(InputIssue {
            severity: Severity::Warning,
            kind,
            at,
            message,
        });
    }

    pub(crate) fn info(&mut self, kind: IssueKind, at: Option<IssueLocation>, message: String) {
        self.push(InputIssue {
            severity: Severity::Info,
            kind,
            at,
            message,
        });
    }

    /// Whether any issue of this kind was recorded (kept or dropped issues of other kinds
    /// do not count).
    pub fn has_issue(&self, kind: IssueKind) -> bool {
        self.issues.iter().any(|i| i.kind == kind)
    }

    /// One line for people: "system.evtx: evtx, 1881 events, 0 skipped, 0 errors".
    pub fn summary(&self) -> String {
        let format = self
            .dialect_names()
            .unwrap_or_else(|| "not a readable event log export".to_owned());
        let count = |n: u64, noun: &str| match n {
            1 => format!("1 {noun}"),
            n => format!("{n} {noun}s"),
        };
        let mut s = format!(
            "{}: {format}, {}, {} skipped, {}",
            self.name,
            count(self.events, "event"),
            self.skipped,
            count(self.errors, "error")
        );
        if self.truncated {
            s.push_str(", looks truncated");
        }
        if self.cancelled {
            s.push_str(", cancelled");
        }
        s
    }
}

/// `names` joined by ` + `, each once, in order.
fn join(names: impl Iterator<Item = String>) -> String {
    let mut seen: Vec<String> = Vec::new();
    for name in names {
        if !seen.contains(&name) {
            seen.push(name);
        }
    }
    seen.join(" + ")
}

/// Lowercase hex of `bytes`' SHA-256.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// One problem found while reading an input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputIssue {
    pub severity: Severity,
    pub kind: IssueKind,
    /// Where in the input; `None` for the input as a whole.
    pub at: Option<IssueLocation>,
    /// For people: lowercase, says what was lost and what to do.
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth knowing; nothing was lost.
    Info,
    /// Read, but the data may be wrong (a checksum mismatch, an ambiguous date).
    Warning,
    /// Something was not read (a record, a chunk, an event block).
    Error,
}

/// What kind of problem, for code (tests, the page's icons); the message says it for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// EVTX: the file header's CRC32 does not match; a registry hive: the base block's
    /// checksum does not match.
    HeaderChecksum,
    /// EVTX: the log was not closed cleanly; the header's counts may be stale. A registry
    /// hive: its sequence numbers differ (changes still in its `.LOG1`/`.LOG2`).
    DirtyHeader,
    /// EVTX: the file header is damaged or missing; a registry hive: its base block, or its
    /// root key.
    BadHeader,
    /// EVTX: a chunk does not start with `ElfChnk`.
    BadChunkSignature,
    /// EVTX: a chunk's header or records CRC32 does not match.
    ChunkChecksum,
    /// EVTX: a chunk's string or template tables cannot be read.
    ChunkTables,
    /// EVTX: the chunk header is inconsistent (free space offset out of range …).
    BadChunkHeader,
    /// EVTX: the chunks carry no CRC32 at all, so damage cannot be detected.
    NoChecksums,
    /// EVTX: one record cannot be read.
    BadRecord,
    /// A record or event block lacks what every event has (provider, event ID).
    IncompleteEvent,
    /// A text event block or line cannot be read.
    Malformed,
    /// A value has the wrong shape (an event ID that is not a number, a date that is not one).
    BadValue,
    /// The input ends (or starts) in the middle of an event.
    Truncated,
    /// Bytes that are not valid in the detected encoding were replaced.
    Encoding,
    /// Dates are ambiguous (day/month order) or carry no time zone.
    AmbiguousTime,
    /// A size cap was hit; the message names it.
    Limit,
    /// The caller stopped the read.
    Cancelled,
    /// Not an event log export this reader knows.
    Unrecognised,
    /// Labels or headers were not recognised and were read by their position.
    PositionalFields,
    /// What a channel wrapped around the export (Run Command's JSON or PowerShell listing,
    /// Serial Console prompts) was set aside; the message says what.
    Wrapper,
    /// An archive's member, or an archive, was not read; the message says why.
    Skipped,
    /// A registry hive's cell cannot be read (outside its hive bin, free, without its
    /// signature, too large): what needed it reads as unreadable.
    BadCell,
    /// Which registry hive it is: SYSTEM (its control set and computer) or SOFTWARE (its
    /// release).
    Hive,
    /// A text held several exports one after another, each read in its own format; the
    /// message lists them ([`InputReport::parts`]).
    SeveralExports,
}

/// A position inside one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IssueLocation {
    /// 1-based line of a text input.
    Line { line: u32 },
    /// 1-based line and column (in characters) of a text input, where a line holds more
    /// than one event: `wevtutil qe /f:xml` prints all its events on one line.
    LineColumn { line: u32, column: u32 },
    /// Byte offset in the input.
    Byte { offset: u64 },
    /// An EVTX chunk: its number and its byte offset in the file.
    Chunk { chunk: u64, offset: u64 },
    /// An EVTX record: its chunk, its id when known, and its byte offset in the file.
    Record {
        chunk: u64,
        record_id: Option<u64>,
        offset: Option<u64>,
    },
}

impl std::fmt::Display for IssueLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IssueLocation::Line { line } => write!(f, "line {line}"),
            IssueLocation::LineColumn { line, column } => {
                write!(f, "line {line}, column {column}")
            }
            IssueLocation::Byte { offset } => write!(f, "byte {offset}"),
            IssueLocation::Chunk { chunk, offset } => write!(f, "chunk {chunk} (byte {offset})"),
            IssueLocation::Record {
                chunk,
                record_id,
                offset,
            } => {
                match record_id {
                    Some(id) => write!(f, "record {id} in chunk {chunk}")?,
                    None => write!(f, "a record in chunk {chunk}")?,
                }
                if let Some(offset) = offset {
                    write!(f, " (byte {offset})")?;
                }
                Ok(())
            }
        }
    }
}

/// The variant of a format, for people and for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dialect {
    /// A binary `.evtx` log.
    Evtx,
    /// `wevtutil qe … /f:text`: `Event[N]:` blocks.
    WevtutilText,
    /// Event Viewer's "Copy details as text" (labels, then the description, maybe the XML).
    EventViewerText,
    /// The Microsoft article's rendering (`**Event ID:** 1058 <br />`), or its plain copy.
    ArticleText,
    /// `wevtutil qe … /f:xml`: `<Event>` elements without a root.
    WevtutilXml,
    /// `wevtutil qe … /f:RenderedXml`: like `/f:xml`, with `<RenderingInfo>`.
    RenderedXml,
    /// Event Viewer's "Save as XML": an `<Events>` root.
    EventViewerXml,
    /// Event Viewer's "Save as CSV": Level, Date and Time, Source, Event ID, Task Category.
    EventViewerCsv,
    /// Event Viewer's "Save as Text (Tab delimited)".
    EventViewerTabs,
    /// `Get-WinEvent | Export-Csv` (with or without the `#TYPE` line).
    ExportCsv,
    /// `Get-EventLog | Export-Csv`.
    EventLogExportCsv,
    /// `Get-WinEvent | Format-List` (or `Format-List *`).
    FormatList,
    /// `Get-EventLog | Format-List`.
    EventLogFormatList,
    /// `Get-WinEvent`'s default table (grouped by `ProviderName`), or `Format-Table`.
    FormatTable,
    /// An `RDPFIX-EVIDENCE` block (`fixer collect --compact`).
    EvidenceBlock,
    /// An `RDPFIX-CONFIG` configuration snapshot.
    ConfigSnapshot,
    /// A zip archive (its members are inputs of their own).
    Zip,
    /// An offline registry hive (`SYSTEM`, `SOFTWARE`).
    RegistryHive,
}

impl std::fmt::Display for Dialect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Dialect::Evtx => "binary event log (.evtx)",
            Dialect::WevtutilText => "wevtutil /f:text",
            Dialect::EventViewerText => "Event Viewer details as text",
            Dialect::ArticleText => "event details in the article's layout",
            Dialect::WevtutilXml => "wevtutil /f:xml",
            Dialect::RenderedXml => "wevtutil /f:RenderedXml",
            Dialect::EventViewerXml => "Event Viewer saved XML",
            Dialect::EventViewerCsv => "Event Viewer CSV",
            Dialect::EventViewerTabs => "Event Viewer tab-delimited text",
            Dialect::ExportCsv => "Get-WinEvent | Export-Csv",
            Dialect::EventLogExportCsv => "Get-EventLog | Export-Csv",
            Dialect::FormatList => "Get-WinEvent | Format-List",
            Dialect::EventLogFormatList => "Get-EventLog | Format-List",
            Dialect::FormatTable => "Get-WinEvent table",
            Dialect::EvidenceBlock => "RDPFIX-EVIDENCE block (fixer collect --compact)",
            Dialect::ConfigSnapshot => "RDPFIX-CONFIG configuration snapshot",
            Dialect::Zip => "zip archive",
            Dialect::RegistryHive => "offline registry hive",
        })
    }
}

/// The text encoding of a text export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TextEncoding {
    Utf8,
    /// UTF-8 with a byte order mark (PowerShell 7 `>`, `Out-File -Encoding utf8` in 5.1).
    Utf8Bom,
    /// UTF-16LE with a BOM (Windows PowerShell 5.1 `>` and `Out-File`).
    Utf16Le,
    Utf16Be,
    /// UTF-16LE without a BOM (a fragment of a 5.1 redirection).
    Utf16LeNoBom,
    /// cmd's OEM code page in the US.
    Cp437,
    /// cmd's OEM code page in Western Europe (French, German …).
    Cp850,
    /// The ANSI code page (Notepad's "ANSI", `Export-Csv` in some setups).
    Windows1252,
    /// cmd's OEM (and the ANSI) code page in Japan: Shift-JIS.
    Cp932,
    /// cmd's OEM (and the ANSI) code page in mainland China: GBK.
    Cp936,
    /// cmd's OEM (and the ANSI) code page in Korea: Unified Hangul Code (EUC-KR extended).
    Cp949,
    /// cmd's OEM (and the ANSI) code page in Taiwan and Hong Kong: Big5.
    Cp950,
    /// cmd's OEM code page in Russia and other Cyrillic locales.
    Cp866,
    /// The ANSI code page of Cyrillic locales.
    Windows1251,
    /// cmd's OEM code page in Central Europe (Polish, Czech, Hungarian …).
    Cp852,
    /// The ANSI code page of Central European locales.
    Windows1250,
    /// cmd's OEM code page in Turkey.
    Cp857,
    /// The ANSI code page of Turkish locales.
    Windows1254,
}

/// The EVTX file's structure as read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EvtxSummary {
    /// Whole 64 KiB chunks in the file (from its size, not its header).
    pub chunks: u64,
    /// Chunks whose records were read.
    pub chunks_read: u64,
    /// Chunks that were all zeroes (never written).
    pub chunks_empty: u64,
    /// Chunks that could not be read at all.
    pub chunks_skipped: u64,
    /// Chunks read although a CRC32 did not match.
    pub chunks_checksum_mismatch: u64,
    /// The header's chunk count (which a dirty log may not have updated).
    pub header_chunk_count: u16,
    /// The header's "dirty" flag: the log was not closed cleanly.
    pub header_dirty: bool,
    /// The header's CRC32 matches (or the header says it has none).
    pub header_checksum_ok: bool,
    /// Bytes after the last whole chunk.
    pub trailing_bytes: u64,
}

/// One format tried on an unrecognised input, and why it did not fit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub format: Format,
    pub why_not: String,
}
