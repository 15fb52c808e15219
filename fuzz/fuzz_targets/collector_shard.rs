//! A page's parsing helper's answer: a collector's shard as bytes, loaded and absorbed, then
//! the diagnosis. Must never panic. The body is `testkit::fuzz::collector_shard`, replayed on
//! `fuzz/seeds/collector_shard/` by a native test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| testkit::fuzz::collector_shard(data));
