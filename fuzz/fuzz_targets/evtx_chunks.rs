//! Binary .evtx files as the page reads them: chunk ranges parsed apart, merged in order. Must never panic.
//! The body is `testkit::fuzz::evtx_chunks`, replayed on `fuzz/seeds/evtx_chunks/` by a native test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| testkit::fuzz::evtx_chunks(data));
