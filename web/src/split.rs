//! One `.evtx` read in the analysis worker through the analyzer's chunk-range API, on as
//! many workers as the machine has cores (`navigator.hardwareConcurrency`, at most
//! [`MAX_WORKERS`]; a file under [`SPLIT_FROM_CHUNKS`] chunks stays on this one). The header
//! is checked by [`EvtxMerge::new`]; then this worker reads the file in batches of 16
//! chunks (1 MiB), in order through one stream ([`crate::read`]), and either lends a batch's
//! buffer to a parsing helper (`js/read.js`: the same `worker.js`, named `parse`, which runs
//! [`parse_batch`] and posts the batch's [`ChunkPart`]s back as JSON) or, when the helpers
//! have [`DEPTH`] batches each, parses it here with [`read_evtx_chunks`]. Parts are merged
//! in chunk order, so the input's events, report and findings are those of a read in one
//! go; at most [`WINDOW`] batches are between the read and the merge, so memory stays flat
//! whatever the file's size. A batch a helper fails on is read again and parsed here. The
//! file's SHA-256 is left to [`crate::hash`].

use crate::hash::{Hashing, Tee};
use crate::protocol::Spent;
use crate::read::{Ahead, Window, blob_len, read_ahead, read_done, read_range, read_view};
use analyzer::diagnose::Session;
use analyzer::input::{ChunkPart, Details, EvtxLayout, EvtxMerge, Progress, read_evtx_chunks};
use js_sys::{Reflect, Uint8Array};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU32, Ordering};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, FileReaderSync};

/// Chunks per batch: 1 MiB read and parsed at a time.
const BATCH: u64 = 16;
/// What a file header occupies: the head handed to [`EvtxMerge::new`].
const FILE_HEADER: usize = 4096;
/// At most this many workers parse one file: the merge is this worker's alone, so more
/// would mostly wait (and each holds a wasm instance).
pub const MAX_WORKERS: u32 = 4;
/// A file of fewer chunks (16 MiB) is parsed here alone: starting a helper costs more than
/// it saves.
pub const SPLIT_FROM_CHUNKS: u64 = 256;
/// Batches out with each helper at most; beyond that this worker parses the next itself.
const DEPTH: usize = 2;
/// Batches read but not yet merged, at most.
const WINDOW: usize = 8;

#[wasm_bindgen(module = "/js/read.js")]
extern "C" {
    #[wasm_bindgen(js_name = parseHelpers)]
    fn parse_helpers_js(module: &JsValue, want: u32) -> u32;
    #[wasm_bindgen(js_name = parseOut)]
    fn parse_out_js() -> u32;
    #[wasm_bindgen(js_name = parseSend)]
    fn parse_send_js(key: u32, len: u32, job: &str) -> bool;
    #[wasm_bindgen(js_name = parseTake)]
    fn parse_take_js(key: u32) -> JsValue;
    #[wasm_bindgen(js_name = parseWait)]
    fn parse_wait_js(key: u32) -> js_sys::Promise;
}

/// How a `.evtx` is parsed, where a test or a measurement says (the page's `?workers=N`
/// and `?lend=all`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Parsing {
    /// How many workers parse it (`None`: by the file's size and the machine's cores).
    pub workers: Option<u32>,
    /// Every batch a helper has room for is lent, whatever it costs ([`Costs`]).
    pub lend_all: bool,
}

