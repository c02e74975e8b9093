//! libFuzzer target: `fuzz_harness::activate_response` (see tests/reliability/fuzz_harness.rs).
#![no_main]

#[path = "../../tests/reliability/fuzz_harness.rs"]
mod fuzz_harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_harness::activate_response(data));
