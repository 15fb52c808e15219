//! PowerShell Get-WinEvent | Format-List. Must never panic.
//! The body is `testkit::fuzz::format_list`, replayed on `fuzz/seeds/format_list/` by a native test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| testkit::fuzz::format_list(data));
