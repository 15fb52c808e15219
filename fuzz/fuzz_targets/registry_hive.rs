//! Offline registry hives (`regf`): the reader, the snapshot read from them, and the rules
//! that judge it. Must never panic. The body is `testkit::fuzz::registry_hive`, replayed on
//! `fuzz/seeds/registry_hive/` by a native test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| testkit::fuzz::registry_hive(data));
