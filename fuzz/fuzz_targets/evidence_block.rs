//! RDPFIX-EVIDENCE blocks and the input reader around them. Must never panic.
//! The body is `testkit::fuzz::evidence_block`, replayed on `fuzz/seeds/evidence_block/` by a native test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| testkit::fuzz::evidence_block(data));
