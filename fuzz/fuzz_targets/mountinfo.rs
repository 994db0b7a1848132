//! The `/proc/self/mountinfo` parser on arbitrary bytes: it never panics,
//! parses line by line, and round-trips what it accepts.
#![no_main]

#[path = "../../tests/hardening/fuzz_checks.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::mountinfo(data));
