//! A diagnosis session: inputs are read one by one into the rules' collector (which keeps
//! only candidate events), then `finish` judges them against a "now" — as often as the page
//! wants, with another "now", without reading the inputs again.

use super::coverage::{self, ContextSeen, Hint, HintKind, LookedFor, Seen};
use super::verdict::{self, MostLikely};
use crate::Event;
use crate::input::{self, EventSink, InputReport, Progress, Tally};
use crate::rules::catalog::{Catalog, CatalogError};
use crate::rules::collection::{self, CollectionGuide};
use crate::rules::collector::Collector;
use crate::rules::finding::{Finding, Window};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Seek};
use std::ops::ControlFlow;

/// The window the seed scenarios use, and the default for the diagnosis as a whole.
pub const DEFAULT_WINDOW_HOURS: u32 = 24;
/// Computers and channels listed in a diagnosis (the rest are counted in the statistics).
const MAX_LISTED: usize = 20;

/// Inputs read so far, and what the rules kept of them.
#[derive(Debug)]
pub struct Session {
    collector: Collector,
    /// Read every `.evtx` record whole (see [`Session::read_every_record_whole`]).
    whole: bool,
    /// The "now" given before the inputs ([`Session::judging_at`]).
    judged_at: Option<Timestamp>,
    inputs: Vec<InputReport>,
    /// Why the built-in catalog could not be used (never expected: the tests validate it).
    catalog_error: Option<CatalogError>,
}

/// Choices for [`Session::finish`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiagnoseOptions {
    /// The moment evidence is judged against; default: the newest event in the inputs.
    pub now: Option<Timestamp>,
}

/// Where "now" came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NowSource {
    /// Given by the user (`--now`, the page's control).
    Given,
    /// The newest event in the inputs: an export is usually analysed after the fact.
    NewestEvent,
    /// Neither: no event had a time.
    Unknown,
}

/// Everything the page and `fixer diagnose` show. It reads back (`Deserialize`): the page's
/// worker sends it to the page as it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Diagnosis {
    pub analyzer_version: String,
    pub catalog_version: u32,
    /// One report per input, in the order they were added.
    pub inputs: Vec<InputReport>,
    pub now: Option<Timestamp>,
    pub now_source: NowSource,
    /// The default window (the seed scenarios'); each finding carries its own.
    pub window: Window,
    /// Events read from all inputs.
    pub events: u64,
    pub oldest: Option<Timestamp>,
    pub newest: Option<Timestamp>,
    /// Ranked: the most likely first. Several can hold at once.
    pub findings: Vec<Finding>,
    pub most_likely: Option<MostLikely>,
    /// The verdict in one line: what a console shows last.
    pub verdict: String,
    /// Every rule, as searched for.
    pub looked_for: Vec<LookedFor>,
    /// What to export when the inputs look incomplete.
    pub hints: Vec<Hint>,
    pub computers: Vec<Seen>,
    pub channels: Vec<Seen>,
    pub contexts: Vec<ContextSeen>,
    /// How to fetch the logs again, generated from the catalog.
    pub collection: CollectionGuide,
    /// SHA-256 over the inputs' SHA-256 digests (lowercase hex, sorted, each followed by a
    /// newline): names exactly the evidence a plan was built from, whatever the input order.
    pub evidence_sha256: String,
}

impl Default for Session {
    fn default() -> Self {
        Session::new()
    }
}

impl Session {
    /// A session with the built-in rule catalog.
    pub fn new() -> Session {
        match Catalog::builtin() {
            Ok(catalog) => Session::with_catalog(catalog),
            Err(e) => Session {
                collector: Collector::new(Catalog::empty()),
                whole: false,
                judged_at: None,
                inputs: Vec::new(),
                catalog_error: Some(e),
            },
        }
    }

    /// A session with another catalog (tests, a catalog under development).
    pub fn with_catalog(catalog: Catalog) -> Session {
        Session {
            collector: Collector::new(catalog),
            whole: false,
            judged_at: None,
            inputs: Vec::new(),
            catalog_error: None,
        }
    }

    /// Renders every `.evtx` record in full instead of reading only the System fields of
    /// records no rule lists ([`input::Details`]). The diagnosis is the same, only slower:
    /// for comparisons and tests.
    pub fn read_every_record_whole(mut self) -> Session {
        self.whole = true;
        self
    }

