//! The paste box's whole pipeline: pasted text to diagnosis, plan and preview. Must never panic.
//! The body is `testkit::fuzz::paste`, replayed on `fuzz/seeds/paste/` by a native test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| testkit::fuzz::paste(data));
