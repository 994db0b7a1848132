//! The scan-file payload decoder and validator, behind the checksum.
#![no_main]

#[path = "../../tests/hardening/fuzz_checks.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::scan_payload(data));
