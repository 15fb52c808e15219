//! One `.evtx` read in the analysis worker through the analyzer's chunk-range API: the
//! header checked by [`EvtxMerge::new`], then batches of 16 chunks (1 MiB) read in order
//! through one stream and one reused buffer ([`crate::read`]), parsed by
//! [`read_evtx_chunks`] with the sink's [`Details`](analyzer::input::Details) and merged in
//! order, so memory stays flat whatever the file's size. The file's SHA-256 is left to
//! [`crate::hash`].

use crate::hash::{Hashing, Tee};
use crate::protocol::Spent;
use crate::read::{Window, blob_len, read_done, read_range};
use analyzer::diagnose::Session;
use analyzer::input::{EvtxLayout, EvtxMerge, Progress, read_evtx_chunks};
use std::ops::ControlFlow;
use wasm_bindgen::JsCast;
use web_sys::Blob;

/// Chunks per batch: 1 MiB read and parsed at a time.
const BATCH: u64 = 16;
/// What a file header occupies: the head handed to [`EvtxMerge::new`].
const FILE_HEADER: usize = 4096;

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
    let mut spent = Spent::default();
    let merged = parse_here(&mut merge, &mut tee, blob, name, &layout, &mut spent).await?;
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

/// Reads, parses and merges the file batch by batch. `Ok(false)`: merging stopped.
async fn parse_here(
    merge: &mut EvtxMerge<'_>,
    tee: &mut Tee,
    blob: &Blob,
    name: &str,
    layout: &EvtxLayout,
    spent: &mut Spent,
) -> Result<bool, String> {
    let details = merge.details();
    let len = blob_len(blob);
    let mut bytes = Vec::new();
    for batch in 0..layout.chunks.div_ceil(BATCH) {
        let from = batch * BATCH;
        let to = (from + BATCH).min(layout.chunks);
        let start = layout.chunk_offset(from);
        let end = layout.chunk_offset(to).min(len);
        let t = now_ms();
        read_range(blob, start, end, &mut bytes).await?;
        tee.lend_last_read(start, bytes.len());
        let t = lap(&mut spent.read_ms, t);
        let mut merged = true;
        read_evtx_chunks(
            Window {
                base: start,
                bytes: &bytes,
                pos: start,
            },
            layout,
            from..to,
            name,
            &details,
            &mut |part| {
                let go = merge.push(part);
                merged &= go.is_continue();
                go
            },
        );
        lap(&mut spent.parse_ms, t);
        if !merged {
            return Ok(false);
        }
    }
    Ok(true)
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
