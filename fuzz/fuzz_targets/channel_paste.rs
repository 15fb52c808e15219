//! Pasted Run Command / Serial Console output (az JSON, Invoke-AzVMRunCommand, SAC). Must never panic.
//! The body is `testkit::fuzz::channel_paste`, replayed on `fuzz/seeds/channel_paste/` by a native test.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| testkit::fuzz::channel_paste(data));
