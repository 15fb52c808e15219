//! What one signal of the index collects ([`SignalState`]): the events it keeps
//! ([`Candidate`]s, trimmed to excerpts), how the matched events fared on each condition
//! ([`ConditionTally`]), the near misses and rejections, and a time histogram.
//!
//! What holds: once a signal holds more than [`PRUNE_AT`] dated candidates, pruning keeps the
//! oldest [`KEEP_OLDEST`], the newest [`KEEP_NEWEST`] and, with a window, the newest in it
//! and just before it ([`kept`]); it holds at most [`KEEP_UNDATED`] undated ones,
//! [`MAX_BUCKETS`] histogram buckets (then sixty times wider), [`MAX_NEAR_MISS`] near-miss
//! providers (a shard's: every one) and four rejected values. What pruning keeps is the
//! first of all events by one order and one test of time, so the candidates once
//! [`SignalState::settled`] are the same whenever pruning happened — and
//! [`SignalState::absorb`] of states collected in order gives what one state would have
//! collected.

use super::{Done, Given, Reuse};
use crate::event::{Event, Origin};
use crate::rules::evaluate::{SHOW_IN_WINDOW, SHOW_OUTSIDE};
use crate::rules::matching::{self, Check};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Candidate events kept per signal: the newest ones, the oldest ones, undated ones.
pub(super) const KEEP_NEWEST: usize = 40;
pub(super) const KEEP_OLDEST: usize = 10;
pub(super) const KEEP_UNDATED: usize = 10;
/// Dated candidates held before the middle ones are pruned. While a signal has matched no
/// more events than this, every one is held and counts are exact.
pub(super) const PRUNE_AT: usize = 2 * (KEEP_NEWEST + KEEP_OLDEST);
/// Histogram buckets per signal before coarsening to hours.
const MAX_BUCKETS: usize = 100_000;
/// Near-miss providers remembered per signal.
const MAX_NEAR_MISS: usize = 16;
// Characters of message and data kept per candidate, and of data names; data items kept.
use crate::input::{
    EXCERPT_CHARS, EXCERPT_ITEMS as MAX_DATA_ITEMS, EXCERPT_NAME_CHARS, ExcerptCuts,
};

/// Candidates kept for reuse, at most (one prune's worth).
const MAX_SPARE: usize = KEEP_NEWEST + KEEP_OLDEST + 1;
/// Check lists kept for reuse, at most: what several prunes drop (each drops about as many
/// as it keeps, from half of `PRUNE_AT` up); a few bytes each.
const MAX_CHECK_LISTS: usize = 4 * PRUNE_AT;

/// What one signal has collected. Serialisable, for a shard to cross to another Web
/// Worker ([`super::Collector::to_bytes`]).
#[derive(Debug, Default, Serialize, Deserialize)]
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
    pub(super) other_order: Vec<String>,
    /// A shard's: every near miss is counted, so that absorbing it adds each provider's
    /// whole count (one this state already names may be past the shard's bound).
    pub(super) unbounded: bool,
    /// The rule's window, when "now" was given before the events ([`Collector::judging_at`]):
    /// pruning also keeps the newest candidates in it and just before it, the evidence the
    /// finding shows.
    ///
    /// [`Collector::judging_at`]: super::Collector::judging_at
    pub(super) window: Option<(Timestamp, Timestamp)>,
    /// The hours before the newest candidate in which each hour's newest candidates are kept
    /// (the rule's window and two more): with "now" the newest event, as it is when none is
    /// given, the events just before the window are among them.
    pub(super) recent_hours: i64,
    /// Dated candidates held after the last pruning: the next comes at twice as many.
    pub(super) held: usize,
    /// Events of the right provider and ID rejected by a required condition.
    pub rejected: u64,
    /// A few of the values that rejected them.
    pub rejected_values: Vec<String>,
    /// Events of the right provider and ID in a channel the signal does not read.
    pub other_channel: u64,
}

/// How the matched events of a signal fared on one condition.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ConditionTally {
    pub held: u64,
    pub held_in_message: u64,
    pub failed: u64,
    pub unknown: u64,
}

/// A kept event and its condition checks (one per condition of the signal).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Candidate {
    pub event: Event,
    pub checks: Vec<Check>,
}

/// Keeps `checks`' room for the next events' checks, while the pool holds fewer than
/// [`MAX_CHECK_LISTS`].
pub(super) fn keep_check_list(check_lists: &mut Vec<Vec<Check>>, mut checks: Vec<Check>) {
    if check_lists.len() < MAX_CHECK_LISTS {
        checks.clear();
        check_lists.push(checks);
    }
}

