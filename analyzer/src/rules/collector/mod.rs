//! The streaming side of the rules: sees every event once, keeps only what some rule could
//! use (bounded per signal) and small statistics. Memory does not grow with the input.
//!
//! Here: the [`Collector`] a reader's sink feeds (events lent or given, with their excerpt's
//! cuts or not; tallies of events read only to be counted; shards and their absorption; the
//! given events it is done with, reclaimed), its [`Stats`] and their [`NameCounts`]. What one
//! signal collects — candidates, pruning, the time histogram — is in `signal.rs`; the tests
//! are in `tests.rs`. What holds throughout:
//! - memory is bounded per signal (candidates, histogram buckets, near-miss providers,
//!   rejected values) and per statistic (`MAX_NAMES` names); a shard counts names and near
//!   misses without bound, but it sees one range of one input;
//! - shards absorbed in order collect what one collector observing the same events does
//!   (see [`Collector::absorb`] for its one condition);
//! - the candidates compared, `SignalState::settled`, do not depend on when pruning
//!   happened.

use super::catalog::Catalog;
use super::finding::Window;
use super::matching::{self, Check, Outcome};
use crate::event::Event;
use crate::input::{ExcerptCuts, Tally};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

mod signal;
mod stats;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests;

use signal::PRUNE_AT;
pub(crate) use signal::{Candidate, ConditionTally, SignalState};
pub use stats::{NameCounts, Stats};

/// Distinct names kept per statistic (channels, providers, computers); the rest are counted
/// as "other", so a hostile input cannot grow memory without bound.
const MAX_NAMES: usize = 2_000;

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
    /// The numbers read from its values.
    parsed: matching::Parsed,
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
    /// Check lists of candidates pruned away, for the next events' checks.
    check_lists: Vec<Vec<Check>>,
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

/// A name and its comparison key, computed again only when the name changes.
#[derive(Debug, Default)]
struct KeyCache {
    name: String,
    key: String,
}

