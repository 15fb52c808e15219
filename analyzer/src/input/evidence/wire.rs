//! What a block's body holds once inflated: JSON lines, a [`Summary`] first, then one
//! [`WireEvent`] per line. Keys are one or two letters: the body is compressed, but the
//! budget is small.

use crate::event::{Event, Level, Location, Origin};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Longest message excerpt kept per event (messages are evidence to show, rules read data).
pub const MESSAGE_CHARS: usize = 240;
/// Longest event-data value kept.
pub const VALUE_CHARS: usize = 256;
/// Most event-data items kept per event.
pub const DATA_ITEMS: usize = 32;

/// The block's first line: what the source held and what was left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Format version of the body (equal to the header's).
    pub v: u32,
    /// Events the encoder saw.
    pub seen: u64,
    /// Events some catalog rule reads.
    pub relevant: u64,
    /// Relevant events in the block.
    pub kept: u64,
    /// Relevant events left out for lack of room.
    pub omitted: u64,
    /// Context events in the block (the time range, channels and contexts seen).
    #[serde(default)]
    pub context: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<Timestamp>,
}

/// One event, short-keyed; fields an export did not carry are left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireEvent {
    /// Provider.
    pub p: String,
    /// 16-bit event ID.
    pub i: u16,
    /// Qualifiers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<u16>,
    /// Numeric level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l: Option<u8>,
    /// Time created (UTC, or wall-clock time when `lt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub t: Option<Timestamp>,
    /// The time was a wall-clock time without an offset.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lt: bool,
    /// Record id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r: Option<u64>,
    /// Channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c: Option<String>,
    /// Computer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub m: Option<String>,
    /// User SID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s: Option<String>,
    /// Event data, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub d: Vec<(String, String)>,
    /// Message excerpt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// A context event, kept for the time range, channels or contexts it shows rather than
    /// because a rule reads it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub k: bool,
}

impl WireEvent {
    /// The event again, read from `origin`.
    pub fn into_event(self, origin: Origin) -> Event {
        Event {
            provider: self.p,
            event_id: self.i,
            qualifiers: self.q,
            level: self.l.map(Level::from_number),
            time_created: self.t,
            time_is_local: self.lt,
            record_id: self.r,
            channel: self.c,
            computer: self.m,
            user_sid: self.s,
            user_name: None,
            data: self.d,
            message: self.x,
            origin,
        }
    }
}

/// Where decoded events say they come from: the block's first line in the pasted input.
pub fn origin(input: &str, line: u32) -> Origin {
    Origin {
        input: input.to_owned(),
        location: Location::Line { line },
    }
}