impl SignalState {
    /// A state that has seen nothing, of a signal with `conditions` conditions and a rule
    /// whose newest candidates are kept per hour over `recent_hours`.
    pub(super) fn new(conditions: usize, recent_hours: i64) -> SignalState {
        SignalState {
            complete: true,
            bucket_minutes: 1,
            tallies: vec![ConditionTally::default(); conditions],
            recent_hours,
            ..SignalState::default()
        }
    }

    /// Keeps a trimmed copy of `event` with its `checks` (moved out), made in a `spare`
    /// candidate's allocations when there is one; what pruning drops goes to `spare`. The
    /// time is looked at first: an undated event beyond those kept is not copied. Given
    /// events no longer kept go to `done`.
    pub(super) fn keep(&mut self, given: Given<'_>, checks: &mut Vec<Check>, reuse: &mut Reuse) {
        let Reuse {
            spare,
            done,
            scratch,
            check_lists,
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
        if self.dated.len() > self.prune_at() {
            self.prune(spare, done, check_lists);
        }
    }

    /// Keeps the dated candidates [`kept`] keeps (by time, then by when they were seen); the
    /// others go to `spare`, or their events to `done`. Counts are no longer exact from the
    /// candidates.
    fn prune(
        &mut self,
        spare: &mut Vec<Candidate>,
        done: &mut Done,
        check_lists: &mut Vec<Vec<Check>>,
    ) {
        // Stable: among equal times, the order they were seen in (the candidates are held
        // in that order, or sorted by time keeping it).
        self.dated.sort_by_key(|c| c.event.time_created);
        let kept = self.kept_of(self.dated.iter());
        // In place: a candidate is moved only to close a gap or to go.
        let mut at = 0;
        let dropped = self.dated.extract_if(.., |_| {
            at += 1;
            !kept.get(at - 1).copied().unwrap_or(true)
        });
        for candidate in dropped {
            if spare.len() < MAX_SPARE {
                spare.push(candidate);
            } else {
                let Candidate { event, checks } = candidate;
                done.put(event);
                keep_check_list(check_lists, checks);
            }
        }
        self.complete = false;
        self.held = self.dated.len();
    }

    /// [`kept`] of these candidates, sorted by time, with this signal's window and hours.
    fn kept_of<'a>(&self, sorted: impl Iterator<Item = &'a Candidate>) -> Vec<bool> {
        let times: Vec<Option<Timestamp>> = sorted.map(|c| c.event.time_created).collect();
        kept(&times, self.window, self.recent_hours)
    }

    /// How many dated candidates are held before pruning: [`PRUNE_AT`] the first time (up
    /// to then counts are exact), then twice what the last pruning kept.
    fn prune_at(&self) -> usize {
        PRUNE_AT.max(2 * self.held)
    }

    /// The dated candidates as if pruned after the last event: all while every one is held,
    /// otherwise those [`kept`] keeps (the oldest [`KEEP_OLDEST`], the newest
    /// [`KEEP_NEWEST`], and judged at a given now the newest in the window and just before
    /// it) — the same whenever pruning happened, so the same however the events were split
    /// between shards.
    pub fn settled(&self) -> Vec<&Candidate> {
        let mut dated: Vec<&Candidate> = self.dated.iter().collect();
        if !self.complete {
            dated.sort_by_key(|c| c.event.time_created);
            let kept = self.kept_of(dated.iter().copied());
            let mut at = 0;
            dated.retain(|_| {
                at += 1;
                kept.get(at - 1).copied().unwrap_or(true)
            });
        }
        dated
    }

    /// Counts `n` events of another `provider` (a near miss): the first [`MAX_NEAR_MISS`]
    /// providers in the order first seen (all of them in a shard).
    pub(super) fn near_miss(&mut self, provider: &str, n: u64) {
        if let Some(count) = self.other_providers.get_mut(provider) {
            *count += n;
        } else if self.unbounded || self.other_providers.len() < MAX_NEAR_MISS {
            self.other_providers.insert(provider.to_owned(), n);
            self.other_order.push(provider.to_owned());
        }
    }