impl KeyCache {
    /// `make(name)`; `make("")` must be empty (the cache starts empty).
    fn key(&mut self, name: &str, make: fn(&str) -> String) -> &str {
        if !crate::input::bytes::same_str(&self.name, name) {
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

/// Any count a shard's bytes may give, at most: more events than any file holds (a record
/// takes 24 bytes or more), so that what any number of shards add up to cannot overflow.
pub const MAX_SHARD_COUNT: u64 = 1 << 40;

/// `Err` unless every count is at most [`MAX_SHARD_COUNT`].
fn counts_fit(counts: impl IntoIterator<Item = u64>) -> Result<(), String> {
    if counts.into_iter().all(|n| n <= MAX_SHARD_COUNT) {
        Ok(())
    } else {
        Err("a shard counting more events than a file can hold".to_string())
    }
}

/// A collector's shard on the wire ([`Collector::to_bytes`]): the signals it collected for
/// (to check the catalog is the same), its statistics, and each signal's state.
#[derive(Serialize, Deserialize)]
struct Wire<St, Ss> {
    signals: Vec<(usize, usize)>,
    stats: St,
    states: Vec<Ss>,
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
                state: SignalState::new(
                    signal.conditions.len(),
                    catalog
                        .rules
                        .get(signal.rule)
                        .map_or(0, |rule| i64::from(rule.window_hours) + 2),
                ),
            })
            .collect();
        Collector {
            catalog,
            signals,
            stats: Stats::default(),
            provider: KeyCache::default(),
            channel: KeyCache::default(),
            checks: Vec::new(),
            parsed: matching::Parsed::default(),
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
        shard.stats = Stats::shards();
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
    /// (`SignalState::settled`), the time histogram up to when it is coarsened. One
    /// condition: a shard's events come from one input (a reader's range), or there are
    /// fewer than 2,000 inputs (which inputs' channels are counted past that bound follows
    /// the order inputs were first seen).
    ///
    /// The shard is left as [`Collector::shard`] made it but for what it reuses (its spare
    /// candidates and check lists, the room of its dated candidates' list): a reader's
    /// thread gives it the next range's events without allocating all that again. The
    /// check lists this collector's pruning freed beyond a prune's worth (`PRUNE_AT`) go to
    /// it too: the shard's candidates took theirs here, and where the shards are given
    /// every event (the fixer) it is they that make the next ones; a collector that
    /// observes events itself as well (a page's analysis worker) keeps what it needs until
    /// it prunes.
    pub fn absorb(&mut self, shard: &mut Collector) {
        self.stats
            .absorb(std::mem::replace(&mut shard.stats, Stats::shards()));
        for (slot, other) in self.signals.iter_mut().zip(&mut shard.signals) {
            slot.state.absorb(&mut other.state, &mut self.reuse);
        }
        let surplus = self.reuse.check_lists.len().saturating_sub(PRUNE_AT);
        for checks in self.reuse.check_lists.drain(..surplus) {
            signal::keep_check_list(&mut shard.reuse.check_lists, checks);
        }
    }

    /// What this collector — a shard — collected, as bytes: for a collector of the same
    /// catalog in another Web Worker (whose memory this one does not share) to
    /// [`Collector::load`] into a shard of its own and absorb.
    pub fn to_bytes(&self) -> Result<Vec<u8>, String> {
        let wire = Wire {
            signals: self.signals.iter().map(|s| (s.rule, s.signal)).collect(),
            stats: &self.stats,
            states: self.signals.iter().map(|s| &s.state).collect(),
        };
        serde_json::to_vec(&wire).map_err(|e| format!("a shard that cannot be written: {e}"))
    }

    /// Makes this shard ([`Collector::shard`], nothing observed yet) hold what `bytes` from
    /// [`Collector::to_bytes`] say another shard collected. `Err`, and this one left as it
    /// was, when they are not a shard's of the same catalog, window and bounds, or hold
    /// what observing cannot give (names not keyed as `add` keys them, unknown contexts,
    /// counts past [`MAX_SHARD_COUNT`], candidates without a check per condition…): the
    /// bytes come from another worker, read from an untrusted file.
    pub fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        let wire: Wire<Stats, SignalState> =
            serde_json::from_slice(bytes).map_err(|e| format!("not a collector's shard: {e}"))?;
        let same_signals = wire.signals.len() == self.signals.len()
            && wire
                .signals
                .iter()
                .zip(&self.signals)
                .all(|(&(rule, signal), slot)| rule == slot.rule && signal == slot.signal);
        if !same_signals || wire.states.len() != self.signals.len() {
            return Err("a shard of another catalog".to_string());
        }
        if wire.stats.unbounded != self.stats.unbounded {
            return Err("a shard with other bounds".to_string());
        }
        wire.stats.fits(&self.catalog)?;
        for (state, slot) in wire.states.iter().zip(&self.signals) {
            state.fits(&slot.state)?;
        }
        self.stats = wire.stats;
        for (slot, state) in self.signals.iter_mut().zip(wire.states) {
            slot.state = state;
        }
        Ok(())
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
            // Its checks were moved into the copy: the list is empty, its room kept.
            signal::keep_check_list(&mut self.reuse.check_lists, checks);
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
            parsed,
            keepers,
            reuse,
            ..
        } = self;
        parsed.clear();
        let index = catalog.index();
        let Some(listing) = index.listing(event.event_id) else {
            return;
        };
        let provider = provider.key(&event.provider, matching::provider_key);
        let channel = event
            .channel
            .as_deref()
            .map(|name| channel.key(name, matching::channel_key));
        for &at in &listing.signals {
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
            // Each condition once, in order, up to the first required one that rejects the
            // event: decided on the event's own text, a value copied only when it is kept
            // in a check or noted.
            checks.clear();
            if !signal.conditions.is_empty() && !parsed.fields_found() {
                parsed.find_fields(event, &listing.fields);
            }
            let mut rejected = None;
            for c in &signal.conditions {
                let outcome = matching::outcome(c, event, parsed);
                let rejects = c.required
                    && match outcome {
                        Outcome::Failed(_) | Outcome::NotInMessage => true,
                        Outcome::Unknown => c.unknown_rejects,
                        Outcome::Held(_) | Outcome::HeldInMessage => false,
                    };
                if rejects {
                    rejected = Some(outcome);
                    break;
                }
                checks.push(outcome.to_check());
            }
            if let Some(outcome) = rejected {
                state.rejected += 1;
                if !state.rejected_values_full() {
                    match outcome.to_check() {
                        Check::Failed { value } => state.note_rejected(&value),
                        _ => state.note_rejected("(not in the export)"),
                    }
                }
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
            let next = reuse.check_lists.pop().unwrap_or_default();
            keepers.push((at, std::mem::replace(checks, next)));
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
        // A tally may come from another worker's part: added without overflowing.
        stats.events = stats.events.saturating_add(tally.events);
        stats.undated = stats.undated.saturating_add(tally.undated);
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
                let mut names = NameCounts::new(stats.unbounded);
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
