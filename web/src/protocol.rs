//! What the page and its worker say to each other. Inputs go in as `File`/`Blob` objects
//! or text (see [`crate::bridge`]); everything coming back is one of these, as JSON.

use analyzer::diagnose::coverage::{Hint, LookedFor, Seen};
use analyzer::diagnose::{Diagnosis, PlanOffer, PlanTargets};
use analyzer::input::{InputReport, Progress};
use analyzer::rules::finding::{Finding, Window};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A message from the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FromWorker {
    /// Reading input `index` of `inputs`.
    Progress(InputProgress),
    Done(Box<Outcome>),
    /// After a `Done` whose `hashing` is set, now and then: how much of the logs is hashed.
    HashProgress(HashProgress),
    /// After a `Done` whose `hashing` is set: the inputs' SHA-256 digests, and with them
    /// the plan's identity.
    Hashed(Box<Hashed>),
    /// The request itself was unusable (never a log's content: that is in the reports).
    Failed {
        message: String,
        /// The wasm module itself failed (a trap): the worker must be replaced.
        #[serde(default)]
        crashed: bool,
    },
}

/// How far the worker is: what the page's progress bar shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputProgress {
    pub index: usize,
    pub inputs: usize,
    pub name: String,
    pub bytes_done: u64,
    pub bytes_total: u64,
    pub events: u64,
}

impl FromWorker {
    pub fn progress(index: usize, inputs: usize, name: &str, p: Progress) -> FromWorker {
        FromWorker::Progress(InputProgress {
            index,
            inputs,
            name: name.to_owned(),
            bytes_done: p.bytes_done,
            bytes_total: p.bytes_total,
            events: p.events,
        })
    }
}

/// The diagnosis of one request and what it cost the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub diagnosis: DiagnosisView,
    pub inputs: Vec<InputRow>,
    /// `Session::finish`, in milliseconds.
    pub diagnose_ms: f64,
    /// The worker's wasm memory at the end: wasm memory only grows, so this is its peak.
    pub wasm_memory_bytes: u64,
    /// What a plan for this diagnosis proposes and may be for: made here in the worker by
    /// the analyzer (`PlanOffer::for_diagnosis`, as `fixer plan` does); the page only adds the
    /// admin's choices, its clock and random bytes.
    pub offer: PlanOffer,
    /// The findings came first: some inputs' SHA-256 digests (so `evidence_sha256` and
    /// `offer.targets`) follow in a [`Hashed`].
    #[serde(default)]
    pub hashing: bool,
}

/// How far the hashing after the findings is, over all the logs it has to hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HashProgress {
    pub bytes_done: u64,
    pub bytes_total: u64,
}

/// What a [`FromWorker::Hashed`] brings to the [`Outcome`] before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hashed {
    /// The input rows again, with their digests and the time the hashing took.
    pub inputs: Vec<InputRow>,
    pub evidence_sha256: String,
    pub targets: Result<PlanTargets, String>,
}

impl Outcome {
    /// This outcome completed by `hashed`.
    pub fn with_hashes(&self, hashed: Hashed) -> Outcome {
        let mut done = self.clone();
        done.inputs = hashed.inputs;
        done.diagnosis.evidence_sha256 = hashed.evidence_sha256;
        done.offer.targets = hashed.targets;
        done.hashing = false;
        done
    }
}

/// The part of [`Diagnosis`] the page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiagnosisView {
    pub now: Option<Timestamp>,
    pub window: Window,
    pub events: u64,
    pub oldest: Option<Timestamp>,
    pub newest: Option<Timestamp>,
    pub findings: Vec<Finding>,
    pub verdict: String,
    pub looked_for: Vec<LookedFor>,
    pub hints: Vec<Hint>,
    pub computers: Vec<Seen>,
    pub channels: Vec<Seen>,
    pub evidence_sha256: String,
}

impl From<Diagnosis> for DiagnosisView {
    fn from(d: Diagnosis) -> DiagnosisView {
        DiagnosisView {
            now: d.now,
            window: d.window,
            events: d.events,
            oldest: d.oldest,
            newest: d.newest,
            findings: d.findings,
            verdict: d.verdict,
            looked_for: d.looked_for,
            hints: d.hints,
            computers: d.computers,
            channels: d.channels,
            evidence_sha256: d.evidence_sha256,
        }
    }
}

/// One input as the page lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputRow {
    pub name: String,
    /// `evtx`, `wevtutil-text`, … (`fixer diagnose --json`'s names); `None`: not a log.
    pub format: Option<String>,
    /// The variant, for people.
    pub dialect: Option<String>,
    pub bytes: u64,
    pub events: u64,
    /// Events seen but not read: the damage.
    pub skipped: u64,
    pub errors: u64,
    pub truncated: bool,
    pub cancelled: bool,
    pub issues: Vec<IssueRow>,
    pub issues_dropped: u64,
    /// When no format fitted: what was tried and why not.
    pub tried: Vec<String>,
    /// Reading this input, in milliseconds.
    pub parse_ms: f64,
    /// The input's SHA-256 (lowercase hex; empty when it was not read to the end).
    #[serde(default)]
    pub sha256: String,
    /// Where a `.evtx`'s reading time went (for the benchmark); `None` for other inputs.
    #[serde(default)]
    pub spent: Option<Spent>,
}

