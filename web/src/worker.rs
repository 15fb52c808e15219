//! The worker's side: reads the inputs it is handed, runs the diagnosis, and posts progress
//! and the outcome back as JSON. Runs in `static/worker.js`'s module worker. A `.evtx` is
//! split across parsing workers ([`crate::split`]); other files are read through
//! `FileReaderSync` (text exports are read whole anyway, up to the analyzer's cap).
//! `{ workers, lend }` in the request: how a `.evtx` is parsed ([`split::Parsing`]; tests,
//! measurements).

use crate::hash::{Hashing, Tee};
use crate::protocol::{FromWorker, HashProgress, Hashed, InputRow, Outcome};
use crate::split::now_ms;
use crate::{read, split};
use analyzer::diagnose::{
    DiagnoseOptions, Diagnosis, PlanOffer, PlanTargets, Session, evidence_sha256,
};
use analyzer::input::{
    EventSpare, Progress, SNIFF_BYTES, archive_left_out, looks_like_evtx, seek_target,
};
use js_sys::{Reflect, Uint8Array};
use std::cell::RefCell;
use std::io::{self, Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{Blob, DedicatedWorkerGlobalScope, FileReaderSync};

/// How much of a `Blob` one `FileReaderSync` call reads.
const SLICE_BYTES: u64 = 1024 * 1024;
/// Progress messages are posted at most this often (milliseconds).
const PROGRESS_EVERY_MS: f64 = 80.0;

thread_local! {
    /// The session the next request is analysed in, made as the worker started
    /// ([`worker_warm`]).
    static AHEAD: RefCell<Option<Session>> = const { RefCell::new(None) };
}

/// The analysis worker, once its module is ready (`static/worker.js`): makes the session its
/// request will be analysed in, so that parsing the catalog (~20 ms) is done while no file
/// is chosen yet — the page starts each analysis worker ahead, and a worker analyses once —
/// then reads logs of its own ahead of time ([`read_ahead_of_time`]) and posts what they
/// gave as `{ warm }` (a `Done`'s JSON), which the page reads and draws once, unseen
/// (`bridge::warm`), so that its own code for an answer is compiled ahead too.
#[wasm_bindgen]
pub fn worker_warm() {
    let catalog =
        AHEAD.with_borrow_mut(|ahead| ahead.get_or_insert_with(Session::new).catalog().clone());
    let mut outcome = read_ahead_of_time(catalog);
    outcome.wasm_memory_bytes = wasm_memory_bytes();
    let json = serde_json::to_string(&FromWorker::Done(Box::new(outcome))).unwrap_or_default();
    let message = js_sys::Object::new();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    // Posting cannot fail; if the page is gone there is no one to warm.
    if Reflect::set(&message, &"warm".into(), &json.into()).is_ok() {
        let _ = scope.post_message(&message);
    }
}

/// One chunk of a real System log (`web/assets/warm.evtx`: the file header and first chunk
/// of `static/samples/healthy.evtx`, 114 records), 11 KB of the gzipped bundle.
const WARM_EVTX: &[u8] = include_bytes!("../assets/warm.evtx");

/// One chunk of a Security log under attack (`web/assets/warm-security.evtx`: the first
/// chunk of `cargo xtask bench`'s attack log, 114 records, mostly failed logons a rule
/// lists), 6 KB of the gzipped bundle.
const WARM_SECURITY_EVTX: &[u8] = include_bytes!("../assets/warm-security.evtx");

/// Times [`WARM_SECURITY_EVTX`] is read ahead: enough for the browser to compile the code
/// that builds and keeps listed events with its optimising tier before a file is chosen.
const WARM_SECURITY_ROUNDS: usize = 16;

/// Reads [`WARM_EVTX`] and [`WARM_SECURITY_EVTX`] into a session, through the page's own
/// `.evtx` path ([`split::read_evtx_bytes`]), and hashes the first, as the worker starts:
/// the browser compiles a wasm function when it is first called, and optimises it once it
/// has run a while, so the reader's, the rules' and the SHA-256's code is then compiled
/// before a file is chosen. A 1 MiB `.evtx` went from 77 to 63 ms chosen → findings with
/// the System chunk (BENCHMARKS.md, "Session 10"); the Security chunk, read
/// [`WARM_SECURITY_ROUNDS`] times, is for the logs whose records rules list (BENCHMARKS.md,
/// "Session 17"; through the page's path instead of the analyzer's own reader, "Session
/// 18"). `catalog`: the one the worker's session parsed, not parsed again. Returns the
/// outcome of the session that read both, as an analysis would post it.
fn read_ahead_of_time(catalog: analyzer::rules::Catalog) -> Outcome {
    std::hint::black_box(<sha2::Sha256 as sha2::Digest>::digest(WARM_EVTX));
    // Shared by the rounds, as a file's batches share it: from the second round on, events
    // are built in the allocations of those the last one was done with.
    let mut spare = EventSpare::default();
    for _ in 1..WARM_SECURITY_ROUNDS {
        let mut round = Session::with_catalog(catalog.clone());
        split::read_evtx_bytes(
            &mut round,
            "warm-security.evtx",
            WARM_SECURITY_EVTX,
            &mut spare,
        );
        std::hint::black_box(round.finish(&DiagnoseOptions::default()));
    }
    let mut warm = Session::with_catalog(catalog);
    split::read_evtx_bytes(&mut warm, "warm.evtx", WARM_EVTX, &mut spare);
    split::read_evtx_bytes(
        &mut warm,
        "warm-security.evtx",
        WARM_SECURITY_EVTX,
        &mut spare,
    );
    let diagnosis = warm.finish(&DiagnoseOptions::default());
    let inputs = warm
        .inputs()
        .iter()
        .map(|report| InputRow::new(report, 0.0, None))
        .collect();
    // As a `.evtx` analysis posts it: the findings before the hashes.
    outcome(&warm, diagnosis, inputs, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chunks read ahead are read as logs, record by record, and the Security one gives
    /// findings with evidence: what is compiled ahead is the path a file takes, not an
    /// error's, down to the findings the page draws.
    #[test]
    fn the_chunks_read_ahead_are_read_whole_with_findings() {
        let outcome = read_ahead_of_time(Session::new().catalog().clone());
        let [system, security] = outcome.diagnosis.inputs.as_slice() else {
            panic!("two inputs: {:?}", outcome.diagnosis.inputs.len());
        };
        for input in [system, security] {
            assert_eq!(input.events, 114, "{}", input.name);
            assert_eq!(input.skipped, 0, "{}", input.name);
            assert!(input.evtx.is_some(), "{}", input.name);
        }
        let brute = outcome
            .diagnosis
            .findings
            .iter()
            .find(|f| f.id == "rdp-brute-force")
            .expect("the attack chunk's failed logons are a finding");
        assert!(!brute.evidence.is_empty());
        assert_eq!(outcome.inputs.len(), 2);
        assert!(outcome.hashing);
    }
}

/// Handles one request: `{ items: [{ name, blob } | { name, text } | { name, left_out }],
/// hashing? }` (`left_out`: the size of an archive of a dropped folder that is not opened).
/// (`hashing`: where a `.evtx` is hashed, [`Hashing::named`]).
/// Posts the findings as soon as they are known, then, when a `.evtx`'s SHA-256 was left
/// for later ([`crate::hash`]), the digests and the plan's identity.
#[wasm_bindgen]
pub async fn worker_analyse(request: JsValue) {
    match analyse(&request).await {
        Ok((outcome, later)) => {
            post(&FromWorker::Done(Box::new(outcome)));
            if let Some(later) = later {
                post(&FromWorker::Hashed(Box::new(later.hash().await)));
            }
        }
        Err(message) => post(&FromWorker::Failed {
            message,
            crashed: false,
        }),
    }
}

/// What is left once the findings are out: the SHA-256 of each `.evtx` read to the end.
struct Later {
    diagnosis: Diagnosis,
    rows: Vec<InputRow>,
    /// Input index, the file, its hash.
    pending: Vec<(usize, Blob, Tee)>,
}

impl Later {
    async fn hash(mut self) -> Hashed {
        let mut failed = Vec::new();
        let total: u64 = self
            .pending
            .iter()
            .map(|(_, blob, _)| read::blob_len(blob))
            .sum();
        let mut before = 0;
        let mut every = Throttle::default();
        for (index, blob, tee) in self.pending {
            let started = now_ms();
            let mut hashed = |done: u64| {
                if every.due(false) {
                    post(&FromWorker::HashProgress(HashProgress {
                        bytes_done: before + done,
                        bytes_total: total,
                    }));
                }
            };
            let result = tee.finish(&blob, &mut hashed).await;
            before += read::blob_len(&blob);
            let (Some(report), Some(row)) = (
                self.diagnosis.inputs.get_mut(index),
                self.rows.get_mut(index),
            ) else {
                continue;
            };
            match result {
                Ok((hex, helper_ms)) => {
                    report.sha256.clone_from(&hex);
                    row.report.sha256 = hex;
                    if let Some(spent) = &mut row.spent {
                        spent.helper_ms = helper_ms;
                        split::lap(&mut spent.hash_ms, started);
                    }
                }
                Err(e) => failed.push(format!("{} could not be hashed: {e}", row.report.name)),
            }
        }
        self.diagnosis.evidence_sha256 = evidence_sha256(&self.diagnosis.inputs);
        let targets = match failed.first() {
            Some(why) => Err(why.clone()),
            None => PlanTargets::for_diagnosis(&self.diagnosis).map_err(|e| e.to_string()),
        };
        Hashed {
            inputs: self.rows,
            evidence_sha256: self.diagnosis.evidence_sha256,
            targets,
        }
    }
}

async fn analyse(request: &JsValue) -> Result<(Outcome, Option<Later>), String> {
    let items = Reflect::get(request, &"items".into())
        .ok()
        .and_then(|v| v.dyn_into::<js_sys::Array>().ok())
        .ok_or("the page sent the worker no inputs")?;
    let count = items.length() as usize;
    let hashing = Hashing::named(
        Reflect::get(request, &"hashing".into())
            .ok()
            .and_then(|v| v.as_string())
            .as_deref(),
    );
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let parsing = split::Parsing {
        workers: Reflect::get(request, &"workers".into())
            .ok()
            .and_then(|v| v.as_f64())
            .filter(|n| *n >= 1.0)
            .map(|n| n.min(f64::from(split::MAX_WORKERS)) as u32),
        lend_all: Reflect::get(request, &"lend".into())
            .ok()
            .and_then(|v| v.as_string())
            .is_some_and(|v| v == "all"),
    };
    let mut session = AHEAD.with_borrow_mut(Option::take).unwrap_or_default();
    let mut rows = Vec::with_capacity(count);
    let mut pending = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let name = Reflect::get(&item, &"name".into())
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_else(|| format!("input {}", index + 1));
        let started = now_ms();
        let mut spent = None;
        let mut every = Throttle::default();
        let mut progress = |p: Progress| {
            if every.due(p.bytes_done == p.bytes_total) {
                post(&FromWorker::progress(index, count, &name, p));
            }
            ControlFlow::Continue(())
        };
        let text = Reflect::get(&item, &"text".into())
            .ok()
            .and_then(|v| v.as_string());
        let left_out = Reflect::get(&item, &"left_out".into())
            .ok()
            .and_then(|v| v.as_f64());
        // An archive's members are inputs of their own: rows from `first` on.
        let first = session.inputs().len();
        if let Some(text) = text {
            session.add_bytes(&name, text.as_bytes(), &mut progress);
        } else if let Some(bytes) = left_out {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            session.add_report(archive_left_out(&name, bytes as u64));
        } else {
            let blob = Reflect::get(&item, &"blob".into())
                .ok()
                .and_then(|v| v.dyn_into::<Blob>().ok())
                .ok_or_else(|| format!("{name}: the page sent neither a file nor text"))?;
            let len = read::blob_len(&blob);
            let mut head = Vec::new();
            read::read_range(&blob, 0, (SNIFF_BYTES as u64).min(len), &mut head)
                .await
                .map_err(|e| format!("{name}: {e}"))?;
            if looks_like_evtx(&head) {
                let (s, tee) = split::read_evtx(
                    &mut session,
                    &name,
                    &blob,
                    &head,
                    hashing,
                    parsing,
                    &mut progress,
                )
                .await
                .map_err(|e| format!("{name}: {e}"))?;
                spent = Some(s);
                if let Some(tee) = tee {
                    pending.push((first, blob, tee));
                }
            } else {
                read::read_done();
                session.add_seekable(&name, BlobReader::new(blob)?, len, &mut progress);
            }
        }
        // The time goes to the input's first row (an archive's own).
        rows.push((now_ms() - started, spent));
        for _ in first + 1..session.inputs().len() {
            rows.push((0.0, None));
        }
    }
    let started = now_ms();
    let diagnosis = session.finish(&DiagnoseOptions::default());
    let diagnose_ms = now_ms() - started;
    let inputs: Vec<InputRow> = session
        .inputs()
        .iter()
        .zip(rows)
        .map(|(report, (ms, spent))| InputRow::new(report, ms, spent))
        .collect();
    let hashing = !pending.is_empty();
    let mut outcome = outcome(&session, diagnosis, inputs, hashing);
    outcome.diagnose_ms = diagnose_ms;
    outcome.wasm_memory_bytes = wasm_memory_bytes();
    let later = hashing.then(|| Later {
        diagnosis: outcome.diagnosis.clone(),
        rows: outcome.inputs.clone(),
        pending,
    });
    Ok((outcome, later))
}

/// The outcome of `session`'s `diagnosis`, with the plan's offer made here by the analyzer;
/// `hashing`: some inputs' digests follow (the offer's targets then wait for them). What it
/// cost (`diagnose_ms`, `wasm_memory_bytes`) is the caller's to fill in.
fn outcome(
    session: &Session,
    diagnosis: Diagnosis,
    inputs: Vec<InputRow>,
    hashing: bool,
) -> Outcome {
    let mut offer = PlanOffer::for_diagnosis(session.catalog(), &diagnosis);
    if hashing {
        // A plan names the evidence by its digest: the targets come with the hashes.
        offer.targets = Err("the logs are still being hashed".to_owned());
    }
    Outcome {
        offer,
        diagnosis,
        inputs,
        diagnose_ms: 0.0,
        wasm_memory_bytes: 0,
        hashing,
    }
}

fn post(message: &FromWorker) {
    let json = match serde_json::to_string(message) {
        Ok(json) => json,
        Err(e) => format!(
            r#"{{"kind":"failed","message":"the worker could not encode its answer: {e}"}}"#
        ),
    };
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    // Posting a string cannot fail; if the page is gone there is no one to tell.
    let _ = scope.post_message(&JsValue::from_str(&json));
}

/// Progress messages at most every [`PROGRESS_EVERY_MS`], the first at once.
struct Throttle {
    last: f64,
}

impl Default for Throttle {
    fn default() -> Throttle {
        Throttle {
            last: f64::NEG_INFINITY,
        }
    }
}

impl Throttle {
    /// Whether a message is due now (always for the `final_one`).
    fn due(&mut self, final_one: bool) -> bool {
        let t = now_ms();
        let due = final_one || t - self.last >= PROGRESS_EVERY_MS;
        if due {
            self.last = t;
        }
        due
    }
}

fn wasm_memory_bytes() -> u64 {
    wasm_bindgen::memory()
        .dyn_into::<js_sys::WebAssembly::Memory>()
        .ok()
        .and_then(|m| m.buffer().dyn_into::<js_sys::ArrayBuffer>().ok())
        .map_or(0, |b| b.byte_length().into())
}

/// A `Blob` as `Read + Seek`: one slice of [`SLICE_BYTES`] in memory at a time.
struct BlobReader {
    blob: Blob,
    reader: FileReaderSync,
    len: u64,
    pos: u64,
    buf: Vec<u8>,
    buf_start: u64,
}

impl BlobReader {
    fn new(blob: Blob) -> Result<BlobReader, String> {
        let reader = FileReaderSync::new()
            .map_err(|_| "this browser cannot read files in a worker (no FileReaderSync)")?;
        let len = read::blob_len(&blob);
        Ok(BlobReader {
            blob,
            reader,
            len,
            pos: 0,
            buf: Vec::new(),
            buf_start: 0,
        })
    }

    fn fill(&mut self) -> io::Result<()> {
        let end = (self.pos + SLICE_BYTES).min(self.len);
        // Offsets below 2^53 are exact as f64.
        #[allow(clippy::cast_precision_loss)]
        let slice = self
            .blob
            .slice_with_f64_and_f64(self.pos as f64, end as f64)
            .map_err(|e| js_error("cannot slice the file", &e))?;
        let bytes = self
            .reader
            .read_as_array_buffer(&slice)
            .map_err(|e| js_error("cannot read the file", &e))?;
        self.buf = Uint8Array::new(&bytes).to_vec();
        self.buf_start = self.pos;
        Ok(())
    }
}

fn js_error(what: &str, e: &JsValue) -> io::Error {
    let detail = e
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_default();
    io::Error::other(format!("{what}: {detail}"))
}

impl Read for BlobReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len || out.is_empty() {
            return Ok(0);
        }
        let buf_end = self.buf_start + self.buf.len() as u64;
        if self.pos < self.buf_start || self.pos >= buf_end {
            self.fill()?;
        }
        let offset = usize::try_from(self.pos - self.buf_start).map_err(io::Error::other)?;
        let available = self.buf.get(offset..).unwrap_or_default();
        let n = available.len().min(out.len());
        if n == 0 {
            return Ok(0);
        }
        out.get_mut(..n)
            .unwrap_or_default()
            .copy_from_slice(available.get(..n).unwrap_or_default());
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for BlobReader {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.pos = seek_target(self.pos, self.len, to)?;
        Ok(self.pos)
    }
}
