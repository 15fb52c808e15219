//! Reading a `Blob` in a worker: byte ranges through a BYOB stream into one reused buffer
//! (`js/read.js`).

use js_sys::Uint8Array;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::Blob;

#[wasm_bindgen(module = "/js/read.js")]
extern "C" {
    #[wasm_bindgen(js_name = readRange)]
    fn read_range_js(blob: &Blob, start: f64, end: f64) -> js_sys::Promise;
    #[wasm_bindgen(js_name = readDone)]
    fn read_done_js();
}

/// Lets go of the stream [`read_range`] keeps open for the next read in order.
pub fn read_done() {
    read_done_js();
}

/// A `Blob`'s size in bytes.
pub fn blob_len(blob: &Blob) -> u64 {
    // A Blob's size is an integral number of bytes below 2^53.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let len = blob.size() as u64;
    len
}

/// Reads bytes `[start, end)` of `blob` into `out` (replacing what it held); shorter only
/// where the blob ends. A read that starts where the last one stopped (or up to 64 bytes
/// before) goes on through the same stream (`js/read.js`), so reading a file in order costs
/// one stream.
pub async fn read_range(
    blob: &Blob,
    start: u64,
    end: u64,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let view = read_view(blob, start, end).await?;
    // No `clear` first: refilling a reused buffer of the same size must not zero it (that
    // memset was 12% of the worker's time on a 100 MiB file); `copy_to` overwrites it all.
    out.resize(view.length() as usize, 0);
    view.copy_to(out);
    Ok(())
}

/// [`read_range`] without the copy into wasm: a view of the reused buffer, valid until the
/// next read or until it is lent (`js/read.js`).
pub async fn read_view(blob: &Blob, start: u64, end: u64) -> Result<Uint8Array, String> {
    read_ahead(blob, start, end).view().await
}

/// Starts reading bytes `[start, end)` of `blob` now (the browser goes on while this worker
/// parses); [`Ahead::view`] waits for them. Only one read may be under way at a time.
pub fn read_ahead(blob: &Blob, start: u64, end: u64) -> Ahead {
    // Offsets below 2^53 are exact as f64.
    #[allow(clippy::cast_precision_loss)]
    let promise = read_range_js(blob, start as f64, end as f64);
    Ahead {
        start,
        read: JsFuture::from(promise),
    }
}

/// A read under way ([`read_ahead`]).
#[derive(Debug)]
pub struct Ahead {
    start: u64,
    read: JsFuture,
}

impl Ahead {
    /// The bytes, as [`read_view`] gives them.
    pub async fn view(self) -> Result<Uint8Array, String> {
        let start = self.start;
        let view = self.read.await.map_err(|e| {
            format!(
                "cannot read the file at byte {start}: {}",
                crate::keys::describe(&e)
            )
        })?;
        view.dyn_into()
            .map_err(|_| format!("cannot read the file at byte {start}: no bytes came back"))
    }
}
