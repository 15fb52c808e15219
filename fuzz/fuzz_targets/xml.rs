//! wevtutil and Event Viewer XML. Must never panic.
//! The body is `testkit::fuzz::xml`, replayed on `fuzz/seeds/xml/` by a native test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| testkit::fuzz::xml(data));
