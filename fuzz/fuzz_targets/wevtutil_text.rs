//! wevtutil /f:text and label-and-value text in any language. Must never panic.
//! The body is `testkit::fuzz::wevtutil_text`, replayed on `fuzz/seeds/wevtutil_text/` by a native test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| testkit::fuzz::wevtutil_text(data));
