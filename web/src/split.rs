//! One `.evtx` read in the analysis worker through the analyzer's chunk-range API, on as
//! many workers as `?workers=N` asks, or by default as the machine has cores to spare
//! (`navigator.hardwareConcurrency` less [`CORES_LEFT`], at most [`DEFAULT_MAX_WORKERS`],
//! which is 1 until a split is measured to pay off; a file under [`SPLIT_FROM_CHUNKS`]
//! chunks stays on this one). The header
//! is checked by [`EvtxMerge::new`]; then the chunks go, in file order, either to this
//! worker — a batch of 16 chunks (1 MiB) read through one stream ([`crate::read`]) and
//! parsed with [`parse_evtx_chunks_reusing`] in the allocations of the events merged
//! before — or, a stripe of [`STRIPE`] batches at a time, to a
//! parsing helper (`js/read.js`: the same `worker.js`, named `parse`, handed the file),
//! which reads and parses the stripe itself ([`parse_stripe`]), observes its events in a
//! shard of its own session's collector where they were built, and posts the stripe's
//! [`ChunkPart`]s and that shard's bytes ([`Stripe`]): only what a rule keeps crosses, not
//! every event. Parts are merged in chunk order, each lent stripe's shard absorbed after
//! its parts, so the input's events, report and findings are those of a read in one go; at
//! most [`WINDOW`] ranges are between their start and their merge, so memory stays flat
//! whatever the file's size. A stripe is lent only while taking its answer in costs this
//! worker less than reading and parsing it ([`Costs`]); one a helper fails on, or whose
//! shard this worker's sink cannot load, is read and parsed here. The file's SHA-256 is
//! left to [`crate::hash`].

use crate::hash::{Hashing, Tee};
use crate::protocol::Spent;
use crate::read::{Ahead, blob_len, read_ahead, read_done, read_range};
use analyzer::Event;
use analyzer::diagnose::Session;
use analyzer::input::{
    ChunkPart, Details, EventSink, EventSpare, EvtxLayout, EvtxMerge, Progress, Shard,
    parse_evtx_chunks_reusing,
};
use js_sys::{Reflect, Uint8Array};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::ops::{ControlFlow, Range};
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
/// Cores left to the rest of the browser: the page, and the file being read — a Blob's
/// bytes reach this worker through the browser's own threads. On 2 cores a parsing helper
/// made a 100 MiB file slower, not faster (measured: BENCHMARKS.md, "Session 8 — page").
pub const CORES_LEFT: u32 = 2;
/// At most this many workers parse a file unless `?workers=N` asks for more: 1 for now.
/// Measured on 2 cores (BENCHMARKS.md, "Session 8 — page" and "Session 10") a
/// helper made both 100 MiB files slower — still, with helpers posting shards instead of
/// events: this worker's own parsing slowed by as much as the helper took off it — and a
/// 1 GiB file's renderer went from 241 MB to 266 MB, past the page's 256 MB; on 4 cores or
/// more nothing was measured. The split is tested (`large.test.mjs` asks for it) and stays
/// one constant away.
pub const DEFAULT_MAX_WORKERS: u32 = 1;
/// A file of fewer chunks (16 MiB) is parsed here alone: starting a helper costs more than
/// it saves.
pub const SPLIT_FROM_CHUNKS: u64 = 256;
/// Stripes out with each helper at most; beyond that this worker parses the next batch
/// itself.
const DEPTH: usize = 2;
/// Ranges (batches here, stripes lent) started but not yet merged, at most.
const WINDOW: usize = 8;