    /// The session will be finished with this "now" ([`DiagnoseOptions::now`]): said before
    /// the inputs, the events in each rule's window ending then are kept to show as evidence
    /// however many came before and after it. Without it the windows end at the newest
    /// event, and the newest are kept anyway.
    pub fn judging_at(mut self, now: Option<Timestamp>) -> Session {
        if let Some(now) = now {
            self.collector.judging_at(now);
        }
        self.judged_at = now;
        self
    }

    /// Reads one input held in memory.
    pub fn add_bytes(
        &mut self,
        name: &str,
        bytes: &[u8],
        progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> &InputReport {
        let report = input::read_bytes(name, bytes, &mut self.sink(), progress);
        self.push(report)
    }

    /// Reads one input from a seekable source of `len` bytes; `.evtx` stays bounded in
    /// memory whatever its size. A zip archive is opened ([`input::read_any`]): the reports
    /// returned are the archive's, then its members', each an input of its own.
    pub fn add_seekable<R: Read + Seek>(
        &mut self,
        name: &str,
        reader: R,
        len: u64,
        progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
    ) -> &[InputReport] {
        let reports = input::read_any(name, reader, len, &mut self.sink(), progress);
        let first = self.inputs.len();
        self.inputs.extend(reports);
        self.inputs.get(first..).unwrap_or_default()
    }

    /// The sink of an input read outside the session — a page that merges the chunks several
    /// workers parsed ([`input::EvtxMerge`]) — whose report then goes to
    /// [`Session::add_report`].
    pub fn input_sink(&mut self) -> impl EventSink + '_ {
        self.sink()
    }

    /// Adds the report of an input read through [`Session::input_sink`].
    pub fn add_report(&mut self, report: InputReport) -> &InputReport {
        self.push(report)
    }

    fn sink(&mut self) -> CollectorSink<'_> {
        CollectorSink {
            collector: &mut self.collector,
            whole: self.whole,
        }
    }

    // The index is the one just pushed: it cannot be out of bounds.
    #[allow(clippy::indexing_slicing)]
    fn push(&mut self, report: InputReport) -> &InputReport {
        self.inputs.push(report);
        let last = self.inputs.len() - 1;
        &self.inputs[last]
    }

    /// The inputs read so far.
    pub fn inputs(&self) -> &[InputReport] {
        &self.inputs
    }

    pub fn catalog(&self) -> &Catalog {
        self.collector.catalog()
    }

    /// Judges everything read so far against `options.now` (default: the one given to
    /// [`Session::judging_at`], else the newest event).
    pub fn finish(&self, options: &DiagnoseOptions) -> Diagnosis {
        let stats = self.collector.stats();
        let (now, now_source) = match (options.now.or(self.judged_at), stats.newest) {
            (Some(now), _) => (Some(now), NowSource::Given),
            (None, Some(newest)) => (Some(newest), NowSource::NewestEvent),
            (None, None) => (None, NowSource::Unknown),
        };
        let window = Window::ending_at(now, DEFAULT_WINDOW_HOURS);
        // Configuration snapshots: a SOFTWARE hive joined to its SYSTEM hive's, then the
        // newest of each computer.
        let joined = joined_snapshots(&self.inputs);
        let snapshots = crate::config::newest_per_computer(&joined);
        let findings = crate::rules::evaluate_with_config(&self.collector, &snapshots, now);
        let most_likely = verdict::most_likely(&findings);
        let catalog = self.collector.catalog();
        let collection = collection::guide(catalog, DEFAULT_WINDOW_HOURS);
        let mut hints = coverage::hints(&self.collector, &window, &collection);
        if let Some(e) = &self.catalog_error {
            hints.insert(
                0,
                Hint {
                    kind: HintKind::NoRules,
                    text: format!("the rule catalog could not be loaded, nothing was checked: {e}"),
                    commands: Vec::new(),
                },
            );
        }
        let verdict = verdict::summary(
            &findings,
            most_likely.as_ref(),
            &window,
            stats.events,
            catalog.rules.len(),
            &hints,
        );
        Diagnosis {
            analyzer_version: crate::VERSION.to_string(),
            catalog_version: catalog.version,
            inputs: self.inputs.clone(),
            now,
            now_source,
            window,
            events: stats.events,
            oldest: stats.oldest,
            newest: stats.newest,
            looked_for: coverage::looked_for(&self.collector, &findings),
            findings,
            most_likely,
            verdict,
            hints,
            computers: coverage::seen(&stats.computers, MAX_LISTED),
            channels: coverage::seen(&stats.channels, MAX_LISTED),
            contexts: stats
                .contexts
                .iter()
                .map(|(id, (by, events))| ContextSeen {
                    id: id.clone(),
                    description: catalog
                        .contexts
                        .iter()
                        .find(|c| &c.id == id)
                        .map(|c| c.description.clone())
                        .unwrap_or_default(),
                    by: by.clone(),
                    events: *events,
                })
                .collect(),
            collection,
            evidence_sha256: evidence_sha256(&self.inputs),
        }
    }
}

