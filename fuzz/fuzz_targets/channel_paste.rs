//! Untrusted pasted text as Run Command and Serial Console return it: `az` JSON (whole or
//! cut), `Invoke-AzVMRunCommand` listings, SAC captures with prompts, through the whole
//! input reader. Must never panic. The same properties run in CI as proptests
//! (`analyzer/tests/channel_props.rs`).
//!
//! Register in `fuzz/Cargo.toml` as `[[bin]] name = "channel_paste"`, with `analyzer` as a
//! dependency of the fuzz crate.
#![no_main]

use analyzer::input::{no_progress, read_bytes};
use libfuzzer_sys::fuzz_target;

/// Prefixes that steer the reader into each unwrapping path.
const PREFIXES: [&[u8]; 4] = [
    b"{\"value\": [{\"code\": \"ComponentStatus/StdOut/succeeded\", \"message\": \"",
    b"Value[0]        :\r\n  Code          : ComponentStatus/StdOut/succeeded\r\n  Message       : ",
    b"SAC>cmd\r\nC:\\Windows\\system32>",
    b"",
];

fuzz_target!(|data: &[u8]| {
    let (choice, rest) = data.split_first().unwrap_or((&3, &[]));
    let prefix = PREFIXES.get(usize::from(*choice) % PREFIXES.len()).copied().unwrap_or_default();
    let mut text = prefix.to_vec();
    text.extend_from_slice(rest);
    let _ = read_bytes("fuzz", &text, &mut Vec::new(), &mut no_progress);
});