#[wasm_bindgen(module = "/js/read.js")]
extern "C" {
    #[wasm_bindgen(js_name = parseHelpers)]
    fn parse_helpers_js(module: &JsValue, want: u32) -> u32;
    #[wasm_bindgen(js_name = parseOut)]
    fn parse_out_js() -> u32;
    #[wasm_bindgen(js_name = parseSend)]
    fn parse_send_js(key: u32, blob: &Blob, job: &str) -> bool;
    #[wasm_bindgen(js_name = parseTake)]
    fn parse_take_js(key: u32) -> JsValue;
    #[wasm_bindgen(js_name = parseWait)]
    fn parse_wait_js(key: u32) -> js_sys::Promise;
    #[wasm_bindgen(js_name = parseStarted)]
    fn parse_started_js(key: u32) -> bool;
    #[wasm_bindgen(js_name = parseTakeBack)]
    fn parse_take_back_js(key: u32);
}

/// How a `.evtx` is parsed, where a test or a measurement says (the page's `?workers=N`
/// and `?lend=all`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Parsing {
    /// How many workers parse it (`None`: by the file's size and the machine's cores).
    pub workers: Option<u32>,
    /// Every stripe a helper has room for is lent and left to it, whatever it costs
    /// ([`Costs`]).
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
    let workers = workers_for(layout.chunks, parsing.workers, hardware_concurrency);
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
        details: merge.details(),
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
        spare: EventSpare::default(),
        done: Vec::new(),
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

/// Reads one `.evtx` held in memory into `session` as [`read_evtx`] reads a file on this
/// worker alone — checked by [`EvtxMerge`], its chunks parsed with
/// [`parse_evtx_chunks_reusing`] in `spare`'s allocations, merged, the events the session
/// is done with given back to `spare` — its report without a SHA-256. For the worker's
/// warm-up: the browser then compiles the code a file's analysis runs, not another's.
pub fn read_evtx_bytes(session: &mut Session, name: &str, bytes: &[u8], spare: &mut EventSpare) {
    let mut sink = session.input_sink();
    let mut progress = |_| ControlFlow::Continue(());
    let mut merge = EvtxMerge::new(
        name,
        bytes.get(..FILE_HEADER).unwrap_or(bytes),
        bytes.len() as u64,
        &mut sink,
        &mut progress,
    );
    let layout = merge.layout();
    let details = merge.details();
    let mut merged = true;
    let mut done = Vec::new();
    let mut from = 0;
    while merged && from < layout.chunks {
        let range = from..(from + BATCH).min(layout.chunks);
        for part in parse_vec(name, (0, bytes), &layout, &range, &details, spare) {
            if merge.push(part).is_break() {
                merged = false;
                break;
            }
        }
        give_back(&mut merge, &mut done, spare);
        from = range.end;
    }
    let (tail_at, tail_len) = layout.tail();
    let tail = match (
        usize::try_from(tail_at),
        usize::try_from(tail_at.saturating_add(tail_len)),
    ) {
        (Ok(at), Ok(end)) if merged => bytes.get(at..end).unwrap_or_default(),
        _ => &[],
    };
    let report = merge.finish(tail, None);
    drop(sink);
    session.add_report(report);
}

/// How many workers parse a file of `chunks` chunks: `asked` (for tests and measurements),
/// else the machine's `cores` less [`CORES_LEFT`] up to [`DEFAULT_MAX_WORKERS`], or 1 for a
/// small file; at least 1, at most [`MAX_WORKERS`] and one per batch.
fn workers_for(chunks: u64, asked: Option<u32>, cores: impl FnOnce() -> u32) -> u32 {
    let want = match asked {
        Some(n) => n,
        None if chunks < SPLIT_FROM_CHUNKS => 1,
        None => cores().saturating_sub(CORES_LEFT).min(DEFAULT_MAX_WORKERS),
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
    let cores = cores.clamp(1.0, 64.0) as u32;
    cores
}

/// What a parsing helper is told with each stripe: enough to read and parse it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Job {
    input: String,
    /// The file's first bytes (8 are enough for [`EvtxLayout::new`]) and its length.
    head: Vec<u8>,
    len: u64,
    /// What the merging side's sink asks ([`EvtxMerge::details`]).
    details: Details,
    /// The chunks.
    from: u64,
    to: u64,
}

