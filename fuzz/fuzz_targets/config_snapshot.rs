//! RDPFIX-CONFIG snapshots, the reader around them and the rules that read them. Must never
//! panic. The body is `testkit::fuzz::config_snapshot`, replayed on
//! `fuzz/seeds/config_snapshot/` by a native test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| testkit::fuzz::config_snapshot(data));
