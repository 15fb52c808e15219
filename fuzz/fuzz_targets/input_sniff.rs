//! Any bytes through format recognition, in memory and seekable. Must never panic.
//! The body is `testkit::fuzz::input_sniff`, replayed on `fuzz/seeds/input_sniff/` by a native test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| testkit::fuzz::input_sniff(data));