/// Parsing helper: reads the chunks `job` (JSON, a [`Job`]) names from `blob`, batch by
/// batch through one stream, parses them and gives a [`Stripe`]'s bytes: the parts and,
/// where the sink makes shards that cross, the events observed where they were built — in
/// a shard of this helper's own session (the built-in catalog, as the analysis worker's) —
/// so that only what a rule keeps crosses back, not every event. The helper's session is
/// not judged at a given now: a shard crosses only to an analysis worker whose session is
/// not either (its `load` refuses another window, and the stripe is then parsed there).
#[wasm_bindgen]
pub async fn parse_stripe(blob: Blob, job: String) -> Result<Vec<u8>, JsValue> {
    let fail = |e: String| JsValue::from_str(&e);
    let job: Job = serde_json::from_str(&job).map_err(|e| fail(e.to_string()))?;
    let layout = EvtxLayout::new(&job.head, job.len);
    let details = job.details;
    let mut shard = HELPER_SESSION.with_borrow_mut(|session| {
        session
            .get_or_insert_with(Session::new)
            .input_sink()
            .shard()
            // Events given to a shard that cannot cross would be lost.
            .filter(|shard| shard.crosses())
    });
    let mut parts = Vec::new();
    let mut bytes = Vec::new();
    let mut spare = EventSpare::default();
    let mut done = Vec::new();
    let mut from = job.from;
    let read = async {
        while from < job.to {
            let to = (from + BATCH).min(job.to);
            let base = layout.chunk_offset(from);
            read_range(
                &blob,
                base,
                layout.chunk_offset(to).min(job.len),
                &mut bytes,
            )
            .await?;
            let batch = from..to;
            let input = &job.input;
            let mut batch_parts =
                parse_vec(input, (base, &bytes), &layout, &batch, &details, &mut spare);
            if let Some(shard) = shard.as_mut() {
                for part in &mut batch_parts {
                    part.observe(input, shard.as_mut());
                }
                shard.reclaim(&mut done);
                for event in done.drain(..) {
                    spare.give(event);
                }
            }
            parts.append(&mut batch_parts);
            from = to;
        }
        Ok::<(), String>(())
    }
    .await;
    read_done();
    read.map_err(fail)?;
    let collected = shard
        .as_ref()
        .map(|s| s.to_bytes())
        .transpose()
        .map_err(fail)?;
    Stripe::to_bytes(&parts, collected.as_deref()).map_err(fail)
}

thread_local! {
    /// A parsing helper's session, made as it starts ([`parse_warm`]): only its shards are
    /// used.
    static HELPER_SESSION: std::cell::RefCell<Option<Session>> =
        const { std::cell::RefCell::new(None) };
}

/// Parsing helper, once its module is ready (`static/worker.js`): makes the session whose
/// shards its stripes are observed in, so that parsing the catalog is not on the first
/// stripe's way.
#[wasm_bindgen]
pub fn parse_warm() {
    HELPER_SESSION.with_borrow_mut(|session| {
        session.get_or_insert_with(Session::new);
    });
}

/// A parsing helper's answer for one stripe: its parts, and what a shard observed of their
/// events (then taken out of the parts). On the wire: the parts' JSON length (4 bytes,
/// little-endian), the parts' JSON, then a byte saying whether a shard follows (1: its
/// bytes, [`analyzer::input::Shard`], to the end; 0: nothing, the parts hold their
/// events).
#[derive(Default)]
struct Stripe {
    parts: Vec<ChunkPart>,
    shard: Option<Box<dyn Shard>>,
}

