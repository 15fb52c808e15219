//! Binary .evtx files, chunk by chunk, read whole and as diagnoses read them. Must never panic.
//! The body is `testkit::fuzz::evtx`, replayed on `fuzz/seeds/evtx/` by a native test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| testkit::fuzz::evtx(data));