/// Reads one `.evtx` `blob` whose first bytes are `head` into `session`, its report without
/// its SHA-256: that is the returned [`Tee`]'s to finish (`None`: the file was not read to
/// the end, so it has none). `Err`: the file could not be read — the analysis as a whole
/// fails.
pub async fn read_evtx(
    session: &mut Session,
    name: &str,
    blob: &Blob,
    head: &[u8],
    hashing: Hashing,
    parsing: Parsing,
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> Result<(Spent, Option<Tee>), String> {
    let len = blob_len(blob);
    let mut tee = Tee::start(hashing);
    let mut sink = session.input_sink();
    let mut merge = EvtxMerge::new(
        name,
        head.get(..FILE_HEADER).unwrap_or(head),
        len,
        &mut sink,
        progress,
    );
    let layout = merge.layout();
    let first_chunk = usize::try_from(layout.chunk_offset(0)).unwrap_or(usize::MAX);
    tee.give(0, head.get(..first_chunk).unwrap_or(head));
    let workers = workers_for(layout.chunks, parsing.workers);
    let helpers = if workers > 1 {
        parse_helpers_js(&wasm_bindgen::module(), workers - 1)
    } else {
        0
    };
    let mut spent = Spent {
        workers: 1 + helpers,
        ..Spent::default()
    };
    let job = Job {
        input: name.to_owned(),
        head: head.get(..8).unwrap_or(head).to_vec(),
        len,
        details: DetailsWire::of(&merge.details()),
        base: 0,
        from: 0,
        to: 0,
    };
    let mut batches = Batches {
        merge: &mut merge,
        tee: &mut tee,
        blob,
        layout: &layout,
        spent: &mut spent,
        job,
        depth: DEPTH * helpers as usize,
        bytes: Vec::new(),
        costs: Costs::default(),
        lend_all: parsing.lend_all,
    };
    let merged = batches.run().await?;
    let (tail_at, tail_len) = layout.tail();
    let mut tail = Vec::new();
    if merged && tail_len > 0 {
        let t = now_ms();
        read_range(blob, tail_at, tail_at + tail_len, &mut tail).await?;
        tee.lend_last_read(tail_at, tail.len());
        lap(&mut spent.read_ms, t);
    }
    read_done();
    let report = merge.finish(&tail, None);
    drop(sink);
    session.add_report(report);
    Ok((spent, merged.then_some(tee)))
}

/// How many workers parse a file of `chunks` chunks: `asked` (for tests and measurements),
/// else the machine's cores, or 1 for a small file; at most [`MAX_WORKERS`] and one per
/// batch.
fn workers_for(chunks: u64, asked: Option<u32>) -> u32 {
    let want = match asked {
        Some(n) => n,
        None if chunks < SPLIT_FROM_CHUNKS => 1,
        None => hardware_concurrency(),
    };
    let batches = u32::try_from(chunks.div_ceil(BATCH)).unwrap_or(u32::MAX);
    want.min(MAX_WORKERS).min(batches).max(1)
}

/// `navigator.hardwareConcurrency` in this worker (1 when it does not say).
fn hardware_concurrency() -> u32 {
    let cores = Reflect::get(&js_sys::global(), &"navigator".into())
        .and_then(|n| Reflect::get(&n, &"hardwareConcurrency".into()))
        .ok()
        .and_then(|n| n.as_f64())
        .unwrap_or(1.0);
    // A small positive count of cores.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let cores = cores.clamp(1.0, f64::from(MAX_WORKERS)) as u32;
    cores
}

/// What a parsing helper is told with each batch: enough to run [`read_evtx_chunks`] on it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Job {
    input: String,
    /// The file's first bytes (8 are enough for [`EvtxLayout::new`]) and its length.
    head: Vec<u8>,
    len: u64,
    details: DetailsWire,
    /// Where the batch's bytes start in the file, and its chunks.
    base: u64,
    from: u64,
    to: u64,
}

/// [`Details`] as a helper is told it.
#[derive(Debug, Clone, Serialize, Deserialize)]
enum DetailsWire {
    All,
    Only(Vec<u16>),
    Counted(Vec<u16>),
}

impl DetailsWire {
    fn of(details: &Details) -> DetailsWire {
        match details {
            Details::All => DetailsWire::All,
            Details::Only(ids) => DetailsWire::Only(ids.iter().copied().collect()),
            Details::Counted(ids) => DetailsWire::Counted(ids.iter().copied().collect()),
        }
    }

    fn details(&self) -> Details {
        match self {
            DetailsWire::All => Details::All,
            DetailsWire::Only(ids) => Details::Only(ids.iter().copied().collect()),
            DetailsWire::Counted(ids) => Details::Counted(ids.iter().copied().collect()),
        }
    }
}

/// Parsing helper: parses the batch of chunks `job` (JSON, a [`Job`]) names from `bytes`
/// (the file's bytes at `job.base`) and gives their [`ChunkPart`]s as JSON.
#[wasm_bindgen]
pub fn parse_batch(bytes: &[u8], job: &str) -> Result<Vec<u8>, JsValue> {
    let job: Job = serde_json::from_str(job).map_err(|e| JsValue::from_str(&e.to_string()))?;
    let layout = EvtxLayout::new(&job.head, job.len);
    let parts = parse_vec(&job, bytes, &layout, &job.details.details());
    serde_json::to_vec(&parts).map_err(|e| JsValue::from_str(&e.to_string()))
}

