//! PowerShell's table of Get-WinEvent objects (its default output, Format-Table). Must never
//! panic. The body is `testkit::fuzz::table`, replayed on `fuzz/seeds/table/` by a native
//! test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| testkit::fuzz::table(data));
