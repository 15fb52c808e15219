//! Plan input as the fixer reads it (token, plan file, fix command) and key texts. Must never panic.
//! The body is `testkit::fuzz::plan_envelope`, replayed on `fuzz/seeds/plan_envelope/` by a native test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| testkit::fuzz::plan_envelope(data));
