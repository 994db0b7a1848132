//! See `fuzz_checks::persistence` for the properties checked.
#![no_main]

#[path = "../../tests/hardening/fuzz_checks.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::persistence(data));
