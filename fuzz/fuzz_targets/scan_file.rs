//! The scan-file decoder (`--against FILE`) on arbitrary bytes: it never
//! panics, and a tree it accepts is safe for every later stage.
#![no_main]

#[path = "../../tests/hardening/fuzz_checks.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::scan_file(data));
