//! The normalised event model every input format is read into.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One Windows event, whatever export it came from.
///
/// Fields an export does not carry are `None` (a CSV export has no record id, a text
/// export no qualifiers); rules must not assume any optional field is present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Provider name as logged (`Microsoft-Windows-TerminalServices-RemoteConnectionManager`,
    /// `Schannel`), trimmed. Event Viewer's "Source" column.
    pub provider: String,
    /// The 16-bit event ID. Exports that show the 32-bit classic value
    /// (qualifiers << 16 | id) are normalised to the low 16 bits.
    pub event_id: u16,
    /// The classic `Qualifiers` attribute (severity/facility bits), kept apart from the ID.
    pub qualifiers: Option<u16>,
    pub level: Option<Level>,
    /// `TimeCreated/@SystemTime`, in UTC.
    pub time_created: Option<Timestamp>,
    /// `true` when the export showed a wall-clock time without a UTC offset (older
    /// `wevtutil` text, Event Viewer CSV, PowerShell lists): `time_created` then holds that
    /// wall-clock time read as if it were UTC, and may be off by the VM's UTC offset.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub time_is_local: bool,
    pub record_id: Option<u64>,
    /// Channel (log name) as logged, e.g. `System`,
    /// `Microsoft-Windows-TerminalServices-SessionBroker/Operational`.
    pub channel: Option<String>,
    /// The `<Computer>` element: usually a NetBIOS name or an FQDN.
    pub computer: Option<String>,
    /// `Security/@UserID`, a SID string.
    pub user_sid: Option<String>,
    /// The account name a text export showed (`NT AUTHORITY\SYSTEM`, `SERVICE RÉSEAU`).
    /// Localised: evidence to show, never to match (match `user_sid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// `EventData`/`UserData` values in document order. Unnamed `<Data>` elements and
    /// positional values from text exports are named `Param1`, `Param2`, …
    pub data: Vec<(String, String)>,
    /// The rendered message, when the export carries one. Evidence to show, never to match:
    /// Windows localises it.
    pub message: Option<String>,
    /// Where this event was read from.
    pub origin: Origin,
}

impl Event {
    /// An event with only its provider and ID known, read from `origin`; exports fill in
    /// the rest.
    pub fn new(provider: impl Into<String>, event_id: u16, origin: Origin) -> Event {
        Event {
            provider: provider.into(),
            event_id,
            qualifiers: None,
            level: None,
            time_created: None,
            time_is_local: false,
            record_id: None,
            channel: None,
            computer: None,
            user_sid: None,
            user_name: None,
            data: Vec::new(),
            message: None,
            origin,
        }
    }

    /// The value of the first event-data item named `name` (ASCII case-insensitive).
    pub fn data_value(&self, name: &str) -> Option<&str> {
        self.data
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Event severity, as the numeric `Level` of the event schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Level 0: "LogAlways"; classic providers also log informational events with 0.
    LogAlways,
    Critical,
    Error,
    Warning,
    Information,
    Verbose,
    /// A provider-defined level outside 0–5.
    Other(u8),
}

impl Level {
    /// Maps the schema's numeric level.
    pub fn from_number(n: u8) -> Level {
        match n {
            0 => Level::LogAlways,
            1 => Level::Critical,
            2 => Level::Error,
            3 => Level::Warning,
            4 => Level::Information,
            5 => Level::Verbose,
            other => Level::Other(other),
        }
    }

    /// The numeric level of the event schema.
    pub fn number(self) -> u8 {
        match self {
            Level::LogAlways => 0,
            Level::Critical => 1,
            Level::Error => 2,
            Level::Warning => 3,
            Level::Information => 4,
            Level::Verbose => 5,
            Level::Other(n) => n,
        }
    }
}

/// Where an event came from: which input, and where inside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    /// The input's display name (a file name, or "pasted text").
    pub input: String,
    pub location: Location,
}

/// A position inside one input, precise enough for a user to find the event again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Location {
    /// A binary `.evtx` record: its record id and the chunk it sits in.
    Record { record_id: u64, chunk: u32 },
    /// The 1-based line where a text, XML or CSV event starts.
    Line { line: u32 },
    /// The 1-based line and column (in characters, as an editor counts them) where an event
    /// starts that does not start its line: `wevtutil qe /f:xml` prints every event on one
    /// line, where the line alone would not find it.
    LineColumn { line: u32, column: u32 },
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Record { record_id, .. } => write!(f, "record {record_id}"),
            Location::Line { line } => write!(f, "line {line}"),
            Location::LineColumn { line, column } => write!(f, "line {line}, column {column}"),
        }
    }
}