fn parse(
    job: &Job,
    bytes: &[u8],
    layout: &EvtxLayout,
    details: &Details,
    each: &mut dyn FnMut(ChunkPart) -> ControlFlow<()>,
) {
    let window = Window {
        base: job.base,
        bytes,
        pos: job.base,
    };
    read_evtx_chunks(window, layout, job.from..job.to, &job.input, details, each);
}

/// A batch between its read and its merge.
enum Slot {
    /// Parsed here.
    Local(Vec<ChunkPart>),
    /// With a helper, under this key; the batch's job (to parse it here if the helper fails).
    Lent(u32, Job),
}

/// Keys of the batches lent to helpers, unique in this worker.
static NEXT_KEY: AtomicU32 = AtomicU32::new(0);

/// Lend a batch only while reading its parts back costs this worker less than this share
/// of parsing it here.
const LEND_BELOW: f64 = 0.8;
/// Every this many batches, the choice not taken is tried again (the costs change along a
/// file: a stretch of records a rule lists makes parts heavy).
const PROBE_EVERY: u32 = 16;

/// What a batch costs this worker, parsed here or lent (reading the helper's parts back, as
/// JSON), in milliseconds: running averages. The parts of a batch whose records are mostly
/// counted are small, and lending saves the parsing; a batch of records a rule lists gives
/// whole events, whose JSON costs more to read than the records did to parse (measured:
/// BENCHMARKS.md), so such a file is parsed here.
#[derive(Debug, Default)]
struct Costs {
    here: Option<f64>,
    lent: Option<f64>,
    since_probe: u32,
}

impl Costs {
    fn note(average: &mut Option<f64>, ms: f64) {
        *average = Some(average.map_or(ms, |a| a * 0.75 + ms * 0.25));
    }

    /// Whether to lend the next batch (when a helper has room).
    fn lend(&mut self) -> bool {
        let Some(here) = self.here else {
            // The first batch is parsed here (the helpers are starting).
            return false;
        };
        let lend = self.lent.is_none_or(|lent| lent < here * LEND_BELOW);
        self.since_probe += 1;
        if self.since_probe >= PROBE_EVERY {
            self.since_probe = 0;
            return !lend;
        }
        lend
    }
}

/// One file's batches, read, parsed (here or by helpers) and merged in order.
struct Batches<'m, 'a> {
    merge: &'m mut EvtxMerge<'a>,
    tee: &'m mut Tee,
    blob: &'m Blob,
    layout: &'m EvtxLayout,
    spent: &'m mut Spent,
    /// The file's job; each batch's sets where its bytes and chunks are.
    job: Job,
    /// Batches out with the helpers at most (0: no helpers).
    depth: usize,
    /// The buffer batches parsed here are copied into.
    bytes: Vec<u8>,
    costs: Costs,
    lend_all: bool,
}

impl Batches<'_, '_> {
    /// The job of batch `number`: its chunks and where their bytes are.
    fn batch(&self, number: u64) -> (Job, u64) {
        let from = number * BATCH;
        let to = (from + BATCH).min(self.layout.chunks);
        let base = self.layout.chunk_offset(from);
        let end = self.layout.chunk_offset(to).min(self.job.len);
        let job = Job {
            base,
            from,
            to,
            ..self.job.clone()
        };
        (job, end)
    }

