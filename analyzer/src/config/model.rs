//! A configuration snapshot as read: every value with the section, subject and line it
//! came from, what the producer could not collect, and the keys this version does not know.

use super::schema::{self, Release, Section};
use crate::Origin;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// One `RDPFIX-CONFIG` block, read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigSnapshot {
    /// The computer it describes (its NetBIOS or DNS name, as `$env:COMPUTERNAME`).
    pub computer: String,
    /// When it was taken (the VM's clock, UTC).
    pub taken: Option<Timestamp>,
    /// The OS build number (`20348`); decides which defaults apply.
    pub os_build: Option<u32>,
    /// Where the block starts.
    pub origin: Origin,
    /// Every value read, in block order.
    pub entries: Vec<Entry>,
    /// Sections the producer says it could not collect, and why.
    pub not_collected: Vec<NotCollected>,
    /// Sections and keys this version does not know: kept, shown, never used.
    pub unknown: Vec<Unknown>,
}

/// One value of a section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub section: Section,
    /// The service, profile, protocol or rule of a section that has subjects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub key: String,
    pub value: Value,
    /// 1-based line of the input.
    pub line: u32,
}

/// A value as collected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "text", rename_all = "snake_case")]
pub enum Value {
    /// `-`: the registry value (or the thing reported) does not exist: Windows applies its
    /// default.
    Absent,
    /// `?`: it exists but could not be read, or what was written is not a valid value.
    Unreadable,
    /// The value, percent-decoded.
    Set(String),
}

/// A section the producer could not collect (`fw ! why=…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotCollected {
    pub section: Section,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    pub line: u32,
}

/// A line or key this version does not know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unknown {
    pub line: u32,
    /// The line's section word and the item (`rdp colour=4`), as written.
    pub text: String,
}

/// What a snapshot says about one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading<T> {
    /// The section, or this key of it, is not in the snapshot: nothing is known.
    NotCollected,
    /// The registry value does not exist: Windows applies its default.
    Absent,
    /// It could not be read.
    Unreadable,
    Value(T),
}

impl<T> Reading<T> {
    pub fn value(self) -> Option<T> {
        match self {
            Reading::Value(v) => Some(v),
            _ => None,
        }
    }

    pub fn map<U>(self, f: impl FnOnce(T) -> Option<U>) -> Reading<U> {
        match self {
            Reading::NotCollected => Reading::NotCollected,
            Reading::Absent => Reading::Absent,
            Reading::Unreadable => Reading::Unreadable,
            Reading::Value(v) => f(v).map_or(Reading::Unreadable, Reading::Value),
        }
    }
}

/// A DWORD setting as Windows applies it: the value set, or the default of its release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Effective {
    pub value: u32,
    /// Whether it is the default because the registry value is absent.
    pub by_default: bool,
    /// The line that set it (`None` for a default).
    pub line: Option<u32>,
}

impl ConfigSnapshot {
    /// A snapshot of nothing yet, read from `input` at `line`: no computer, time or build,
    /// no values (every section not collected until one is read).
    pub fn empty(input: &str, line: u32) -> ConfigSnapshot {
        ConfigSnapshot {
            computer: String::new(),
            taken: None,
            os_build: None,
            origin: Origin {
                input: input.to_owned(),
                location: crate::Location::Line { line },
            },
            entries: Vec::new(),
            not_collected: Vec::new(),
            unknown: Vec::new(),
        }
    }

    /// The release whose defaults apply (`None` when the build is unknown).
    pub fn release(&self) -> Option<Release> {
        self.os_build.map(Release::of_build)
    }

    /// The line the snapshot starts at.
    pub fn origin_line(&self) -> u32 {
        match self.origin.location {
            crate::Location::Line { line } | crate::Location::LineColumn { line, .. } => line,
            crate::Location::Record { .. } => 0,
        }
    }

    /// Whether any value of `section` was collected.
    pub fn has(&self, section: Section) -> bool {
        self.entries.iter().any(|e| e.section == section)
    }

    /// The subjects of a section with subjects, in block order, each once.
    pub fn subjects(&self, section: Section) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for e in self.entries.iter().filter(|e| e.section == section) {
            if let Some(s) = e.subject.as_deref()
                && !out.iter().any(|o| o.eq_ignore_ascii_case(s))
            {
                out.push(s);
            }
        }
        out
    }

    /// The entry for a key (subjects compared without case, as Windows names them).
    pub fn entry(&self, section: Section, subject: Option<&str>, key: &str) -> Option<&Entry> {
        self.entries.iter().rev().find(|e| {
            e.section == section
                && e.key == key
                && match (subject, e.subject.as_deref()) {
                    (None, None) => true,
                    (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
                    _ => false,
                }
        })
    }

    /// What the snapshot says about a key, as text.
    pub fn text(&self, section: Section, subject: Option<&str>, key: &str) -> Reading<&str> {
        match self.entry(section, subject, key).map(|e| &e.value) {
            None => Reading::NotCollected,
            Some(Value::Absent) => Reading::Absent,
            Some(Value::Unreadable) => Reading::Unreadable,
            Some(Value::Set(v)) => Reading::Value(v.as_str()),
        }
    }

    /// What the snapshot says about a DWORD key.
    pub fn dword(&self, section: Section, subject: Option<&str>, key: &str) -> Reading<u32> {
        self.text(section, subject, key).map(|v| v.parse().ok())
    }

    /// A DWORD setting as Windows applies it: the value, or the default of this release
    /// when the registry value is absent. `None` when it was not collected, could not be
    /// read, or is absent without a known default.
    pub fn effective(&self, section: Section, key: &str) -> Option<Effective> {
        let line = self.entry(section, None, key).map(|e| e.line);
        match self.dword(section, None, key) {
            Reading::Value(value) => Some(Effective {
                value,
                by_default: false,
                line,
            }),
            Reading::Absent => schema::lookup(section, key)
                .and_then(|k| k.default.on(self.release()))
                .map(|value| Effective {
                    value,
                    by_default: true,
                    line: None,
                }),
            Reading::NotCollected | Reading::Unreadable => None,
        }
    }

    /// A list key's items (empty when the list is empty, absent or not collected).
    pub fn list(&self, section: Section, subject: Option<&str>, key: &str) -> Vec<String> {
        match self.text(section, subject, key) {
            Reading::Value(v) => super::text::split_list(v),
            _ => Vec::new(),
        }
    }
}

/// Of several snapshots, the newest per computer (names compared without case; one
/// without a time loses to one with a time), in the order their computers first appear.
/// A snapshot naming no computer (a `reg query` paste, a hive without a readable name) is
/// kept on its own: nothing says two of them are of one machine.
pub fn newest_per_computer<'a>(
    snapshots: impl IntoIterator<Item = &'a ConfigSnapshot>,
) -> Vec<&'a ConfigSnapshot> {
    let mut out: Vec<&ConfigSnapshot> = Vec::new();
    for s in snapshots {
        if s.computer.is_empty() {
            out.push(s);
            continue;
        }
        match out
            .iter_mut()
            .find(|o| !o.computer.is_empty() && o.computer.eq_ignore_ascii_case(&s.computer))
        {
            Some(kept) => {
                if s.taken >= kept.taken {
                    *kept = s;
                }
            }
            None => out.push(s),
        }
    }
    out
}
