//! The streaming side of the rules: sees every event once, keeps only what some rule could
//! use (bounded per signal) and small statistics. Memory does not grow with the input.

use super::catalog::Catalog;
use super::evaluate::{SHOW_IN_WINDOW, SHOW_OUTSIDE};
use super::finding::Window;
use super::matching::{self, Check};
use crate::event::{Event, Origin};
use crate::input::Tally;
use jiff::Timestamp;
use std::collections::BTreeMap;
use std::sync::Arc;

/// Candidate events kept per signal: the newest ones, the oldest ones, undated ones.
const KEEP_NEWEST: usize = 40;
const KEEP_OLDEST: usize = 10;
const KEEP_UNDATED: usize = 10;
/// Dated candidates held before the middle ones are pruned. While a signal has matched no
/// more events than this, every one is held and counts are exact.
const PRUNE_AT: usize = 2 * (KEEP_NEWEST + KEEP_OLDEST);
/// Distinct names kept per statistic (channels, providers, computers); the rest are counted
/// as "other", so a hostile input cannot grow memory without bound.
const MAX_NAMES: usize = 2_000;
/// Histogram buckets per signal before coarsening to hours.
const MAX_BUCKETS: usize = 100_000;
/// Near-miss providers remembered per signal.
const MAX_NEAR_MISS: usize = 16;
// Characters of message and data kept per candidate, and of data names; data items kept.
use crate::input::{
    EXCERPT_CHARS, EXCERPT_ITEMS as MAX_DATA_ITEMS, EXCERPT_NAME_CHARS, ExcerptCuts,
};

/// Collects candidate events for every rule of a catalog, matching through its
/// [`Index`](super::index::Index).
#[derive(Debug)]
pub struct Collector {
    /// Shared with the collector's shards ([`Collector::shard`]).
    catalog: Arc<Catalog>,
    /// One per signal of the index, in the same order.
    signals: Vec<SignalSlot>,
    stats: Stats,
    /// The last provider and channel names seen and their comparison keys: most events
    /// repeat the previous event's names.
    provider: KeyCache,
    channel: KeyCache,
    /// The conditions' checks of the event being observed.
    checks: Vec<Check>,
    /// What is reused from one event to the next.
    reuse: Reuse,
    /// The signals keeping the event being observed (their positions) and its checks.
    keepers: Vec<(usize, Vec<Check>)>,
}

/// What the collector reuses from one event to the next.
#[derive(Debug, Default)]
struct Reuse {
    /// Candidates pruned away, their allocations reused for the next ones kept.
    spare: Vec<Candidate>,
    /// Given events no longer kept, for [`Collector::reclaim`].
    done: Done,
    /// Where a name or a value is cut before it is copied back into its own allocation.
    scratch: String,
}

/// Given events the collector is done with, held for a reader to reuse once one has asked
/// ([`Collector::reclaim`]): before that none are held, after it at most [`MAX_DONE`]. Only
/// small ones are held — candidates pruned (excerpts) and events given with their cuts (built
/// from a `.evtx` record, whose reader reclaims after each chunk) — so that a reader that
/// stops reclaiming, or an input read by one that never does, leaves little behind.
#[derive(Debug, Default)]
struct Done {
    events: Vec<Event>,
    wanted: bool,
}

/// Events held for reuse at most (a few chunks' worth, between two reclaims).
const MAX_DONE: usize = 2048;

impl Done {
    fn put(&mut self, event: Event) {
        if self.wanted && self.events.len() < MAX_DONE {
            self.events.push(event);
        }
    }
}

/// An event to observe: lent (a kept one is copied) or given (the last signal keeping it
/// takes it, trimmed in place).
// Lives on the stack for one call: boxing the event would cost the allocation this saves.
#[allow(clippy::large_enum_variant)]
enum Given<'a> {
    Lent(&'a Event),
    Owned(Event),
    /// Given with what an excerpt of it cuts: only those items are cut.
    WithCuts(Event, ExcerptCuts),
}

impl Given<'_> {
    fn event(&self) -> &Event {
        match self {
            Given::Lent(event) => event,
            Given::Owned(event) | Given::WithCuts(event, _) => event,
        }
    }

    /// The event, when it was given with its cuts: one a reader built and reclaims.
    fn reusable(self) -> Option<Event> {
        match self {
            Given::Lent(_) | Given::Owned(_) => None,
            Given::WithCuts(event, _) => Some(event),
        }
    }
}

/// Candidates kept for reuse, at most (one prune's worth).
const MAX_SPARE: usize = KEEP_NEWEST + KEEP_OLDEST + 1;

/// A name and its comparison key, computed again only when the name changes.
#[derive(Debug, Default)]
struct KeyCache {
    name: String,
    key: String,
}

impl KeyCache {
    /// `make(name)`; `make("")` must be empty (the cache starts empty).
    fn key(&mut self, name: &str, make: fn(&str) -> String) -> &str {
        if self.name != name {
            self.name.clear();
            self.name.push_str(name);
            self.key = make(name);
        }
        &self.key
    }
}

/// What one signal (of [`Index::signals`](super::index::Index::signals), same position)
/// has collected.
#[derive(Debug)]
pub(crate) struct SignalSlot {
    pub rule: usize,
    pub signal: usize,
    pub state: SignalState,
}

/// What one signal has collected.
#[derive(Debug, Default)]
pub(crate) struct SignalState {
    /// Dated candidates: after pruning, the oldest `KEEP_OLDEST` and newest `KEEP_NEWEST`.
    pub dated: Vec<Candidate>,
    pub undated: Vec<Candidate>,
    pub dated_total: u64,
    pub undated_total: u64,
    /// Whether `dated` still holds every dated candidate (counts can be exact).
    pub complete: bool,
    /// Event counts per time bucket (Unix minutes / `bucket_minutes`).
    pub histogram: BTreeMap<i64, u64>,
    pub bucket_minutes: i64,
    /// Per condition: how the matched events fared.
    pub tallies: Vec<ConditionTally>,
    /// Events with the right ID but another provider: provider → count.
    pub other_providers: BTreeMap<String, u64>,
    /// Those providers in the order they were first seen (what [`SignalState::absorb`]
    /// needs to admit another's as they would have been, in order).
    other_order: Vec<String>,
    /// A shard's: every near miss is counted, so that absorbing it adds each provider's
    /// whole count (one this state already names may be past the shard's bound).
    unbounded: bool,
    /// The rule's window, when "now" was given before the events ([`Collector::judging_at`]):
    /// pruning also keeps the newest candidates in it and just before it, the evidence the
    /// finding shows.
    window: Option<(Timestamp, Timestamp)>,
    /// Events of the right provider and ID rejected by a required condition.
    pub rejected: u64,
    /// A few of the values that rejected them.
    pub rejected_values: Vec<String>,
    /// Events of the right provider and ID in a channel the signal does not read.
    pub other_channel: u64,
}