impl Stripe {
    fn to_bytes(parts: &[ChunkPart], shard: Option<&[u8]>) -> Result<Vec<u8>, String> {
        let json = serde_json::to_vec(parts).map_err(|e| e.to_string())?;
        let len = u32::try_from(json.len()).map_err(|_| "a stripe's parts over 4 GiB")?;
        let mut out = Vec::with_capacity(5 + json.len() + shard.map_or(0, <[u8]>::len));
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&json);
        out.push(u8::from(shard.is_some()));
        out.extend_from_slice(shard.unwrap_or_default());
        Ok(out)
    }

    /// Reads a helper's answer; its shard, if any, is loaded into an empty shard of the
    /// merge's sink. `Err`: not such an answer, or a shard the sink cannot take.
    fn from_bytes(bytes: &[u8], merge: &EvtxMerge<'_>) -> Result<Stripe, String> {
        let (len, rest) = bytes
            .split_first_chunk::<4>()
            .ok_or("an answer cut short")?;
        let len = usize::try_from(u32::from_le_bytes(*len)).map_err(|e| e.to_string())?;
        let (json, collected) = (rest.get(..len), rest.get(len..));
        let (Some(json), Some(collected)) = (json, collected) else {
            return Err("an answer cut short".to_string());
        };
        let parts = serde_json::from_slice(json).map_err(|e| e.to_string())?;
        let shard = match collected.split_first() {
            Some((0, [])) => None,
            Some((1, collected)) => {
                let mut shard = merge
                    .shard()
                    .ok_or("a shard this file's sink cannot take")?;
                shard.load(collected)?;
                Some(shard)
            }
            _ => return Err("an answer that does not say whether a shard follows".to_string()),
        };
        Ok(Stripe { parts, shard })
    }
}

/// A range of chunks between its start and its merge.
enum Slot {
    /// A batch being read here.
    Reading(Range<u64>, Ahead),
    /// Parsed (here, or by a helper that answered).
    Parsed(Stripe),
    /// A stripe with a helper, under this key (its chunks: parsed here if the helper fails).
    Lent(u32, Range<u64>),
}

/// Keys of the stripes lent to helpers, unique in this worker.
static NEXT_KEY: AtomicU32 = AtomicU32::new(0);

/// Batches in a stripe a helper reads and parses (4 MiB: one stream each).
const STRIPE: u64 = 4;
/// Lend a stripe only while reading its parts back costs this worker less than this share
/// of reading and parsing it here.
const LEND_BELOW: f64 = 0.8;
/// After this many batches parsed here while lending did not pay, a stripe is lent again
/// (the costs change along a file: a stretch of records a rule lists makes parts heavy).
const PROBE_EVERY: u32 = 32;

/// What a batch costs this worker, read and parsed here or lent (taking the helper's answer
/// in: its parts and its shard), in milliseconds: running averages. Since the helpers
/// observe their events in shards, an answer is small whatever the records (about 0.6 ms a
/// batch of a log of listed records, against 15–35 ms when every event came back as JSON:
/// BENCHMARKS.md), so lending is expected to pay where a helper has a core of its own —
/// expected, not measured: on 2 cores it did not (see [`DEFAULT_MAX_WORKERS`]).
#[derive(Debug, Default)]
struct Costs {
    here: Option<f64>,
    lent: Option<f64>,
    /// Batches parsed here since a stripe was last lent.
    since_probe: u32,
}

impl Costs {
    fn note(average: &mut Option<f64>, ms: f64) {
        *average = Some(average.map_or(ms, |a| a * 0.75 + ms * 0.25));
    }

    /// Whether to lend the next stripe (when a helper has room).
    fn lend(&mut self) -> bool {
        let Some(here) = self.here else {
            // The first batch is parsed here (the helpers are starting).
            return false;
        };
        if self.lent.is_none_or(|lent| lent < here * LEND_BELOW) || self.since_probe >= PROBE_EVERY
        {
            self.since_probe = 0;
            return true;
        }
        false
    }
}

