//! What the collector counts of everything it sees ([`Stats`]): events, their span, and per
//! name ([`NameCounts`]: channels, providers, computers, bounded by [`MAX_NAMES`]) and
//! context; absorbed from shards as if seen one by one.

use super::{MAX_NAMES, counts_fit};
use crate::rules::Catalog;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Small statistics about everything seen, for "now", hints and the report.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Stats {
    pub events: u64,
    pub undated: u64,
    /// Events whose export gave a wall-clock time without a UTC offset.
    pub local_times: u64,
    pub oldest: Option<Timestamp>,
    pub newest: Option<Timestamp>,
    pub channels: NameCounts,
    pub providers: NameCounts,
    pub computers: NameCounts,
    /// Per input name: the channels its events came from.
    pub channels_by_input: BTreeMap<String, NameCounts>,
    /// Context id → the first provider or channel that revealed it, and how many events did.
    pub contexts: BTreeMap<String, (String, u64)>,
    /// A shard's: names are counted without bound (see [`NameCounts::unbounded`]).
    pub(super) unbounded: bool,
}

impl Stats {
    /// A shard's empty statistics: names counted without bound.
    pub(super) fn shards() -> Stats {
        let mut stats = Stats {
            unbounded: true,
            ..Stats::default()
        };
        for names in [
            &mut stats.channels,
            &mut stats.providers,
            &mut stats.computers,
        ] {
            names.unbounded = true;
        }
        stats
    }

    /// Widens the span of event times to cover `[oldest, newest]`.
    pub(super) fn span(&mut self, oldest: Timestamp, newest: Timestamp) {
        self.oldest = Some(self.oldest.map_or(oldest, |o| o.min(oldest)));
        self.newest = Some(self.newest.map_or(newest, |n| n.max(newest)));
    }

    /// Whether these statistics, loaded from bytes, are what observing could give with
    /// `catalog` ([`Collector::load`](super::Collector::load)).
    pub(super) fn fits(&self, catalog: &Catalog) -> Result<(), String> {
        counts_fit([self.events, self.undated, self.local_times])?;
        for names in [&self.channels, &self.providers, &self.computers]
            .into_iter()
            .chain(self.channels_by_input.values())
        {
            names.fits()?;
        }
        counts_fit(self.contexts.values().map(|(_, n)| *n))?;
        if self
            .contexts
            .keys()
            .any(|id| !catalog.contexts.iter().any(|c| &c.id == id))
        {
            return Err("a shard naming a context the catalog does not have".to_string());
        }
        Ok(())
    }

    /// Adds `other`'s counts, as if its events came after these.
    pub(super) fn absorb(&mut self, other: Stats) {
        self.events += other.events;
        self.undated += other.undated;
        self.local_times += other.local_times;
        if let (Some(oldest), Some(newest)) = (other.oldest, other.newest) {
            self.span(oldest, newest);
        }
        self.channels.absorb(other.channels);
        self.providers.absorb(other.providers);
        self.computers.absorb(other.computers);
        for (input, names) in other.channels_by_input {
            if let Some(per_input) = self.channels_by_input.get_mut(&input) {
                per_input.absorb(names);
            } else if self.channels_by_input.len() < MAX_NAMES {
                self.channels_by_input.insert(input, names);
            }
        }
        for (context, (by, n)) in other.contexts {
            self.contexts.entry(context).or_insert((by, 0)).1 += n;
        }
    }
}

/// Counts per name (first spelling seen, compared ignoring ASCII case), bounded.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(from = "CountsWire")]
pub struct NameCounts {
    /// Per name, in the order first seen: its key (trimmed, ASCII-lowercased), the name as
    /// first seen (trimmed), how many events had it.
    entries: Vec<(String, String, u64)>,
    /// Each key's place in `entries`.
    index: BTreeMap<String, usize>,
    /// Events whose name did not fit in the bound.
    pub other: u64,
    /// A shard's ([`super::Collector::shard`]): every name is counted, so that absorbing it adds
    /// each name's whole count — a name the absorbing counts hold may come after the
    /// shard's first [`MAX_NAMES`]. A shard sees one range of one input: bounded by it.
    pub(super) unbounded: bool,
    /// The name last counted, as given, and where it was counted: most events repeat the
    /// last one's names, and are then counted without looking their key up (in a Web
    /// Worker the lookups took about 25 ms of the 390 to the findings on the 100 MiB log of
    /// failed logons).
    keyed: String,
    last: Option<Slot>,
    /// The key being looked up (reused: a name already counted costs no allocation).
    key: String,
}