/// How the matched events of a signal fared on one condition.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConditionTally {
    pub held: u64,
    pub held_in_message: u64,
    pub failed: u64,
    pub unknown: u64,
}

/// A kept event and its condition checks (one per condition of the signal).
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub event: Event,
    pub checks: Vec<Check>,
}

/// Small statistics about everything seen, for "now", hints and the report.
#[derive(Debug, Default, Clone)]
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
    unbounded: bool,
}

impl Stats {
    /// Widens the span of event times to cover `[oldest, newest]`.
    fn span(&mut self, oldest: Timestamp, newest: Timestamp) {
        self.oldest = Some(self.oldest.map_or(oldest, |o| o.min(oldest)));
        self.newest = Some(self.newest.map_or(newest, |n| n.max(newest)));
    }

    /// Adds `other`'s counts, as if its events came after these.
    fn absorb(&mut self, other: Stats) {
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
#[derive(Debug, Default, Clone)]
pub struct NameCounts {
    counts: BTreeMap<String, (String, u64)>,
    /// The keys of `counts` in the order their names were first seen.
    order: Vec<String>,
    /// Events whose name did not fit in the bound.
    pub other: u64,
    /// A shard's ([`Collector::shard`]): every name is counted, so that absorbing it adds
    /// each name's whole count — a name the absorbing counts hold may come after the
    /// shard's first [`MAX_NAMES`]. A shard sees one range of one input: bounded by it.
    unbounded: bool,
    /// The key being looked up (reused, so a name already counted costs no allocation).
    key: String,
}

impl NameCounts {
    /// Counts `n` events named `name`.
    fn add(&mut self, name: &str, n: u64) {
        let name = name.trim();
        self.key.clear();
        self.key.push_str(name);
        self.key.make_ascii_lowercase();
        if let Some(entry) = self.counts.get_mut(self.key.as_str()) {
            entry.1 += n;
        } else if self.unbounded || self.counts.len() < MAX_NAMES {
            self.counts.insert(self.key.clone(), (name.to_string(), n));
            self.order.push(self.key.clone());
        } else {
            self.other += n;
        }
    }

    /// Adds `other`'s counts as if its names were counted after these: its names in the
    /// order it first saw them, each admitted while there is room (as [`NameCounts::add`]
    /// would have, since any name it could not admit came after as many others).
    fn absorb(&mut self, mut other: NameCounts) {
        for key in other.order {
            let Some((name, n)) = other.counts.remove(&key) else {
                continue;
            };
            if let Some(entry) = self.counts.get_mut(&key) {
                entry.1 += n;
            } else if self.counts.len() < MAX_NAMES {
                self.counts.insert(key.clone(), (name, n));
                self.order.push(key);
            } else {
                self.other += n;
            }
        }
        self.other += other.other;
    }

    /// `(name, count)` pairs, most frequent first.
    pub fn ranked(&self) -> Vec<(&str, u64)> {
        let mut v: Vec<(&str, u64)> = self
            .counts
            .values()
            .map(|(n, c)| (n.as_str(), *c))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        v
    }

    /// Whether `name` was seen (ASCII case-insensitive).
    pub fn contains(&self, name: &str) -> bool {
        self.counts.contains_key(&name.trim().to_ascii_lowercase())
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty() && self.other == 0
    }
}

impl Collector {
    pub fn new(catalog: Catalog) -> Collector {
        Collector::sharing(Arc::new(catalog))
    }

    fn sharing(catalog: Arc<Catalog>) -> Collector {
        let signals = catalog
            .index()
            .signals()
            .iter()
            .map(|signal| SignalSlot {
                rule: signal.rule,
                signal: signal.signal,
                state: SignalState {
                    complete: true,
                    bucket_minutes: 1,
                    tallies: vec![ConditionTally::default(); signal.conditions.len()],
                    ..SignalState::default()
                },
            })
            .collect();
        Collector {
            catalog,
            signals,
            stats: Stats::default(),
            provider: KeyCache::default(),
            channel: KeyCache::default(),
            checks: Vec::new(),
            keepers: Vec::new(),
            reuse: Reuse::default(),
        }
    }

    /// Moves into `into` the given events no longer kept (pruned, or kept by no signal), so
    /// that a reader can build the next events in their allocations
    /// ([`crate::input::EventSpare`]). From the first call on, the collector holds such
    /// events (a bounded number) until the next.
    pub fn reclaim(&mut self, into: &mut Vec<Event>) {
        self.reuse.done.wanted = true;
        into.append(&mut self.reuse.done.events);
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// An empty collector of the same catalog, for a reader's thread to observe a range of
    /// the events in (where they were just built, while they are in that core's cache);
    /// [`Collector::absorb`] then puts what it collected after what this one has. It holds
    /// the given events it is done with for [`Collector::reclaim`] from the start.
    pub fn shard(&self) -> Collector {
        let mut shard = Collector::sharing(Arc::clone(&self.catalog));
        for (slot, from) in shard.signals.iter_mut().zip(&self.signals) {
            slot.state.window = from.state.window;
        }
        shard.reuse.done.wanted = true;
        let stats = &mut shard.stats;
        stats.unbounded = true;
        for names in [
            &mut stats.channels,
            &mut stats.providers,
            &mut stats.computers,
        ] {
            names.unbounded = true;
        }
        for slot in &mut shard.signals {
            slot.state.unbounded = true;
        }
        shard
    }

    /// Judges the events against `now` (each rule's window ending then): with more events
    /// than are held, the newest in each window and just before it are held too. Without
    /// it the windows end at the newest event, where the newest held are. Call before the
    /// first event.
    pub fn judging_at(&mut self, now: Timestamp) {
        for slot in &mut self.signals {
            let hours = self
                .catalog
                .rules
                .get(slot.rule)
                .map_or(0, |rule| rule.window_hours);
            let window = Window::ending_at(Some(now), hours);
            slot.state.window = window.start.zip(window.end);
        }
    }

    /// Takes in what `shard` (from [`Collector::shard`]) collected, as if its events had been
    /// observed here now, after all so far: the same statistics, counts, candidates and
    /// notes as observing them one by one — the candidates once settled
    /// ([`SignalState::settled`]), the time histogram up to when it is coarsened. One
    /// condition: a shard's events come from one input (a reader's range), or there are
    /// fewer than 2,000 inputs (which inputs' channels are counted past that bound follows
    /// the order inputs were first seen).
    pub fn absorb(&mut self, shard: Collector) {
        self.stats.absorb(shard.stats);
        for (slot, other) in self.signals.iter_mut().zip(shard.signals) {
            slot.state.absorb(other.state, &mut self.reuse);
        }
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub(crate) fn slots(&self) -> &[SignalSlot] {
        &self.signals
    }

    /// Sees one event: updates the statistics and keeps it if some signal matches.
    pub fn observe(&mut self, event: &Event) {
        self.observe_given(Given::Lent(event));
    }

    /// [`Collector::observe`] of an event given away: kept, it is not copied.
    pub fn observe_owned(&mut self, event: Event) {
        self.observe_given(Given::Owned(event));
    }

    /// [`Collector::observe_owned`] of an event whose excerpt's `cuts` are known (as a
    /// reader says where it built it, [`crate::input::EventSink::event_with_cuts`]): kept,
    /// only the items an excerpt cuts are looked at again.
    pub fn observe_with_cuts(&mut self, event: Event, cuts: ExcerptCuts) {
        self.observe_given(Given::WithCuts(event, cuts));
    }

    fn observe_given(&mut self, given: Given<'_>) {
        self.find_keepers(given.event());
        let mut keepers = std::mem::take(&mut self.keepers);
        let last = keepers.pop();
        for (at, mut checks) in keepers.drain(..) {
            if let Some(slot) = self.signals.get_mut(at) {
                let lent = Given::Lent(given.event());
                slot.state.keep(lent, &mut checks, &mut self.reuse);
            }
        }
        if let Some((at, mut checks)) = last
            && let Some(slot) = self.signals.get_mut(at)
        {
            slot.state.keep(given, &mut checks, &mut self.reuse);
        } else if let Some(event) = given.reusable() {
            self.reuse.done.put(event);
        }
        self.keepers = keepers;
    }

    /// Counts `event`, tallies it per signal listing it, and lists in `keepers` the
    /// signals that keep it.
    fn find_keepers(&mut self, event: &Event) {
        self.count(event);
        let Collector {
            catalog,
            signals,
            provider,
            channel,
            checks,
            keepers,
            ..
        } = self;
        let index = catalog.index();
        let Some(candidates) = index.signals_listing(event.event_id) else {
            return;
        };
        let provider = provider.key(&event.provider, matching::provider_key);
        let channel = event
            .channel
            .as_deref()
            .map(|name| channel.key(name, matching::channel_key));
        for &at in candidates {
            let (Some(slot), Some(signal)) = (signals.get_mut(at), index.signals().get(at)) else {
                continue;
            };
            let state = &mut slot.state;
            if !signal.provider_keys.iter().any(|k| k == provider) {
                state.near_miss(event.provider.trim(), 1);
                continue;
            }
            if let Some(channel) = channel
                && !signal.channel_keys.iter().any(|k| k == channel)
            {
                state.other_channel += 1;
                continue;
            }
            checks.clear();
            checks.extend(signal.conditions.iter().map(|c| matching::check(c, event)));
            let rejected = signal
                .conditions
                .iter()
                .zip(checks.iter())
                .find(|(c, check)| {
                    c.required
                        && match check {
                            Check::Failed { .. } => true,
                            Check::Unknown => c.unknown_rejects,
                            Check::Held { .. } | Check::HeldInMessage => false,
                        }
                });
            if let Some((_, check)) = rejected {
                let value = match check {
                    Check::Failed { value } => value.as_str(),
                    _ => "(not in the export)",
                };
                state.rejected += 1;
                state.note_rejected(value);
                continue;
            }
            for (tally, check) in state.tallies.iter_mut().zip(checks.iter()) {
                match check {
                    Check::Held { .. } => tally.held += 1,
                    Check::HeldInMessage => tally.held_in_message += 1,
                    Check::Failed { .. } => tally.failed += 1,
                    Check::Unknown => tally.unknown += 1,
                }
            }
            keepers.push((at, std::mem::take(checks)));
        }
    }

    fn count(&mut self, event: &Event) {
        let stats = &mut self.stats;
        stats.events += 1;
        if event.time_is_local {
            stats.local_times += 1;
        }
        match event.time_created {
            Some(t) => stats.span(t, t),
            None => stats.undated += 1,
        }
        self.count_names(
            &event.origin.input,
            &event.provider,
            event.channel.as_deref(),
            event.computer.as_deref(),
            1,
        );
    }

    /// Counts events that were read only to be counted ([`crate::input::Details::Counted`]).
    pub fn observe_tally(&mut self, input: &str, tally: &Tally) {
        let stats = &mut self.stats;
        stats.events += tally.events;
        stats.undated += tally.undated;
        if let (Some(oldest), Some(newest)) = (tally.oldest, tally.newest) {
            stats.span(oldest, newest);
        }
        self.count_names(
            input,
            &tally.provider,
            tally.channel.as_deref(),
            tally.computer.as_deref(),
            tally.events,
        );
    }

    /// Counts `n` events of `input` with these names: per provider, channel, computer and
    /// context.
    fn count_names(
        &mut self,
        input: &str,
        provider_name: &str,
        channel_name: Option<&str>,
        computer: Option<&str>,
        n: u64,
    ) {
        let stats = &mut self.stats;
        let provider = self.provider.key(provider_name, matching::provider_key);
        stats.providers.add(provider_name, n);
        if let Some(channel) = channel_name {
            stats.channels.add(channel, n);
            if let Some(per_input) = stats.channels_by_input.get_mut(input) {
                per_input.add(channel, n);
            } else if stats.unbounded || stats.channels_by_input.len() < MAX_NAMES {
                let mut names = NameCounts {
                    unbounded: stats.unbounded,
                    ..NameCounts::default()
                };
                names.add(channel, n);
                stats.channels_by_input.insert(input.to_owned(), names);
            }
        }
        if let Some(computer) = computer {
            stats.computers.add(computer, n);
        }
        let channel = channel_name.map(|name| self.channel.key(name, matching::channel_key));
        let compiled = self.catalog.index().contexts();
        for (context, slot) in self.catalog.contexts.iter().zip(compiled) {
            let by_provider = slot.provider_keys.iter().any(|k| k == provider);
            if by_provider || slot.revealed_by(provider, channel) {
                let entry = stats.contexts.entry(context.id.clone()).or_insert_with(|| {
                    let by = if by_provider {
                        format!("provider {}", provider_name.trim())
                    } else {
                        format!("channel {}", channel_name.unwrap_or_default())
                    };
                    (by, 0)
                });
                entry.1 += n;
            }
        }
    }
}

impl SignalState {
    /// Keeps a trimmed copy of `event` with its `checks` (moved out), made in a `spare`
    /// candidate's allocations when there is one; what pruning drops goes to `spare`. The
    /// time is looked at first: an undated event beyond those kept is not copied. Given
    /// events no longer kept go to `done`.
    fn keep(&mut self, given: Given<'_>, checks: &mut Vec<Check>, reuse: &mut Reuse) {
        let Reuse {
            spare,
            done,
            scratch,
        } = reuse;
        let candidate = |given: Given<'_>,
                         spare: &mut Vec<Candidate>,
                         checks: &mut Vec<Check>,
                         scratch: &mut String| match given {
            Given::Lent(event) => {
                let mut candidate = spare.pop().unwrap_or_else(|| Candidate {
                    event: Event::new(String::new(), 0, event.origin.clone()),
                    checks: Vec::new(),
                });
                copy_trimmed(&mut candidate.event, event);
                candidate.checks.clear();
                candidate.checks.append(checks);
                candidate
            }
            Given::Owned(mut event) => {
                trim(&mut event);
                Candidate {
                    event,
                    checks: std::mem::take(checks),
                }
            }
            Given::WithCuts(mut event, cuts) => {
                trim_items(&mut event, cuts, scratch);
                Candidate {
                    event,
                    checks: std::mem::take(checks),
                }
            }
        };
        let Some(time) = given.event().time_created else {
            self.undated_total += 1;
            if self.undated.len() < KEEP_UNDATED {
                self.undated.push(candidate(given, spare, checks, scratch));
            } else if let Some(event) = given.reusable() {
                done.put(event);
            }
            return;
        };
        self.dated_total += 1;
        self.bucket(time);
        self.dated.push(candidate(given, spare, checks, scratch));
        if self.dated.len() > PRUNE_AT {
            self.prune(spare, done);
        }
    }

    /// Keeps the oldest [`KEEP_OLDEST`] and the newest [`KEEP_NEWEST`] dated candidates
    /// (by time, then by when they were seen); the others go to `spare`, or their events to
    /// `done`. Counts are no longer exact from the candidates.
    fn prune(&mut self, spare: &mut Vec<Candidate>, done: &mut Done) {
        // Stable: among equal times, the order they were seen in (the candidates are held
        // in that order, or sorted by time keeping it).
        self.dated.sort_by_key(|c| c.event.time_created);
        let times: Vec<Option<Timestamp>> =
            self.dated.iter().map(|c| c.event.time_created).collect();
        let kept = kept(&times, self.window);
        let mut at = 0;
        let mut dropped = Vec::new();
        self.dated.retain_mut(|candidate| {
            let keep = kept.get(at).copied().unwrap_or(true);
            at += 1;
            if !keep {
                let empty = Event::new(String::new(), 0, candidate.event.origin.clone());
                dropped.push(Candidate {
                    event: std::mem::replace(&mut candidate.event, empty),
                    checks: std::mem::take(&mut candidate.checks),
                });
            }
            keep
        });
        for candidate in dropped {
            if spare.len() < MAX_SPARE {
                spare.push(candidate);
            } else {
                done.put(candidate.event);
            }
        }
        self.complete = false;
    }

    /// The dated candidates as if pruned after the last event: all while every one is held,
    /// otherwise the oldest [`KEEP_OLDEST`] and the newest [`KEEP_NEWEST`] — the same
    /// whenever pruning happened, so the same however the events were split between shards.
    pub fn settled(&self) -> Vec<&Candidate> {
        let mut dated: Vec<&Candidate> = self.dated.iter().collect();
        if !self.complete {
            dated.sort_by_key(|c| c.event.time_created);
            let times: Vec<Option<Timestamp>> =
                dated.iter().map(|c| c.event.time_created).collect();
            let kept = kept(&times, self.window);
            let mut at = 0;
            dated.retain(|_| {
                at += 1;
                kept.get(at - 1).copied().unwrap_or(true)
            });
        }
        dated
    }

    /// Counts `n` events of another `provider` (a near miss), the first [`MAX_NEAR_MISS`]
    /// providers by name.
    fn near_miss(&mut self, provider: &str, n: u64) {
        if let Some(count) = self.other_providers.get_mut(provider) {
            *count += n;
        } else if self.unbounded || self.other_providers.len() < MAX_NEAR_MISS {
            self.other_providers.insert(provider.to_owned(), n);
            self.other_order.push(provider.to_owned());
        }
    }

    /// Adds what `other` collected as if its events came after these: the same counts and
    /// notes, the candidates the same once [`SignalState::settled`].
    fn absorb(&mut self, mut other: SignalState, reuse: &mut Reuse) {
        self.dated_total += other.dated_total;
        self.dated.append(&mut other.dated);
        // Pruned once more than `PRUNE_AT` had matched, and from then on never complete.
        self.complete &= other.complete && self.dated_total <= PRUNE_AT as u64;
        if self.dated.len() > PRUNE_AT {
            self.prune(&mut reuse.spare, &mut reuse.done);
        }
        self.undated_total += other.undated_total;
        for candidate in std::mem::take(&mut other.undated) {
            if self.undated.len() < KEEP_UNDATED {
                self.undated.push(candidate);
            } else {
                reuse.done.put(candidate.event);
            }
        }
        // Buckets of one width: the narrower ones widened to the wider.
        while other.bucket_minutes < self.bucket_minutes {
            other.coarsen();
        }
        while self.bucket_minutes < other.bucket_minutes {
            self.coarsen();
        }
        for (bucket, n) in other.histogram {
            *self.histogram.entry(bucket).or_insert(0) += n;
        }
        while self.histogram.len() > MAX_BUCKETS {
            self.coarsen();
        }
        for (tally, more) in self.tallies.iter_mut().zip(other.tallies) {
            tally.held += more.held;
            tally.held_in_message += more.held_in_message;
            tally.failed += more.failed;
            tally.unknown += more.unknown;
        }
        for provider in other.other_order {
            if let Some(n) = other.other_providers.remove(&provider) {
                self.near_miss(&provider, n);
            }
        }
        self.rejected += other.rejected;
        for value in &other.rejected_values {
            self.note_rejected(value);
        }
        self.other_channel += other.other_channel;
    }

    /// Remembers a value that rejected an event: the first four different ones.
    fn note_rejected(&mut self, value: &str) {
        if self.rejected_values.len() < 4 && !self.rejected_values.iter().any(|v| v == value) {
            self.rejected_values.push(value.to_owned());
        }
    }

    fn bucket(&mut self, time: Timestamp) {
        let minute = time.as_second().div_euclid(60);
        *self
            .histogram
            .entry(minute.div_euclid(self.bucket_minutes))
            .or_insert(0) += 1;
        if self.histogram.len() > MAX_BUCKETS {
            self.coarsen();
        }
    }

    /// Sixty times wider buckets: counts stay exact at the cost of precision at the window's
    /// edges and in rates.
    fn coarsen(&mut self) {
        let factor = 60;
        let old = std::mem::take(&mut self.histogram);
        for (bucket, n) in old {
            *self.histogram.entry(bucket.div_euclid(factor)).or_insert(0) += n;
        }
        self.bucket_minutes = self.bucket_minutes.saturating_mul(factor);
    }

    /// Matched events, dated or not.
    pub fn total(&self) -> u64 {
        self.dated_total + self.undated_total
    }

    /// Dated events in `[start, end]` (inclusive), exact while every candidate is kept,
    /// otherwise from the histogram (exact to a bucket at the edges).
    pub fn count_between(&self, start: Timestamp, end: Timestamp) -> u64 {
        if self.complete {
            return self
                .dated
                .iter()
                .filter(|c| c.event.time_created.is_some_and(|t| t >= start && t <= end))
                .count() as u64;
        }
        let first = self.bucket_of(start);
        let last = self.bucket_of(end);
        if first > last {
            return 0;
        }
        self.histogram.range(first..=last).map(|(_, n)| *n).sum()
    }

    /// The most events found within any `minutes`-long span inside `[start, end]`, and
    /// where that span starts.
    pub fn peak(
        &self,
        minutes: u32,
        start: Option<Timestamp>,
        end: Option<Timestamp>,
    ) -> Option<(u64, Timestamp)> {
        let first = start.map_or(i64::MIN, |s| self.bucket_of(s));
        let last = end.map_or(i64::MAX, |e| self.bucket_of(e));
        if first > last {
            return None;
        }
        let span = (i64::from(minutes) / self.bucket_minutes).max(1);
        let buckets: Vec<(i64, u64)> = self
            .histogram
            .range(first..=last)
            .map(|(b, n)| (*b, *n))
            .collect();
        let mut best: Option<(u64, i64)> = None;
        let mut sum = 0u64;
        let mut tail = 0usize;
        for (head, &(bucket, n)) in buckets.iter().enumerate() {
            sum += n;
            while let Some(&(old, m)) = buckets.get(tail) {
                if old <= bucket - span && tail < head {
                    sum -= m;
                    tail += 1;
                } else {
                    break;
                }
            }
            let from = buckets.get(tail).map_or(bucket, |b| b.0);
            if best.is_none_or(|(b, _)| sum > b) {
                best = Some((sum, from));
            }
        }
        let (events, bucket) = best?;
        let second = bucket
            .saturating_mul(self.bucket_minutes)
            .saturating_mul(60);
        Some((events, Timestamp::from_second(second).ok()?))
    }

    fn bucket_of(&self, time: Timestamp) -> i64 {
        time.as_second()
            .div_euclid(60)
            .div_euclid(self.bucket_minutes)
    }
}

/// Which of dated candidates sorted by time (then by when seen) pruning keeps: the oldest
/// [`KEEP_OLDEST`], the newest [`KEEP_NEWEST`], and with a `window` the newest
/// [`SHOW_IN_WINDOW`] in it and the newest [`SHOW_OUTSIDE`] before it — each the first of
/// all events by one order and one test of time, so what is kept does not depend on when
/// pruning happened nor on how the events were split.
fn kept(times: &[Option<Timestamp>], window: Option<(Timestamp, Timestamp)>) -> Vec<bool> {
    let len = times.len();
    let mut kept: Vec<bool> = (0..len)
        .map(|i| i < KEEP_OLDEST || i + KEEP_NEWEST >= len)
        .collect();
    if let Some((start, end)) = window {
        let newest = |test: &dyn Fn(Timestamp) -> bool, n: usize, kept: &mut Vec<bool>| {
            let matching = (0..len)
                .rev()
                .filter(|i| times.get(*i).copied().flatten().is_some_and(test));
            for i in matching.take(n) {
                if let Some(k) = kept.get_mut(i) {
                    *k = true;
                }
            }
        };
        newest(&|t| t >= start && t <= end, SHOW_IN_WINDOW, &mut kept);
        newest(&|t| t < start, SHOW_OUTSIDE, &mut kept);
    }
    kept
}

/// Cuts `event`'s message and data to excerpts, in place: what [`copy_trimmed`] copies.
fn trim(event: &mut Event) {
    if let Some(message) = &mut event.message {
        matching::shorten_in_place(message, EXCERPT_CHARS);
    }
    event.data.truncate(MAX_DATA_ITEMS);
    for (key, value) in &mut event.data {
        matching::shorten_in_place(key, EXCERPT_NAME_CHARS);
        matching::shorten_in_place(value, EXCERPT_CHARS);
    }
}

/// [`trim`] of an event with no message and at most [`MAX_DATA_ITEMS`] items
/// ([`ExcerptCuts::of`]): only the names and values `cuts` names are cut, in their own
/// allocations (through `scratch`: a string freed here would be one another thread
/// allocated), the others left unread.
fn trim_items(event: &mut Event, cuts: ExcerptCuts, scratch: &mut String) {
    for (i, (key, value)) in event.data.iter_mut().enumerate() {
        if cuts.cuts_name(i) {
            matching::shorten_within(key, EXCERPT_NAME_CHARS, scratch);
        }
        if cuts.cuts_value(i) {
            matching::shorten_within(value, EXCERPT_CHARS, scratch);
        }
    }
}

/// Makes `into` a copy of `event` small enough to keep (message and data cut to excerpts),
/// reusing the strings `into` already holds.
fn copy_trimmed(into: &mut Event, event: &Event) {
    // Every field named, so a field added to `Event` is not forgotten here.
    let Event {
        provider,
        event_id,
        qualifiers,
        level,
        time_created,
        time_is_local,
        record_id,
        channel,
        computer,
        user_sid,
        user_name,
        data,
        message,
        origin,
    } = event;
    into.provider.clone_from(provider);
    into.event_id = *event_id;
    into.qualifiers = *qualifiers;
    into.level = *level;
    into.time_created = *time_created;
    into.time_is_local = *time_is_local;
    into.record_id = *record_id;
    into.channel.clone_from(channel);
    into.computer.clone_from(computer);
    into.user_sid.clone_from(user_sid);
    into.user_name.clone_from(user_name);
    match (&mut into.message, message) {
        (Some(to), Some(from)) => matching::shorten_into(to, from, EXCERPT_CHARS),
        (to, from) => *to = from.as_deref().map(|m| matching::shorten(m, EXCERPT_CHARS)),
    }
    let items = data.len().min(MAX_DATA_ITEMS);
    into.data.truncate(items);
    for (at, (k, v)) in data.iter().take(MAX_DATA_ITEMS).enumerate() {
        if let Some((key, value)) = into.data.get_mut(at) {
            matching::shorten_into(key, k, EXCERPT_NAME_CHARS);
            matching::shorten_into(value, v, EXCERPT_CHARS);
        } else {
            into.data.push((
                matching::shorten(k, EXCERPT_NAME_CHARS),
                matching::shorten(v, EXCERPT_CHARS),
            ));
        }
    }
    let Origin { input, location } = origin;
    into.origin.input.clone_from(input);
    into.origin.location = *location;
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use crate::event::Location;
    use proptest::prelude::*;

    /// What the collector kept before it reused pruned candidates: a fresh trimmed copy.
    fn fresh_copy(event: &Event) -> Event {
        Event {
            message: event
                .message
                .as_deref()
                .map(|m| matching::shorten(m, EXCERPT_CHARS)),
            data: event
                .data
                .iter()
                .take(MAX_DATA_ITEMS)
                .map(|(k, v)| {
                    (
                        matching::shorten(k, 64),
                        matching::shorten(v, EXCERPT_CHARS),
                    )
                })
                .collect(),
            ..event.clone()
        }
    }

    /// A 4625 of the burst signal, with `items` data values of `width` characters.
    fn failure(n: u64, second: Option<i64>, items: usize, width: usize, message: bool) -> Event {
        let origin = Origin {
            input: format!("input-{}", n % 3),
            location: Location::Record {
                record_id: n,
                chunk: 0,
            },
        };
        let mut event = Event::new("Microsoft-Windows-Security-Auditing", 4625, origin);
        event.channel = Some("Security".into());
        event.computer = n.is_multiple_of(2).then(|| format!("vm-{n}"));
        event.record_id = Some(n);
        event.time_created = second.and_then(|s| Timestamp::from_second(s).ok());
        event.data.push(("Status".into(), "0xc000006d".into()));
        for i in 0..items {
            let value = format!("{i}  {}", "x ".repeat(width * (i + 1) % 200));
            event.data.push((format!("Field{i}"), value));
        }
        event.message = message.then(|| "An account failed to log on.\n\n".repeat(width % 20));
        event
    }

    /// At the limits of an excerpt, one character either side: the items an excerpt
    /// cuts are those its cuts name, and an event with a message or too many items has none.
    #[test]
    fn an_excerpt_cuts_the_items_its_cuts_name() {
        let base = || {
            let mut event = failure(1, Some(1), 0, 0, false);
            event.data = (0..MAX_DATA_ITEMS)
                .map(|i| {
                    let name = if i == 0 {
                        "n".repeat(EXCERPT_NAME_CHARS)
                    } else {
                        format!("Name {i}")
                    };
                    (name, "v ".repeat(EXCERPT_CHARS / 2 - 1) + "vv")
                })
                .collect();
            event
        };
        // Per item: whether trimming changes its name, its value.
        let cut = |event: &Event| {
            let mut trimmed = event.clone();
            trim(&mut trimmed);
            (0..event.data.len())
                .map(|i| {
                    let (name, value) = (&trimmed.data[i], &event.data[i]);
                    (name.0 != value.0, name.1 != value.1)
                })
                .collect::<Vec<(bool, bool)>>()
        };
        let named = |cuts: ExcerptCuts| {
            (0..MAX_DATA_ITEMS)
                .map(|i| (cuts.cuts_name(i), cuts.cuts_value(i)))
                .collect::<Vec<(bool, bool)>>()
        };
        let event = base();
        assert_eq!(cut(&event), vec![(false, false); MAX_DATA_ITEMS]);
        assert_eq!(named(ExcerptCuts::of(&event).unwrap()), cut(&event));
        type Change = fn(&mut Event);
        let changes: [(usize, bool, Change); 6] = [
            (0, true, |e| e.data[0].0.push('n')),
            (1, false, |e| e.data[1].1.push('v')),
            (2, false, |e| e.data[2].1 = "two  spaces".into()),
            (3, true, |e| e.data[3].0 = " Name".into()),
            (4, true, |e| e.data[4].0 = "Name\u{a0}4".into()),
            (23, false, |e| e.data[23].1 = "tab\there".into()),
        ];
        for (item, name, change) in changes {
            let mut event = base();
            change(&mut event);
            let mut expected = vec![(false, false); MAX_DATA_ITEMS];
            expected[item] = (name, !name);
            assert_eq!(cut(&event), expected, "item {item}");
            assert_eq!(
                named(ExcerptCuts::of(&event).unwrap()),
                expected,
                "item {item}"
            );
        }
        let mut event = base();
        event.message = Some("m".into());
        assert_eq!(ExcerptCuts::of(&event), None);
        let mut event = base();
        event.data.push(("One".into(), "more".into()));
        assert_eq!(ExcerptCuts::of(&event), None);
    }

    /// Once asked, the collector gives back what it prunes (beyond the candidates it
    /// reuses itself) and the events no signal keeps, when they came with their cuts.
    #[test]
    fn what_is_pruned_or_not_kept_comes_back_once_asked() {
        let catalog = Catalog::builtin().unwrap();
        let at = catalog
            .index()
            .signals()
            .iter()
            .position(|s| catalog.rules[s.rule].signals[s.signal].id == "failed-logon-burst")
            .unwrap();
        let mut collector = Collector::new(catalog);
        let mut back = Vec::new();
        let observe = |collector: &mut Collector, n: u64, id: u16| {
            let mut event = failure(n, Some(n as i64 * 60), 0, 0, false);
            event.event_id = id;
            let cuts = ExcerptCuts::of(&event).unwrap();
            collector.observe_with_cuts(event, cuts);
        };
        // Before it is asked, nothing is held.
        for n in 0..300 {
            observe(&mut collector, n, 4625);
        }
        collector.reclaim(&mut back);
        assert!(back.is_empty());
        let pruned_before = 300 - collector.slots()[at].state.dated.len();
        for n in 300..600 {
            observe(&mut collector, n, 4625);
        }
        // An ID no signal lists: given back as it is.
        observe(&mut collector, 600, 65_000);
        collector.reclaim(&mut back);
        let state = &collector.slots()[at].state;
        assert_eq!(state.dated_total, 600);
        // Every candidate pruned since (the collector's own spare was filled before), and
        // the unlisted event.
        let pruned_since = 600 - state.dated.len() - pruned_before;
        assert!(pruned_since > 250, "{pruned_since}");
        assert_eq!(back.len(), pruned_since + 1);
        assert_eq!(back.iter().filter(|e| e.event_id == 65_000).count(), 1);
        back.clear();
        collector.reclaim(&mut back);
        assert!(back.is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn cutting_the_named_items_is_trimming(
            data in prop::collection::vec(
                ("[A-Za-z]{0,6}( [a-z]{1,3})?|[ a-z\t]{0,4}", "[ -~\t\u{a0}é]{0,8}|[a-z]{298,302}"),
                0..26,
            ),
            message in prop::option::weighted(0.2, "[a-z ]{0,4}"),
        ) {
            let mut event = failure(1, Some(1), 0, 0, false);
            event.data = data;
            event.message = message;
            let mut trimmed = event.clone();
            trim(&mut trimmed);
            if let Some(cuts) = ExcerptCuts::of(&event) {
                let mut scratch = String::from("left over");
                trim_items(&mut event, cuts, &mut scratch);
                prop_assert_eq!(event, trimmed);
            }
        }

        #[test]
        fn reused_candidates_hold_what_fresh_copies_held(
            events in prop::collection::vec(
                (prop::option::weighted(0.9, 0i64..5_000), 0usize..30, 0usize..400, any::<bool>()),
                0..400,
            ),
        ) {
            let catalog = Catalog::builtin().unwrap_or_else(|e| panic!("{e}"));
            let at = catalog
                .index()
                .signals()
                .iter()
                .position(|s| catalog.rules[s.rule].signals[s.signal].id == "failed-logon-burst")
                .unwrap_or_else(|| panic!("no failed-logon-burst signal"));
            let mut given = Collector::new(catalog.clone());
            let mut excerpts = Collector::new(catalog.clone());
            let mut collector = Collector::new(catalog);
            // The old way, side by side: fresh copies, pruned as `keep` prunes.
            let (mut dated, mut undated) = (Vec::new(), Vec::new());
            for (n, (second, items, width, message)) in events.into_iter().enumerate() {
                let event = failure(n as u64, second.map(|s| s * 7), items, width, message);
                collector.observe(&event);
                given.observe_owned(event.clone());
                match ExcerptCuts::of(&event) {
                    Some(cuts) => excerpts.observe_with_cuts(event.clone(), cuts),
                    None => excerpts.observe_owned(event.clone()),
                }
                // Taking back what it is done with changes nothing it keeps.
                if n % 7 == 0 {
                    let mut back = Vec::new();
                    excerpts.reclaim(&mut back);
                }
                if event.time_created.is_some() {
                    dated.push(fresh_copy(&event));
                    if dated.len() > 2 * (KEEP_NEWEST + KEEP_OLDEST) {
                        dated.sort_by_key(|e| e.time_created);
                        let len = dated.len();
                        dated.drain(KEEP_OLDEST..len.saturating_sub(KEEP_NEWEST));
                    }
                } else if undated.len() < KEEP_UNDATED {
                    undated.push(fresh_copy(&event));
                }
            }
            let state = &collector.slots()[at].state;
            let kept = |c: &[Candidate]| c.iter().map(|c| c.event.clone()).collect::<Vec<_>>();
            prop_assert_eq!(kept(&state.dated), dated);
            prop_assert_eq!(kept(&state.undated), undated);
            let owned = &given.slots()[at].state;
            prop_assert_eq!(kept(&owned.dated), kept(&state.dated));
            prop_assert_eq!(kept(&owned.undated), kept(&state.undated));
            let excerpted = &excerpts.slots()[at].state;
            prop_assert_eq!(kept(&excerpted.dated), kept(&state.dated));
            prop_assert_eq!(kept(&excerpted.undated), kept(&state.undated));
            let held = |c: &Candidate| {
                matches!(c.checks.as_slice(), [Check::Held { value }] if value == "0xc000006d")
            };
            prop_assert!(state.dated.iter().chain(&state.undated).all(held));
            prop_assert!(owned.dated.iter().chain(&owned.undated).all(held));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Events observed one by one, or in shards absorbed in order, collect the same:
        /// statistics, per signal the settled candidates, counts, histogram and notes.
        #[test]
        fn shards_absorbed_in_order_collect_what_one_collector_does(
            events in prop::collection::vec(
                (
                    0usize..6,
                    prop::option::weighted(0.9, 0i64..200_000),
                    0usize..5,
                    0usize..4,
                ),
                0..600,
            ),
            cuts in prop::collection::vec(0usize..600, 0..12),
            wanted in any::<bool>(),
            now in prop::option::of(0i64..200_000),
        ) {
            let catalog = Catalog::builtin().unwrap_or_else(|e| panic!("{e}"));
            let mut one = Collector::new(catalog.clone());
            let mut sharded = Collector::new(catalog);
            if let Some(now) = now.and_then(|s| Timestamp::from_second(s).ok()) {
                one.judging_at(now);
                sharded.judging_at(now);
            }
            if wanted {
                sharded.reclaim(&mut Vec::new());
            }
            let events: Vec<Event> = events
                .into_iter()
                .enumerate()
                .map(|(n, (kind, second, name, status))| mixed(n, kind, second, name, status))
                .collect();
            let mut cuts: Vec<usize> = cuts.into_iter().filter(|c| *c < events.len()).collect();
            cuts.sort_unstable();
            cuts.push(events.len());
            let mut from = 0;
            for to in cuts {
                let mut shard = sharded.shard();
                for event in events.get(from..to).unwrap_or_default() {
                    one.observe(event);
                    shard.observe_owned(event.clone());
                    if event.event_id == 7 {
                        // A tally between events, as a walked chunk gives them.
                        let tally = Tally {
                            provider: event.provider.clone(),
                            channel: event.channel.clone(),
                            computer: event.computer.clone(),
                            events: 3,
                            undated: 1,
                            oldest: event.time_created,
                            newest: event.time_created,
                        };
                        one.observe_tally(&event.origin.input, &tally);
                        shard.observe_tally(&event.origin.input, &tally);
                    }
                }
                shard.reclaim(&mut Vec::new());
                sharded.absorb(shard);
                from = to.max(from);
            }
            prop_assert_eq!(summary(&sharded), summary(&one));
        }
    }

    proptest! {
        /// Past the bound, names counted in shards absorbed in order count as one by one.
        #[test]
        fn name_counts_absorbed_in_order_count_as_one_by_one(
            names in prop::collection::vec((0usize..2_600, 1u64..4), 0..4_000),
            cuts in prop::collection::vec(0usize..4_000, 0..6),
        ) {
            let mut one = NameCounts::default();
            let mut absorbed = NameCounts::default();
            let mut cuts: Vec<usize> = cuts.into_iter().filter(|c| *c < names.len()).collect();
            cuts.sort_unstable();
            cuts.push(names.len());
            let mut from = 0;
            for to in cuts {
                let mut shard = NameCounts { unbounded: true, ..NameCounts::default() };
                for (i, (name, n)) in names.iter().enumerate().take(to).skip(from) {
                    // Spelled two ways: counted under the first spelling seen.
                    let name = if i % 2 == 0 { format!("VM-{name}") } else { format!("vm-{name}") };
                    one.add(&name, *n);
                    shard.add(&name, *n);
                }
                absorbed.absorb(shard);
                from = to.max(from);
            }
            prop_assert_eq!(absorbed.ranked(), one.ranked());
            prop_assert_eq!(absorbed.other, one.other);
        }
    }

    /// An event of one of six kinds: a 4625 of the burst signal (two statuses, one of which
    /// its condition rejects), one from another provider (a near miss), one in another
    /// channel, a 4624, an event no rule lists, and one counted with a tally after it.
    fn mixed(n: usize, kind: usize, second: Option<i64>, name: usize, status: usize) -> Event {
        let n64 = n as u64;
        let mut event = failure(n64, second, 0, 0, false);
        event.origin.input = format!("input-{}", name % 2);
        event.computer = Some(format!("VM-{name}"));
        event.data = vec![(
            "Status".into(),
            match status % 4 {
                0 => "0xc000006d",
                1 => "0xc000006a",
                2 => "0xC000006D",
                _ => "0x0",
            }
            .into(),
        )];
        match kind {
            1 => event.provider = format!("Other-Provider-{}", (n * 7 + name) % 23),
            2 => event.channel = Some(format!("Channel-{name}")),
            3 => event.event_id = 4624,
            4 => event.event_id = 1,
            5 => event.event_id = 7,
            _ => {}
        }
        event
    }

    /// What a collector collected, in a comparable form (no scratch, settled candidates).
    fn summary(c: &Collector) -> String {
        use std::fmt::Write as _;
        let st = &c.stats;
        let names = |n: &NameCounts| format!("{:?} other {}", n.ranked(), n.other);
        let mut out = format!(
            "events {} undated {} local {} span {:?}..{:?}\nchannels {}\nproviders {}\ncomputers {}\ncontexts {:?}\n",
            st.events,
            st.undated,
            st.local_times,
            st.oldest,
            st.newest,
            names(&st.channels),
            names(&st.providers),
            names(&st.computers),
            st.contexts,
        );
        for (input, n) in &st.channels_by_input {
            let _ = writeln!(out, "input {input}: {}", names(n));
        }
        for slot in &c.signals {
            let s = &slot.state;
            let kept = |c: &[&Candidate]| {
                c.iter()
                    .map(|c| {
                        format!(
                            "{:?} {:?} {:?}",
                            c.event.record_id, c.event.time_created, c.checks
                        )
                    })
                    .collect::<Vec<_>>()
            };
            let undated: Vec<&Candidate> = s.undated.iter().collect();
            let _ = writeln!(
                out,
                "signal {}/{}: dated {} {:?}\nundated {} {:?}\ncomplete {} buckets {} {:?}\ntallies {:?}\nother {:?} rejected {} {:?} other channel {}",
                slot.rule,
                slot.signal,
                s.dated_total,
                kept(&s.settled()),
                s.undated_total,
                kept(&undated),
                s.complete,
                s.bucket_minutes,
                s.histogram,
                s.tallies,
                s.other_providers,
                s.rejected,
                s.rejected_values,
                s.other_channel,
            );
        }
        out
    }
}
