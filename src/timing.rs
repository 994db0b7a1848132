//! Phase timings on stderr when `DARLINGS_TIMING` is set: how the team sees
//! where a run's time goes without a profiler (used by bench/profile.sh).

use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("DARLINGS_TIMING").is_some())
}

/// Measures one phase; prints its wall time when dropped, if enabled.
pub struct Phase {
    name: &'static str,
    start: Instant,
}

/// Starts measuring the phase `name`.
pub fn phase(name: &'static str) -> Phase {
    Phase {
        name,
        start: Instant::now(),
    }
}

impl Drop for Phase {
    fn drop(&mut self) {
        if enabled() {
            eprintln!(
                "darlings: timing: {:<12} {:>9.1} ms",
                self.name,
                self.start.elapsed().as_secs_f64() * 1000.0
            );
        }
    }
}
