//! What the page and its worker say to each other. Inputs go in as `File`/`Blob` objects
//! or text (see [`crate::bridge`]); everything coming back is one of these, as JSON.

use analyzer::diagnose::{Diagnosis, PlanOffer, PlanTargets};
use analyzer::input::{InputReport, Progress};
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
    /// The analyzer's own diagnosis, as `fixer diagnose --json` writes it.
    pub diagnosis: Diagnosis,
    /// The inputs as the page lists them: each report with what reading it cost here.
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
        done.diagnosis.inputs = hashed.inputs.iter().map(|r| r.report.clone()).collect();
        done.inputs = hashed.inputs;
        done.diagnosis.evidence_sha256 = hashed.evidence_sha256;
        done.offer.targets = hashed.targets;
        done.hashing = false;
        done
    }
}

/// One input as the page lists it: the analyzer's report and what reading it cost this
/// worker. Not a copy of the report: the costs are the worker's own measurements (its clock),
/// which the analyzer, having no clock, cannot know.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputRow {
    pub report: InputReport,
    /// Reading this input, in milliseconds.
    pub parse_ms: f64,
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
    /// Parsing the chunks and merging their parts: this worker's share of the parsing,
    /// reading the parsing helpers' parts, waiting for them, and `merge_ms`.
    pub parse_ms: f64,
    /// Of `parse_ms`: merging the parts in order (the diagnosis' rules see each event).
    #[serde(default)]
    pub merge_ms: f64,
    /// Of `parse_ms`: waiting for a parsing helper's parts.
    #[serde(default)]
    pub wait_ms: f64,
    /// Workers that could parse its chunks: this one and its parsing helpers
    /// ([`crate::split`]).
    #[serde(default)]
    pub workers: u32,
    /// Batches (16 chunks each) a parsing helper parsed.
    #[serde(default)]
    pub lent: u32,
    /// Stripes lent, then taken back and parsed here (their helper had not begun on them).
    #[serde(default)]
    pub taken_back: u32,
    /// Lent stripes whose helper's answer was taken in with its collector's shard
    /// (absorbed after their parts).
    #[serde(default)]
    pub shards: u32,
    /// Lent stripes whose helper failed, or whose answer could not be taken in: read and
    /// parsed here again (counted in `lent` too).
    #[serde(default)]
    pub refused: u32,
    /// Of `parse_ms`: taking the lent stripes' answers in (parts and shards), and their
    /// size.
    #[serde(default)]
    pub parts_ms: f64,
    #[serde(default)]
    pub parts_bytes: u64,
}

impl InputRow {
    pub fn new(report: &InputReport, parse_ms: f64, spent: Option<Spent>) -> InputRow {
        InputRow {
            report: report.clone(),
            parse_ms,
            spent,
        }
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
            diagnosis,
            inputs: rows.clone(),
            diagnose_ms: 2.0,
            wasm_memory_bytes: 3,
            hashing: true,
        };
        let mut hashed_rows = rows;
        hashed_rows[0].report.sha256 = "ab".repeat(32);
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
        assert_eq!(done.diagnosis.inputs[0].sha256, "ab".repeat(32));
        assert_eq!(done.diagnosis.evidence_sha256, "cd".repeat(32));
        assert_eq!(done.offer.targets, Err("no computer is named".to_owned()));
        let untouched = Outcome {
            inputs: first.inputs.clone(),
            offer: first.offer.clone(),
            hashing: true,
            diagnosis: Diagnosis {
                evidence_sha256: first.diagnosis.evidence_sha256.clone(),
                inputs: first.diagnosis.inputs.clone(),
                ..done.diagnosis.clone()
            },
            ..done
        };
        assert_eq!(untouched, first, "nothing else changed");
    }

    #[test]
    fn the_analyzers_own_diagnosis_reaches_the_page_whole() {
        // The page's samples: a `.evtx` with a finding (its chunk summary), a text export
        // (its encoding), and something no reader takes (what was tried).
        let mut session = Session::new();
        let mut progress = |_: Progress| ControlFlow::Continue(());
        let inputs: [(&str, &[u8]); 3] = [
            (
                "rdp-cert-keys.evtx",
                include_bytes!("../../static/samples/rdp-cert-keys.evtx"),
            ),
            (
                "rdp-cert-keys.txt",
                include_bytes!("../../static/samples/rdp-cert-keys.txt"),
            ),
            ("notes.txt", b"not a log at all"),
        ];
        for (name, bytes) in inputs {
            session.add_bytes(name, bytes, &mut progress);
        }
        let diagnosis = session.finish(&DiagnoseOptions::default());
        assert!(!diagnosis.findings.is_empty());
        assert!(diagnosis.inputs[0].evtx.is_some());
        assert!(diagnosis.inputs[1].encoding.is_some());
        assert!(!diagnosis.inputs[2].tried.is_empty());
        let offer = PlanOffer::for_diagnosis(session.catalog(), &diagnosis);
        let outcome = Outcome {
            inputs: session
                .inputs()
                .iter()
                .map(|r| InputRow::new(r, 1.0, Some(Spent::default())))
                .collect(),
            diagnosis,
            diagnose_ms: 2.0,
            wasm_memory_bytes: 3,
            offer,
            hashing: false,
        };
        let json = serde_json::to_string(&FromWorker::Done(Box::new(outcome.clone()))).unwrap();
        let FromWorker::Done(back) = serde_json::from_str(&json).unwrap() else {
            panic!("not read back as done");
        };
        assert_eq!(*back, outcome);
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