/// Milliseconds of one `.evtx`'s reading in the worker, by kind of work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Spent {
    /// Waiting for the file's bytes (the browser reading them) and copying them into wasm.
    pub read_ms: f64,
    /// Computing the file's SHA-256 here, or waiting for the helper's once parsing is done.
    pub hash_ms: f64,
    /// What the hashing helper spent on it, beside the parsing.
    #[serde(default)]
    pub helper_ms: f64,
    /// Parsing the chunks and merging their parts.
    pub parse_ms: f64,
}

/// One problem with an input, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssueRow {
    /// `info`, `warning` or `error`.
    pub severity: String,
    pub at: Option<String>,
    pub message: String,
}

impl InputRow {
    pub fn new(report: &InputReport, parse_ms: f64, spent: Option<Spent>) -> InputRow {
        InputRow {
            name: report.name.clone(),
            format: report.format.map(|f| f.to_string()),
            dialect: report.dialect.map(|d| d.to_string()),
            bytes: report.bytes,
            events: report.events,
            skipped: report.skipped,
            errors: report.errors,
            truncated: report.truncated,
            cancelled: report.cancelled,
            issues: report
                .issues
                .iter()
                .map(|i| IssueRow {
                    severity: severity_name(i.severity).to_owned(),
                    at: i.at.map(|a| a.to_string()),
                    message: i.message.clone(),
                })
                .collect(),
            issues_dropped: report.issues_dropped,
            tried: report
                .tried
                .iter()
                .map(|a| format!("{}: {}", a.format, a.why_not))
                .collect(),
            parse_ms,
            sha256: report.sha256.clone(),
            spent,
        }
    }
}

fn severity_name(s: analyzer::input::Severity) -> &'static str {
    match s {
        analyzer::input::Severity::Info => "info",
        analyzer::input::Severity::Warning => "warning",
        analyzer::input::Severity::Error => "error",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
    use super::*;
    use analyzer::diagnose::{DiagnoseOptions, Session};
    use std::ops::ControlFlow;

    #[test]
    fn the_hashes_that_follow_complete_the_outcome_and_nothing_else() {
        let mut session = Session::new();
        let mut progress = |_: Progress| ControlFlow::Continue(());
        session.add_bytes("paste.txt", b"not a log at all", &mut progress);
        let diagnosis = session.finish(&DiagnoseOptions::default());
        let rows: Vec<InputRow> = session
            .inputs()
            .iter()
            .map(|r| InputRow::new(r, 1.5, None))
            .collect();
        let first = Outcome {
            offer: PlanOffer {
                proposal: Err("nothing to fix".to_owned()),
                targets: Err("the logs are still being hashed".to_owned()),
            },
            diagnosis: diagnosis.into(),
            inputs: rows.clone(),
            diagnose_ms: 2.0,
            wasm_memory_bytes: 3,
            hashing: true,
        };
        let mut hashed_rows = rows;
        hashed_rows[0].sha256 = "ab".repeat(32);
        let message = FromWorker::Hashed(Box::new(Hashed {
            inputs: hashed_rows.clone(),
            evidence_sha256: "cd".repeat(32),
            targets: Err("no computer is named".to_owned()),
        }));
        let json = serde_json::to_value(&message).unwrap();
        assert_eq!(json["kind"], "hashed");
        let FromWorker::Hashed(back) = serde_json::from_value(json).unwrap() else {
            panic!("not read back as hashed");
        };
        let done = first.with_hashes(*back);
        assert!(!done.hashing);
        assert_eq!(done.inputs, hashed_rows);
        assert_eq!(done.diagnosis.evidence_sha256, "cd".repeat(32));
        assert_eq!(done.offer.targets, Err("no computer is named".to_owned()));
        let untouched = Outcome {
            inputs: first.inputs.clone(),
            offer: first.offer.clone(),
            hashing: true,
            diagnosis: DiagnosisView {
                evidence_sha256: first.diagnosis.evidence_sha256.clone(),
                ..done.diagnosis.clone()
            },
            ..done
        };
        assert_eq!(untouched, first, "nothing else changed");
    }

    #[test]
    fn progress_is_one_flat_tagged_object_and_reads_back() {
        let p = Progress {
            bytes_done: 1_048_576,
            bytes_total: 10_489_856,
            events: 1_970,
        };
        let message = FromWorker::progress(1, 3, "System.evtx", p);
        let json = serde_json::to_value(&message).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "kind": "progress",
                "index": 1,
                "inputs": 3,
                "name": "System.evtx",
                "bytes_done": 1_048_576,
                "bytes_total": 10_489_856,
                "events": 1_970,
            })
        );
        assert_eq!(serde_json::from_value::<FromWorker>(json).unwrap(), message);
    }
}
