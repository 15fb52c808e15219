//! What the rules conclude: findings, their evidence and how far to trust them.

use super::catalog::{Reference, Role, Tier};
use super::matching::Check;
use crate::{Level, Origin};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One documented failure the inputs show, with the evidence and the reasons to trust it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule id (`rdp-cert-keys`).
    pub id: String,
    pub title: String,
    /// The scenario of RDP-SCENARIOS.md (`S1`).
    pub scenario: String,
    pub tier: Tier,
    pub confidence: Confidence,
    /// 0–100; what `confidence` is banded from, and what findings are ranked by.
    pub score: u8,
    /// Every step that moved the score, in order, so an admin can see why.
    pub reasons: Vec<Reason>,
    /// A bounded selection of the matching events: current ones first.
    pub evidence: Vec<Evidence>,
    /// Counts per kind of evidence, exact even when `evidence` shows only some events.
    pub signals: Vec<SignalSummary>,
    /// The configuration conditions that hold, with the values read (`[[rule.config]]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<ConfigEvidence>,
    /// When rules of one cause fired together (a catalog `cause`): each of them, the one
    /// whose id, title and advice the finding carries first. Empty for a finding of one rule.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<Part>,
    pub window: Window,
    pub explanation: String,
    pub check_next: Vec<String>,
    pub source: Reference,
    pub references: Vec<Reference>,
}

/// One rule of a finding that joins the rules of one cause: what it rested on and how sure
/// it was on its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// The rule id.
    pub id: String,
    pub title: String,
    pub tier: Tier,
    /// Its score alone.
    pub score: u8,
    /// It rested on events (its signals).
    pub events: bool,
    /// It rested on configuration (its `[[rule.config]]` conditions).
    pub config: bool,
}

/// How far to trust a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    /// Bands a 0–100 score.
    pub fn from_score(score: u8) -> Confidence {
        match score {
            75.. => Confidence::High,
            50.. => Confidence::Medium,
            _ => Confidence::Low,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// One step of a finding's score: what was seen and how much it counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    /// Points added (or, negative, taken away).
    pub points: i16,
    pub text: String,
}

/// The time range evidence is judged against: `hours` up to `end` ("now").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub hours: u32,
    /// `None` when no time could be established (no `--now`, no timestamped event).
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
}

impl Window {
    /// The window of `hours` ending at `now`.
    pub fn ending_at(now: Option<Timestamp>, hours: u32) -> Window {
        let start = now.and_then(|n| {
            n.checked_sub(jiff::SignedDuration::from_hours(i64::from(hours)))
                .ok()
        });
        Window {
            hours,
            start,
            end: now,
        }
    }

    /// Where `time` falls relative to this window.
    pub fn age_of(&self, time: Option<Timestamp>) -> Age {
        match (time, self.start, self.end) {
            (None, _, _) | (_, None, _) | (_, _, None) => Age::Unknown,
            (Some(t), Some(start), Some(end)) => {
                if t > end {
                    Age::Newer
                } else if t < start {
                    Age::Older
                } else {
                    Age::InWindow
                }
            }
        }
    }
}

/// Where an event's time falls relative to the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Age {
    /// Within the window: current evidence.
    InWindow,
    /// Before the window: shown, but it counts less.
    Older,
    /// After "now" (a `--now` earlier than the newest events).
    Newer,
    /// No timestamp, or no "now".
    Unknown,
}

/// One event shown as evidence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// Which of the rule's signals it matched.
    pub signal: String,
    pub provider: String,
    pub event_id: u16,
    pub qualifiers: Option<u16>,
    pub level: Option<Level>,
    pub time: Option<Timestamp>,
    pub age: Age,
    pub computer: Option<String>,
    pub channel: Option<String>,
    pub record_id: Option<u64>,
    /// The input and the record or line to find it again.
    pub origin: Origin,
    /// The start of the rendered message, when the export has one (shown, never matched).
    pub message_excerpt: Option<String>,
    /// The structured-data conditions checked on this event.
    pub checks: Vec<CheckNote>,
}

/// A condition checked on an evidence event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckNote {
    pub label: String,
    pub check: Check,
}

/// How many events of one kind were found, and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignalSummary {
    pub id: String,
    pub label: String,
    pub role: Role,
    pub provider: String,
    pub event_ids: Vec<u16>,
    pub in_window: u64,
    pub older: u64,
    pub newer: u64,
    pub time_unknown: u64,
    pub newest: Option<Timestamp>,
    /// For rate signals: the densest burst found, and the threshold it is held to.
    pub peak: Option<Peak>,
}

/// The densest burst of a rate signal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peak {
    pub events: u64,
    pub within_minutes: u32,
    /// Where the burst starts.
    pub from: Timestamp,
    /// The rule's threshold.
    pub min_events: u32,
    /// Whether the burst lies within the window.
    pub in_window: bool,
}

/// A configuration condition that holds on a snapshot: the value read and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigEvidence {
    /// The condition's id.
    pub condition: String,
    pub label: String,
    pub role: Role,
    /// The computer the snapshot describes.
    pub computer: String,
    /// Where the value lives on Windows, and its name (`fDenyTSConnections`).
    pub source: String,
    pub name: String,
    /// The service, profile or rule, for sections that have them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The value as read, or `absent, so the default …`.
    pub value: String,
    /// The snapshot's input and the line the value was read at (the block's first line when
    /// a default was compared).
    pub origin: Origin,
    /// When the snapshot was taken.
    pub taken: Option<Timestamp>,
}