/// The collector as a session feeds it.
struct CollectorSink<'a> {
    collector: &'a mut Collector,
    whole: bool,
}

impl EventSink for CollectorSink<'_> {
    fn event(&mut self, event: Event) {
        self.collector.observe_owned(event);
    }

    fn tally(&mut self, input: &str, tally: &Tally) {
        self.collector.observe_tally(input, tally);
    }

    fn reclaim(&mut self, into: &mut Vec<Event>) {
        self.collector.reclaim(into);
    }

    fn event_with_cuts(&mut self, event: Event, cuts: input::ExcerptCuts) {
        self.collector.observe_with_cuts(event, cuts);
    }

    fn details(&self) -> input::Details {
        if self.whole {
            input::Details::All
        } else {
            self.collector.details()
        }
    }

    fn shard(&self) -> Option<Box<dyn input::Shard>> {
        EventSink::shard(&*self.collector)
    }

    fn absorb(&mut self, shard: &mut dyn input::Shard) {
        EventSink::absorb(&mut *self.collector, shard);
    }
}

impl EventSink for Collector {
    fn event(&mut self, event: Event) {
        self.observe_owned(event);
    }

    fn tally(&mut self, input: &str, tally: &Tally) {
        self.observe_tally(input, tally);
    }

    fn reclaim(&mut self, into: &mut Vec<Event>) {
        Collector::reclaim(self, into);
    }

    fn event_with_cuts(&mut self, event: Event, cuts: input::ExcerptCuts) {
        self.observe_with_cuts(event, cuts);
    }

    /// The collector counts every event but reads the data of only those a rule lists, and
    /// of those only the items a condition reads: an event it keeps is shown by its System
    /// fields and its checks, never by its other data.
    fn details(&self) -> input::Details {
        input::Details::Checked(self.catalog().index().data_reads())
    }

    /// A collector of the same catalog: absorbed in order, what it collected is what this
    /// one would have ([`Collector::absorb`]).
    fn shard(&self) -> Option<Box<dyn input::Shard>> {
        Some(Box::new(Collector::shard(self)))
    }

    fn absorb(&mut self, shard: &mut dyn input::Shard) {
        // Only its own shards are given back (`EvtxMerge::absorb` takes the shard its sink
        // made): another kind cannot be one.
        if let Some(shard) = shard.as_any_mut().downcast_mut::<Collector>() {
            Collector::absorb(self, shard);
        }
    }
}

impl input::Shard for Collector {
    fn another(&self) -> Box<dyn input::Shard> {
        Box::new(Collector::shard(self))
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }

    fn crosses(&self) -> bool {
        true
    }

    fn to_bytes(&self) -> Result<Vec<u8>, String> {
        Collector::to_bytes(self)
    }

    fn load(&mut self, bytes: &[u8]) -> Result<(), String> {
        Collector::load(self, bytes)
    }
}

/// SHA-256 over the sorted, newline-terminated hex digests of the inputs that were read to
/// the end (a cancelled read has no digest).
pub fn evidence_sha256(inputs: &[InputReport]) -> String {
    let mut digests: Vec<String> = inputs
        .iter()
        .map(|i| i.sha256.to_ascii_lowercase())
        .filter(|d| !d.is_empty())
        .collect();
    digests.sort();
    let mut hasher = Sha256::new();
    for d in &digests {
        hasher.update(d.as_bytes());
        hasher.update(b"\n");
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The configuration snapshots of the inputs, a SOFTWARE hive's joined to its SYSTEM
/// hive's: what [`Session::finish`] judges (the newest of each computer) and what the plan
/// reads the policy key from.
pub(crate) fn joined_snapshots(inputs: &[InputReport]) -> Vec<crate::config::ConfigSnapshot> {
    crate::input::hive::merge(inputs.iter().flat_map(|i| &i.configs))
}