    /// Adds what `other` collected as if its events came after these: the same counts and
    /// notes, the candidates the same once [`SignalState::settled`]. `other` is left as
    /// empty as a new shard's, its dated candidates' list's room kept.
    pub(super) fn absorb(&mut self, other: &mut SignalState, reuse: &mut Reuse) {
        // Moved out of its list, whose room stays `other`'s.
        self.dated.append(&mut other.dated);
        let mut other = other.take_collected();
        self.dated_total += other.dated_total;
        // Pruned once more than `PRUNE_AT` had matched, and from then on never complete.
        self.complete &= other.complete && self.dated_total <= PRUNE_AT as u64;
        if self.dated.len() > self.prune_at() {
            self.prune(&mut reuse.spare, &mut reuse.done, &mut reuse.check_lists);
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

    /// What this state collected, this state left as a new one of its signal (nothing
    /// counted, kept or noted) but for the room of its dated candidates' list, kept.
    fn take_collected(&mut self) -> SignalState {
        let mut dated = std::mem::take(&mut self.dated);
        dated.clear();
        let empty = SignalState {
            dated,
            unbounded: self.unbounded,
            window: self.window,
            ..SignalState::new(self.tallies.len(), self.recent_hours)
        };
        std::mem::replace(self, empty)
    }

    /// Whether four values that rejected events are noted already (no more are).
    pub(super) fn rejected_values_full(&self) -> bool {
        self.rejected_values.len() >= 4
    }

    /// Remembers a value that rejected an event: the first four different ones.
    pub(super) fn note_rejected(&mut self, value: &str) {
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

    /// Whether this state, loaded from bytes, could be what a shard like `empty` (the one it
    /// is loaded into) collected: the same window, bounds and conditions, a histogram width
    /// coarsening could give, a check per condition on each candidate, no more candidates
    /// than events, no more dated events in the histogram than were counted, and counts in
    /// bounds ([`super::MAX_SHARD_COUNT`]).
    pub(super) fn fits(&self, empty: &SignalState) -> Result<(), String> {
        let mut width = self.bucket_minutes;
        while width > 1 && width % 60 == 0 {
            width /= 60;
        }
        if width != 1 {
            return Err(format!(
                "a shard with {}-minute buckets",
                self.bucket_minutes
            ));
        }
        if self.window != empty.window
            || self.recent_hours != empty.recent_hours
            || self.unbounded != empty.unbounded
            || self.tallies.len() != empty.tallies.len()
        {
            return Err("a shard of another window, bounds or conditions".to_string());
        }
        let conditions = self.tallies.len();
        let counts = [
            self.dated_total,
            self.undated_total,
            self.rejected,
            self.other_channel,
        ];
        let tallies = self
            .tallies
            .iter()
            .flat_map(|t| [t.held, t.held_in_message, t.failed, t.unknown]);
        super::counts_fit(counts.into_iter().chain(tallies))?;
        super::counts_fit(self.other_providers.values().copied())?;
        let in_histogram = self
            .histogram
            .values()
            .try_fold(0u64, |sum, n| sum.checked_add(*n));
        let near_misses_ordered = self.other_order.len() == self.other_providers.len()
            && self
                .other_order
                .iter()
                .all(|p| self.other_providers.contains_key(p));
        if in_histogram.is_none_or(|n| n > self.dated_total)
            || self.dated.len() as u64 > self.dated_total
            || self.undated.len() as u64 > self.undated_total
            || self.undated.len() > KEEP_UNDATED
            || self.rejected_values.len() > 4
            || !near_misses_ordered
            || self
                .dated
                .iter()
                .chain(&self.undated)
                .any(|c| c.checks.len() != conditions)
        {
            return Err("a shard holding what observing cannot give".to_string());
        }
        Ok(())
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
pub(super) fn kept(
    times: &[Option<Timestamp>],
    window: Option<(Timestamp, Timestamp)>,
    recent_hours: i64,
) -> Vec<bool> {
    let len = times.len();
    let mut kept: Vec<bool> = (0..len)
        .map(|i| i < KEEP_OLDEST || i + KEEP_NEWEST >= len)
        .collect();
    // Each of the recent hours' newest (hours counted back from the newest candidate's).
    let hour = |i: usize| {
        times
            .get(i)
            .copied()
            .flatten()
            .map(|t| t.as_second().div_euclid(3600))
    };
    if let Some(newest) = len.checked_sub(1).and_then(hour) {
        let (mut current, mut taken) = (newest, 0);
        for i in (0..len).rev() {
            let Some(h) = hour(i) else { continue };
            if h < newest - recent_hours {
                break;
            }
            if h != current {
                (current, taken) = (h, 0);
            }
            if taken < SHOW_OUTSIDE {
                taken += 1;
                if let Some(k) = kept.get_mut(i) {
                    *k = true;
                }
            }
        }
    }
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
pub(super) fn trim(event: &mut Event) {
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
pub(super) fn trim_items(event: &mut Event, cuts: ExcerptCuts, scratch: &mut String) {
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
