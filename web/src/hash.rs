//! A `.evtx`'s SHA-256 for its input report. The findings do not wait for it: the worker
//! posts them, then the hashes ([`crate::protocol::Hashed`]), which only the plan needs.
//! On a machine with cores to spare it is computed beside the parsing, on a helper worker
//! (`js/read.js`: the same `worker.js`, named `hash`) lent each read's buffer once its bytes
//! are copied into wasm ([`Tee`]), so the file is read once; the helper runs
//! [`hash_begin`], [`hash_update`] and [`hash_end`]. Otherwise, or where the helper fails,
//! the analysis worker reads the file again after the findings are out and hashes it.

use crate::read::{blob_len, read_done, read_range};
use js_sys::{Reflect, Uint8Array};
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::HashMap;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

/// How much of the file one read brings when hashing alone.
const STEP: u64 = 1024 * 1024;

#[wasm_bindgen(module = "/js/read.js")]
extern "C" {
    #[wasm_bindgen(js_name = hashBegin)]
    fn hash_begin_js(module: &JsValue, hashing: &str) -> i32;
    #[wasm_bindgen(js_name = hashLendLast)]
    fn hash_lend_last_js(id: i32, len: u32) -> bool;
    #[wasm_bindgen(js_name = hashGive)]
    fn hash_give_js(id: i32, bytes: Uint8Array) -> bool;
    #[wasm_bindgen(js_name = hashEnd)]
    fn hash_end_js(id: i32, blob: &Blob, from: f64) -> js_sys::Promise;
}

thread_local! {
    /// The helper's hashes in progress, by the id the analysis worker gave them.
    static HASHES: RefCell<HashMap<u32, Sha256>> = RefCell::new(HashMap::new());
}

/// Helper: starts hash `id`.
#[wasm_bindgen]
pub fn hash_begin(id: u32) {
    HASHES.with_borrow_mut(|h| h.insert(id, Sha256::new()));
}

/// Helper: the next bytes of hash `id`.
#[wasm_bindgen]
pub fn hash_update(id: u32, bytes: &[u8]) {
    HASHES.with_borrow_mut(|h| {
        if let Some(hasher) = h.get_mut(&id) {
            hasher.update(bytes);
        }
    });
}

/// Helper: reads bytes `from..` of `blob` into hash `id` and gives its SHA-256.
#[wasm_bindgen]
pub async fn hash_end(id: u32, blob: Blob, from: f64) -> Result<String, JsValue> {
    let hasher = HASHES
        .with_borrow_mut(|h| h.remove(&id))
        .ok_or_else(|| JsValue::from_str("no such hash was begun"))?;
    // A byte offset the analysis worker counted: integral, below 2^53.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let from = from as u64;
    hash_rest(hasher, &blob, from, &mut |_| {})
        .await
        .map_err(|e| JsValue::from_str(&e))
}

/// Where and when a `.evtx`'s SHA-256 is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hashing {
    /// On the helper where the machine has cores to spare (4 or more), else after.
    Auto,
    /// On the helper, beside the parsing (after, where no helper can start).
    Helper,
    /// After the findings are shown, by reading the file again: on 2 cores a helper only
    /// competes with the parsing and with the browser reading the file, and hashing on the
    /// way delays the findings by the hash (measured: BENCHMARKS.md).
    After,
}

impl Hashing {
    /// `"helper"`, `"after"`, anything else: auto.
    pub fn named(name: Option<&str>) -> Hashing {
        match name {
            Some("helper") => Hashing::Helper,
            Some("after") => Hashing::After,
            _ => Hashing::Auto,
        }
    }
}

/// The analysis worker's side: the bytes it reads, in file order, are lent to the helper;
/// without one the hash waits for [`Tee::finish`].
#[derive(Debug)]
pub struct Tee {
    /// The helper's id for this hash; `None`: hashed at the end, here.
    helper: Option<i32>,
    /// The helper has bytes `0..fed`.
    fed: u64,
}

impl Tee {
    /// Begins a hash on the helper where `hashing` says and one can start.
    pub fn start(hashing: Hashing) -> Tee {
        let id = match hashing {
            Hashing::After => -1,
            Hashing::Auto => hash_begin_js(&wasm_bindgen::module(), "auto"),
            Hashing::Helper => hash_begin_js(&wasm_bindgen::module(), "helper"),
        };
        Tee {
            helper: (id >= 0).then_some(id),
            fed: 0,
        }
    }

    /// Bytes at file offset `at`: the helper gets a copy of those it lacks next.
    pub fn give(&mut self, at: u64, bytes: &[u8]) {
        let Some(id) = self.helper else { return };
        let skip = self
            .fed
            .checked_sub(at)
            .and_then(|s| usize::try_from(s).ok());
        let Some(new) = skip.and_then(|s| bytes.get(s..)).filter(|b| !b.is_empty()) else {
            return;
        };
        if hash_give_js(id, Uint8Array::from(new)) {
            self.fed += new.len() as u64;
        }
    }

    /// The last [`read_range`] read `len` bytes at `at` (and they were copied): if they are
    /// the next ones, the helper is lent its buffer.
    pub fn lend_last_read(&mut self, at: u64, len: usize) {
        let Some(id) = self.helper else { return };
        if at == self.fed && len > 0 && u32::try_from(len).is_ok_and(|n| hash_lend_last_js(id, n)) {
            self.fed += len as u64;
        }
    }

    /// The SHA-256 of the whole of `blob` in lowercase hex, and the milliseconds the helper
    /// spent on it: the helper's (it reads what it was not lent), or, without one or where
    /// it failed, computed here by reading the file (again), telling `hashed` how many bytes
    /// are done as it goes.
    pub async fn finish(
        self,
        blob: &Blob,
        hashed: &mut dyn FnMut(u64),
    ) -> Result<(String, f64), String> {
        if let Some(id) = self.helper {
            // Offsets below 2^53 are exact as f64.
            #[allow(clippy::cast_precision_loss)]
            let answer = JsFuture::from(hash_end_js(id, blob, self.fed as f64)).await;
            let field = |v: &JsValue, key: &str| Reflect::get(v, &key.into()).ok();
            if let Ok(answer) = answer
                && let Some(hex) = field(&answer, "sha256")
                    .and_then(|v| v.as_string())
                    .filter(|h| is_sha256_hex(h))
            {
                let busy = field(&answer, "busyMs")
                    .and_then(|v| v.as_f64())
                    .unwrap_or(0.0);
                return Ok((hex, busy));
            }
        }
        Ok((hash_rest(Sha256::new(), blob, 0, hashed).await?, 0.0))
    }
}

fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Reads bytes `from..` of `blob` in order into `hasher` and finishes it; `hashed` hears
/// how far it is.
async fn hash_rest(
    mut hasher: Sha256,
    blob: &Blob,
    from: u64,
    hashed: &mut dyn FnMut(u64),
) -> Result<String, String> {
    let len = blob_len(blob);
    let mut buf = Vec::new();
    let mut at = from;
    let read = async {
        while at < len {
            read_range(blob, at, (at + STEP).min(len), &mut buf).await?;
            if buf.is_empty() {
                return Err(format!(
                    "the file ended at byte {at} while it should hold {len}"
                ));
            }
            hasher.update(&buf);
            at += buf.len() as u64;
            hashed(at);
        }
        Ok(())
    }
    .await;
    read_done();
    read?;
    Ok(hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect())
}