    /// Reads, parses and merges every batch. `Ok(false)`: merging stopped.
    async fn run(&mut self) -> Result<bool, String> {
        let details = self.merge.details();
        let count = self.layout.chunks.div_ceil(BATCH);
        let mut slots: VecDeque<Slot> = VecDeque::new();
        let mut next = 0;
        // The read of batch `next`, when it is under way.
        let mut ahead: Option<Ahead> = None;
        loop {
            // Merge what is in, in order.
            while let Some(front) = slots.front_mut() {
                let parts = match front {
                    Slot::Local(parts) => std::mem::take(parts),
                    Slot::Lent(key, job) => {
                        let answer = parse_take_js(*key);
                        if answer.is_undefined() {
                            break;
                        }
                        let job = job.clone();
                        self.lent_parts(&answer, &job, &details)?
                    }
                };
                slots.pop_front();
                let t = now_ms();
                let mut merged = true;
                for part in parts {
                    if self.merge.push(part).is_break() {
                        merged = false;
                        break;
                    }
                }
                let now = now_ms();
                self.spent.merge_ms += now - t;
                self.spent.parse_ms += now - t;
                if !merged {
                    return Ok(false);
                }
            }
            if next >= count && slots.is_empty() {
                return Ok(true);
            }
            if next >= count || slots.len() >= WINDOW {
                if let Some(Slot::Lent(key, _)) = slots.front() {
                    let t = now_ms();
                    // Resolves; nothing to catch.
                    let _ = JsFuture::from(parse_wait_js(*key)).await;
                    let now = now_ms();
                    self.spent.wait_ms += now - t;
                    self.spent.parse_ms += now - t;
                }
                continue;
            }
            let (job, end) = self.batch(next);
            let t = now_ms();
            let view = match ahead.take() {
                Some(read) => read.view().await?,
                None => read_view(self.blob, job.base, end).await?,
            };
            lap(&mut self.spent.read_ms, t);
            next += 1;
            let n = view.length();
            // The next read starts once this one's buffer is lent or copied.
            let read_next = |this: &Self| {
                (next < count).then(|| {
                    let (job, end) = this.batch(next);
                    read_ahead(this.blob, job.base, end)
                })
            };
            if self.depth > 0
                && (parse_out_js() as usize) < self.depth
                && (self.lend_all || self.costs.lend())
            {
                let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
                let text = serde_json::to_string(&job).map_err(|e| e.to_string())?;
                self.tee.copy_last_read(job.base, n as usize);
                if parse_send_js(key, n, &text) {
                    slots.push_back(Slot::Lent(key, job));
                    self.spent.lent += 1;
                    ahead = read_next(self);
                    continue;
                }
            }
            self.bytes.resize(n as usize, 0);
            view.copy_to(&mut self.bytes);
            self.tee.lend_last_read(job.base, self.bytes.len());
            ahead = read_next(self);
            let t = now_ms();
            let parts = parse_vec(&job, &self.bytes, self.layout, &details);
            let ms = lap(&mut self.spent.parse_ms, t) - t;
            Costs::note(&mut self.costs.here, ms);
            slots.push_back(Slot::Local(parts));
        }
    }

    /// A lent batch's parts from the helper's `answer`; where it failed (or its answer
    /// cannot be read), the batch read again (outside the stream, which may be reading
    /// ahead) and parsed here.
    fn lent_parts(
        &mut self,
        answer: &JsValue,
        job: &Job,
        details: &Details,
    ) -> Result<Vec<ChunkPart>, String> {
        let t = now_ms();
        if let Some(json) = answer.dyn_ref::<Uint8Array>()
            && let Ok(parts) = serde_json::from_slice::<Vec<ChunkPart>>(&json.to_vec())
        {
            let ms = lap(&mut self.spent.parse_ms, t) - t;
            self.spent.parts_ms += ms;
            self.spent.parts_bytes += u64::from(json.length());
            Costs::note(&mut self.costs.lent, ms);
            return Ok(parts);
        }
        let end = self.layout.chunk_offset(job.to).min(job.len);
        let bytes = read_sync(self.blob, job.base, end)?;
        let t = lap(&mut self.spent.read_ms, t);
        let parts = parse_vec(job, &bytes, self.layout, details);
        lap(&mut self.spent.parse_ms, t);
        Ok(parts)
    }
}

/// Parses the batch `job` names from its `bytes` into its parts.
fn parse_vec(job: &Job, bytes: &[u8], layout: &EvtxLayout, details: &Details) -> Vec<ChunkPart> {
    let mut parts = Vec::new();
    parse(job, bytes, layout, details, &mut |part| {
        parts.push(part);
        ControlFlow::Continue(())
    });
    parts
}

/// Bytes `[start, end)` of `blob`, read at once with `FileReaderSync`.
fn read_sync(blob: &Blob, start: u64, end: u64) -> Result<Vec<u8>, String> {
    let fail = |e: JsValue| {
        format!(
            "cannot read the file at byte {start}: {}",
            crate::keys::describe(&e)
        )
    };
    let reader = FileReaderSync::new().map_err(fail)?;
    // Offsets below 2^53 are exact as f64.
    #[allow(clippy::cast_precision_loss)]
    let slice = blob
        .slice_with_f64_and_f64(start as f64, end as f64)
        .map_err(fail)?;
    let buffer = reader.read_as_array_buffer(&slice).map_err(fail)?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// The worker's clock, in milliseconds (its `performance.now()`), for the times an input
/// row reports.
pub(crate) fn now_ms() -> f64 {
    let scope: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    scope
        .performance()
        .map_or_else(js_sys::Date::now, |p| p.now())
}

/// Adds the milliseconds since `since` to `total`; returns now.
pub fn lap(total: &mut f64, since: f64) -> f64 {
    let now = now_ms();
    *total += now - since;
    now
}
