//! The progress line on stderr during long scans (entries, bytes hashed,
//! rate), shown only when stderr is a terminal.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::scan::Progress;

/// Draws `progress` on stderr from a background thread until dropped.
pub struct ProgressLine {
    stop: Arc<std::sync::atomic::AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl ProgressLine {
    /// Starts drawing if stderr is a terminal; otherwise does nothing.
    pub fn start(progress: Arc<Progress>) -> ProgressLine {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        if !std::io::stderr().is_terminal() {
            return ProgressLine { stop, handle: None };
        }
        let flag = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            let start = std::time::Instant::now();
            // Nothing is drawn for the first half second: short scans stay quiet.
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                if start.elapsed() < Duration::from_millis(500) {
                    continue;
                }
                let entries = progress.entries.load(Ordering::Relaxed);
                let bytes = progress.bytes_hashed.load(Ordering::Relaxed);
                let secs = start.elapsed().as_secs_f64().max(0.001);
                bar.set_message(format!(
                    "{entries} entries ({:.0}/s), {} hashed ({}/s)",
                    entries as f64 / secs,
                    crate::text::human_bytes(bytes),
                    crate::text::human_bytes((bytes as f64 / secs) as u64),
                ));
                bar.tick();
            }
            bar.finish_and_clear();
        });
        ProgressLine {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for ProgressLine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