/// One file's chunks, read and parsed (here or by helpers) and merged in order.
struct Batches<'m, 'a> {
    merge: &'m mut EvtxMerge<'a>,
    tee: &'m mut Tee,
    blob: &'m Blob,
    layout: &'m EvtxLayout,
    spent: &'m mut Spent,
    /// The file's job; each stripe's sets its chunks.
    job: Job,
    /// Stripes out with the helpers at most (0: no helpers).
    depth: usize,
    /// The buffer batches parsed here are copied into.
    bytes: Vec<u8>,
    costs: Costs,
    lend_all: bool,
    /// The allocations of events merged, for the batches parsed here
    /// ([`parse_evtx_chunks_reusing`]).
    spare: EventSpare,
    done: Vec<Event>,
}

impl Batches<'_, '_> {
    /// Where chunks `range` lie in the file.
    fn bytes_of(&self, range: &Range<u64>) -> (u64, u64) {
        let start = self.layout.chunk_offset(range.start);
        (start, self.layout.chunk_offset(range.end).min(self.job.len))
    }

    /// Reads, parses and merges every chunk. `Ok(false)`: merging stopped.
    async fn run(&mut self) -> Result<bool, String> {
        let details = self.merge.details();
        let mut slots: VecDeque<Slot> = VecDeque::new();
        // The first chunk not yet started.
        let mut next = 0;
        loop {
            if !self.merge_ready(&mut slots, &details)? {
                return Ok(false);
            }
            if next >= self.layout.chunks && slots.is_empty() {
                return Ok(true);
            }
            self.start(&mut slots, &mut next)?;
            // Parse the batch being read (the next read starts first), or wait for the
            // first stripe out.
            let at = slots.iter().position(|s| matches!(s, Slot::Reading(..)));
            if let Some(slot) = at.and_then(|at| slots.get_mut(at)) {
                let Slot::Reading(range, read) =
                    std::mem::replace(slot, Slot::Parsed(Stripe::default()))
                else {
                    continue;
                };
                let t = now_ms();
                self.receive(&range, read).await?;
                self.start(&mut slots, &mut next)?;
                let parts = self.parse_here(&range, &details, t);
                if let Some(slot) = at.and_then(|at| slots.get_mut(at)) {
                    *slot = Slot::Parsed(Stripe { parts, shard: None });
                }
            } else if let Some(Slot::Lent(key, range)) = slots.front() {
                let (key, range) = (*key, range.clone());
                if self.lend_all || parse_started_js(key) {
                    let t = now_ms();
                    // Resolves; nothing to catch.
                    let _ = JsFuture::from(parse_wait_js(key)).await;
                    let now = now_ms();
                    self.spent.wait_ms += now - t;
                    self.spent.parse_ms += now - t;
                } else {
                    // Its helper is busy with another (a loaded machine): parsed here.
                    parse_take_back_js(key);
                    self.spent.lent -= u32::try_from(batches_in(&range)).unwrap_or(0);
                    self.spent.taken_back += 1;
                    let parts = self.read_back(&range, &details).await?;
                    if let Some(front) = slots.front_mut() {
                        *front = Slot::Parsed(Stripe { parts, shard: None });
                    }
                }
            }
        }
    }

    /// Starts what can be, from chunk `next` on: stripes lent while a helper has room and
    /// lending pays, else one batch read here (one read at a time).
    fn start(&mut self, slots: &mut VecDeque<Slot>, next: &mut u64) -> Result<(), String> {
        let chunks = self.layout.chunks;
        while *next < chunks && slots.len() < WINDOW {
            if self.depth > 0
                && (parse_out_js() as usize) < self.depth
                && (self.lend_all || self.costs.lend())
            {
                let range = *next..(*next + STRIPE * BATCH).min(chunks);
                let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
                let job = Job {
                    from: range.start,
                    to: range.end,
                    ..self.job.clone()
                };
                let text = serde_json::to_string(&job).map_err(|e| e.to_string())?;
                if parse_send_js(key, self.blob, &text) {
                    self.spent.lent += u32::try_from(batches_in(&range)).unwrap_or(u32::MAX);
                    *next = range.end;
                    slots.push_back(Slot::Lent(key, range));
                    continue;
                }
            }
            if slots.iter().any(|s| matches!(s, Slot::Reading(..))) {
                break;
            }
            let range = *next..(*next + BATCH).min(chunks);
            let (start, end) = self.bytes_of(&range);
            *next = range.end;
            slots.push_back(Slot::Reading(range, read_ahead(self.blob, start, end)));
        }
        Ok(())
    }

