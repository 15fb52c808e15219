//! The fix token alone and the line-by-line paste reader. Must never panic.
//! The body is `testkit::fuzz::fix_token`, replayed on `fuzz/seeds/fix_token/` by a native test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| testkit::fuzz::fix_token(data));
