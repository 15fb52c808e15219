//! Zip archives of logs, member by member through the normal readers, as the page and
//! `fixer diagnose` open them. Must never panic. The body is `testkit::fuzz::archive`,
//! replayed on `fuzz/seeds/archive/` by a native test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| testkit::fuzz::archive(data));
