//! Untrusted pasted text as the paste box reads it when it holds an `RDPFIX-EVIDENCE`
//! block: finding and decoding blocks, and the whole input reader around them. Must never
//! panic. The same properties run in CI as proptests
//! (`analyzer/tests/evidence_block_props.rs`).
//!
//! Register in `fuzz/Cargo.toml` as `[[bin]] name = "evidence_block"`, with `analyzer` as a
//! dependency of the fuzz crate.
#![no_main]

use analyzer::evidence_block::find_blocks;
use analyzer::input::{no_progress, read_bytes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Give the block reader a head start: most inputs should reach past the marker.
    let mut text = b"RDPFIX-EVIDENCE v1: 1 events, 0 left out\n".to_vec();
    text.extend_from_slice(data);
    let _ = find_blocks(&String::from_utf8_lossy(&text), "fuzz");
    let _ = read_bytes("fuzz", &text, &mut Vec::new(), &mut no_progress);
    let _ = read_bytes("fuzz", data, &mut Vec::new(), &mut no_progress);
});
