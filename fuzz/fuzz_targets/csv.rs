//! Event Viewer CSV / tab-delimited text and PowerShell Export-Csv. Must never panic.
//! The body is `testkit::fuzz::csv`, replayed on `fuzz/seeds/csv/` by a native test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| testkit::fuzz::csv(data));
