//! One `.evtx` read in the analysis worker through the analyzer's chunk-range API: the
//! header checked by [`EvtxMerge::new`], then batches of 16 chunks (1 MiB) read through one
//! reused buffer ([`crate::read`]), parsed by [`read_evtx_chunks`] with the sink's
//! [`Details`](analyzer::input::Details) and merged in order, the same bytes hashed for the input's SHA-256 on the way,
//! so memory stays flat whatever the file's size. The batches are the unit several parsing
//! workers would share; the page reads with this one worker for now.

use crate::read::{Window, blob_len, read_range};
use analyzer::diagnose::Session;
use analyzer::input::{EvtxLayout, EvtxMerge, Progress, read_evtx_chunks};
use sha2::{Digest, Sha256};
use std::ops::ControlFlow;
use web_sys::Blob;

/// Chunks per batch: 1 MiB read and parsed at a time.
const BATCH: u64 = 16;
/// How much of the file is read at a time for its SHA-256 alone (the header, the tail).
const HASH_STEP: u64 = 2 * 1024 * 1024;
/// What a file header occupies: the head handed to [`EvtxMerge::new`].
const FILE_HEADER: usize = 4096;

/// Whether `head` (the first 4104 bytes, or all) starts an `.evtx`: the file magic, or a
/// chunk's where the header was lost (at 0, or at 4096 behind a destroyed header). The same
/// test the analyzer's own reader makes.
pub fn looks_like_evtx(head: &[u8]) -> bool {
    const FILE_MAGIC: &[u8] = b"ElfFile\0";
    const CHUNK_MAGIC: &[u8] = b"ElfChnk\0";
    head.starts_with(FILE_MAGIC)
        || head.starts_with(CHUNK_MAGIC)
        || head.get(FILE_HEADER..FILE_HEADER + 8) == Some(CHUNK_MAGIC)
}

/// Reads one `.evtx` `blob` whose first bytes are `head` into `session`. `Err`: the file
/// could not be read — the analysis as a whole fails.
pub async fn read_evtx(
    session: &mut Session,
    name: &str,
    blob: &Blob,
    head: &[u8],
    progress: &mut dyn FnMut(Progress) -> ControlFlow<()>,
) -> Result<(), String> {
    let len = blob_len(blob);
    let mut sink = session.input_sink();
    let mut merge = EvtxMerge::new(
        name,
        head.get(..FILE_HEADER).unwrap_or(head),
        len,
        &mut sink,
        progress,
    );
    let layout = merge.layout();
    let batches = layout.chunks.div_ceil(BATCH);
    let mut hash = Hashing::new(blob, len);
    let merged = parse_here(&mut merge, &mut hash, name, &layout, batches).await?;
    let sha256 = if merged {
        hash.rest().await?;
        Some(hash.hex())
    } else {
        None
    };
    let (tail_at, tail_len) = layout.tail();
    let mut tail = Vec::new();
    if merged && tail_len > 0 {
        read_range(blob, tail_at, tail_at + tail_len, &mut tail).await?;
    }
    let report = merge.finish(&tail, sha256);
    drop(sink);
    session.add_report(report);
    Ok(())
}

/// Reads, hashes, parses and merges the file batch by batch. `Ok(false)`: merging stopped.
async fn parse_here(
    merge: &mut EvtxMerge<'_>,
    hash: &mut Hashing<'_>,
    name: &str,
    layout: &EvtxLayout,
    batches: u64,
) -> Result<bool, String> {
    hash.upto(layout.chunk_offset(0)).await?;
    let details = merge.details();
    let mut bytes = Vec::new();
    for batch in 0..batches {
        let from = batch * BATCH;
        let to = (from + BATCH).min(layout.chunks);
        let start = layout.chunk_offset(from);
        let end = layout.chunk_offset(to).min(hash.len);
        read_range(hash.blob, start, end, &mut bytes).await?;
        hash.feed(start, &bytes);
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
        if !merged {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The whole file's SHA-256, read in order through the reused buffer.
struct Hashing<'b> {
    blob: &'b Blob,
    len: u64,
    hasher: Sha256,
    done: u64,
    buf: Vec<u8>,
}

impl<'b> Hashing<'b> {
    fn new(blob: &'b Blob, len: u64) -> Hashing<'b> {
        Hashing {
            blob,
            len,
            hasher: Sha256::new(),
            done: 0,
            buf: Vec::new(),
        }
    }

    /// Bytes read elsewhere starting at `at`: hashed when they are the next ones.
    fn feed(&mut self, at: u64, bytes: &[u8]) {
        if at == self.done {
            self.hasher.update(bytes);
            self.done += bytes.len() as u64;
        }
    }

    /// Reads and hashes the next [`HASH_STEP`] bytes, at most up to `until`.
    async fn step_to(&mut self, until: u64) -> Result<(), String> {
        let end = (self.done + HASH_STEP).min(until).min(self.len);
        if end <= self.done {
            return Ok(());
        }
        let mut buf = std::mem::take(&mut self.buf);
        read_range(self.blob, self.done, end, &mut buf).await?;
        if buf.is_empty() {
            self.buf = buf;
            return Err(format!(
                "the file ended at byte {} while it should hold {}",
                self.done, self.len
            ));
        }
        let at = self.done;
        self.feed(at, &buf);
        self.buf = buf;
        Ok(())
    }

    async fn upto(&mut self, until: u64) -> Result<(), String> {
        while self.done < until.min(self.len) {
            self.step_to(until).await?;
        }
        Ok(())
    }

    async fn rest(&mut self) -> Result<(), String> {
        self.upto(self.len).await
    }

    fn hex(&self) -> String {
        self.hasher
            .clone()
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}