/// Where a name's events are counted.
#[derive(Debug, Clone, Copy)]
enum Slot {
    Entry(usize),
    Other,
}

/// [`NameCounts`] as a shard's bytes hold them: the entries in the order first seen.
#[derive(Deserialize)]
struct CountsWire {
    entries: Vec<(String, String, u64)>,
    other: u64,
    unbounded: bool,
}

/// [`CountsWire`] written from the counts where they lie.
#[derive(Serialize)]
struct CountsWireRef<'a> {
    entries: &'a [(String, String, u64)],
    other: u64,
    unbounded: bool,
}

impl Serialize for NameCounts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        CountsWireRef {
            entries: &self.entries,
            other: self.other,
            unbounded: self.unbounded,
        }
        .serialize(serializer)
    }
}

// A key given twice leaves the index shorter than the entries: `NameCounts::fits` refuses it.
impl From<CountsWire> for NameCounts {
    fn from(wire: CountsWire) -> NameCounts {
        let index = wire
            .entries
            .iter()
            .enumerate()
            .map(|(at, (key, _, _))| (key.clone(), at))
            .collect();
        NameCounts {
            entries: wire.entries,
            index,
            other: wire.other,
            unbounded: wire.unbounded,
            ..NameCounts::default()
        }
    }
}

impl NameCounts {
    /// Empty counts; `unbounded` for a shard's ([`NameCounts::unbounded`]).
    pub(super) fn new(unbounded: bool) -> NameCounts {
        NameCounts {
            unbounded,
            ..NameCounts::default()
        }
    }

    /// Counts `n` events named `name`.
    pub(super) fn add(&mut self, name: &str, n: u64) {
        let slot = match self.last {
            Some(slot) if crate::input::bytes::same_str(&self.keyed, name) => slot,
            _ => {
                self.keyed.clear();
                self.keyed.push_str(name);
                self.key.clear();
                self.key.push_str(name.trim());
                self.key.make_ascii_lowercase();
                let slot = match self.index.get(self.key.as_str()) {
                    Some(&at) => Slot::Entry(at),
                    None if self.unbounded || self.entries.len() < MAX_NAMES => {
                        self.index.insert(self.key.clone(), self.entries.len());
                        self.entries
                            .push((self.key.clone(), name.trim().to_string(), 0));
                        Slot::Entry(self.entries.len() - 1)
                    }
                    // Entries are never taken out: a name left out once is left out on.
                    None => Slot::Other,
                };
                self.last = Some(slot);
                slot
            }
        };
        match slot {
            Slot::Entry(at) => {
                if let Some(entry) = self.entries.get_mut(at) {
                    entry.2 = entry.2.saturating_add(n);
                }
            }
            Slot::Other => self.other = self.other.saturating_add(n),
        }
    }

    /// Whether these counts, loaded from bytes, are what [`NameCounts::add`] could give:
    /// each name under its key, every key once, counts in bounds.
    pub(super) fn fits(&self) -> Result<(), String> {
        let keyed = self
            .entries
            .iter()
            .all(|(key, name, _)| name.trim() == name && *key == name.to_ascii_lowercase());
        if !keyed || self.index.len() != self.entries.len() {
            return Err("a shard whose names are not counted as observing counts them".into());
        }
        counts_fit(self.entries.iter().map(|(_, _, n)| *n).chain([self.other]))
    }

    /// Adds `other`'s counts as if its names were counted after these: its names in the
    /// order it first saw them, each admitted while there is room (as [`NameCounts::add`]
    /// would have, since any name it could not admit came after as many others).
    pub(super) fn absorb(&mut self, other: NameCounts) {
        for (key, name, n) in other.entries {
            if let Some(&at) = self.index.get(&key) {
                if let Some(entry) = self.entries.get_mut(at) {
                    entry.2 += n;
                }
            } else if self.entries.len() < MAX_NAMES {
                self.index.insert(key.clone(), self.entries.len());
                self.entries.push((key, name, n));
            } else {
                self.other += n;
            }
        }
        self.other += other.other;
    }

    /// `(name, count)` pairs, most frequent first.
    pub fn ranked(&self) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self
            .entries
            .iter()
            .map(|(_, n, c)| (n.as_str(), *c))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        v
    }

    /// Whether `name` was seen (ASCII case-insensitive).
    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(&name.trim().to_ascii_lowercase())
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.other == 0
    }
}