    /// Merges the ranges at the front that are parsed, in order. `Ok(false)`: merging
    /// stopped.
    fn merge_ready(
        &mut self,
        slots: &mut VecDeque<Slot>,
        details: &Details,
    ) -> Result<bool, String> {
        while let Some(front) = slots.front_mut() {
            let stripe = match front {
                Slot::Reading(..) => break,
                Slot::Parsed(stripe) => std::mem::take(stripe),
                Slot::Lent(key, range) => {
                    let answer = parse_take_js(*key);
                    if answer.is_undefined() {
                        break;
                    }
                    let range = range.clone();
                    self.lent_parts(&answer, &range, details)?
                }
            };
            slots.pop_front();
            let t = now_ms();
            let mut merged = true;
            for part in stripe.parts {
                if self.merge.push(part).is_break() {
                    merged = false;
                    break;
                }
            }
            if merged && let Some(mut shard) = stripe.shard {
                // What the helper observed of those parts' events, in their place.
                self.merge.absorb(&mut *shard);
            }
            give_back(self.merge, &mut self.done, &mut self.spare);
            let now = now_ms();
            self.spent.merge_ms += now - t;
            self.spent.parse_ms += now - t;
            if !merged {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Waits for the batch `read` brings and copies it into [`Batches::bytes`].
    async fn receive(&mut self, range: &Range<u64>, read: Ahead) -> Result<(), String> {
        let t = now_ms();
        let view = read.view().await?;
        let (start, _) = self.bytes_of(range);
        self.bytes.resize(view.length() as usize, 0);
        view.copy_to(&mut self.bytes);
        self.tee.lend_last_read(start, self.bytes.len());
        lap(&mut self.spent.read_ms, t);
        Ok(())
    }

    /// Parses the batch [`Batches::receive`] brought; `since`: when its reading was
    /// waited for (what the batch cost here counts from then).
    fn parse_here(&mut self, range: &Range<u64>, details: &Details, since: f64) -> Vec<ChunkPart> {
        let t = now_ms();
        let (start, _) = self.bytes_of(range);
        let parts = parse_vec(
            &self.job.input,
            (start, &self.bytes),
            self.layout,
            range,
            details,
            &mut self.spare,
        );
        let now = lap(&mut self.spent.parse_ms, t);
        #[allow(clippy::cast_precision_loss)]
        Costs::note(
            &mut self.costs.here,
            (now - since) / batches_in(range).max(1) as f64,
        );
        parts
    }

    /// Reads and parses chunks `range` here, batch by batch (a stripe taken back).
    async fn read_back(
        &mut self,
        range: &Range<u64>,
        details: &Details,
    ) -> Result<Vec<ChunkPart>, String> {
        let mut parts = Vec::new();
        let mut from = range.start;
        while from < range.end {
            let batch = from..(from + BATCH).min(range.end);
            let (start, end) = self.bytes_of(&batch);
            let t = now_ms();
            self.receive(&batch, read_ahead(self.blob, start, end))
                .await?;
            parts.extend(self.parse_here(&batch, details, t));
            from = batch.end;
        }
        Ok(parts)
    }

    /// A lent stripe from the helper's `answer`; where it failed (or its answer cannot be
    /// read), the stripe read again (outside the stream, which may be reading ahead) and
    /// parsed here.
    fn lent_parts(
        &mut self,
        answer: &JsValue,
        range: &Range<u64>,
        details: &Details,
    ) -> Result<Stripe, String> {
        let t = now_ms();
        if let Some(bytes) = answer.dyn_ref::<Uint8Array>()
            && let Ok(stripe) = Stripe::from_bytes(&bytes.to_vec(), self.merge)
        {
            let ms = lap(&mut self.spent.parse_ms, t) - t;
            self.spent.parts_ms += ms;
            self.spent.parts_bytes += u64::from(bytes.length());
            self.spent.shards += u32::from(stripe.shard.is_some());
            #[allow(clippy::cast_precision_loss)]
            Costs::note(&mut self.costs.lent, ms / batches_in(range).max(1) as f64);
            return Ok(stripe);
        }
        self.spent.refused += 1;
        let (start, end) = self.bytes_of(range);
        let bytes = read_sync(self.blob, start, end)?;
        let read = lap(&mut self.spent.read_ms, t);
        let parts = parse_vec(
            &self.job.input,
            (start, &bytes),
            self.layout,
            range,
            details,
            &mut self.spare,
        );
        let now = lap(&mut self.spent.parse_ms, read);
        // What lending this stripe cost: reading and parsing it here after all.
        #[allow(clippy::cast_precision_loss)]
        Costs::note(
            &mut self.costs.lent,
            (now - t) / batches_in(range).max(1) as f64,
        );
        Ok(Stripe { parts, shard: None })
    }
}

/// Gives `spare` the events the session behind `merge` is done with, to build the next ones
/// in (`done`: a list reused to carry them, left empty).
fn give_back(merge: &mut EvtxMerge<'_>, done: &mut Vec<Event>, spare: &mut EventSpare) {
    merge.reclaim(done);
    for event in done.drain(..) {
        spare.give(event);
    }
}

/// Batches (of [`BATCH`] chunks, counted from the file's first) that chunks `range` touch.
fn batches_in(range: &Range<u64>) -> u64 {
    range.end.div_ceil(BATCH) - range.start / BATCH
}

/// Parses chunks `range` from their `bytes` (the file's from `base`) into their parts,
/// building the events in `spare`'s allocations.
fn parse_vec(
    input: &str,
    (base, bytes): (u64, &[u8]),
    layout: &EvtxLayout,
    range: &Range<u64>,
    details: &Details,
    spare: &mut EventSpare,
) -> Vec<ChunkPart> {
    let mut parts = Vec::new();
    let each = &mut |part| {
        parts.push(part);
        ControlFlow::Continue(())
    };
    parse_evtx_chunks_reusing(
        bytes,
        base,
        layout,
        range.clone(),
        input,
        details,
        spare,
        each,
    );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_by_file_size_and_cores() {
        let big = 1600;
        assert_eq!(workers_for(big, None, || 2), 1, "2 cores: none to spare");
        assert_eq!(
            workers_for(big, None, || 64),
            DEFAULT_MAX_WORKERS.min(62),
            "by default no more than DEFAULT_MAX_WORKERS"
        );
        assert_eq!(
            workers_for(SPLIT_FROM_CHUNKS - 1, None, || 64),
            1,
            "a small file"
        );
        assert_eq!(workers_for(big, Some(3), || 2), 3, "as asked");
        assert_eq!(workers_for(20, Some(3), || 2), 2, "one per batch");
        assert_eq!(workers_for(0, Some(3), || 2), 1, "at least one");
    }

    #[test]
    fn lending_follows_the_costs_and_is_tried_again() {
        let mut costs = Costs::default();
        assert!(!costs.lend(), "the first batch is parsed here");
        Costs::note(&mut costs.here, 3.0);
        assert!(costs.lend(), "lent until its cost is known");
        Costs::note(&mut costs.lent, 10.0);
        assert!(!costs.lend(), "dearer than here");
        costs.since_probe = PROBE_EVERY;
        assert!(costs.lend(), "tried again");
        assert!(!costs.lend());
        for _ in 0..8 {
            Costs::note(&mut costs.lent, 0.1);
        }
        assert!(costs.lend(), "cheap again");
    }
}
