//! `darlings scan -o FILE`: a scan of ROOT saved as a scan file, to serve
//! later as `--against FILE`.

use std::path::Path;
use std::sync::Arc;

use super::Outcome;
use crate::cli::{HashArg, ScanArgs};
use crate::{Result, output, progress, scan, settings, snapshot};

/// Scans ROOT and saves the tree to `out`.
pub fn run(
    root: Option<&Path>,
    out: &Path,
    hash: HashArg,
    exclude: Vec<String>,
    threads: Option<usize>,
) -> Result<Outcome> {
    let args = ScanArgs {
        against: "empty".into(),
        hash,
        exclude,
        threads,
        ..ScanArgs::default()
    };
    let mut opts = settings::audit_options(root, &args)?;
    // Fail before a long scan, not after it.
    output::check_target(out)?;
    opts.scan.hash_all = hash == HashArg::All;
    let progress = Arc::new(scan::Progress::default());
    {
        let _line = progress::ProgressLine::start(Arc::clone(&progress));
        snapshot::scan_to_file(&opts.scan, &progress, out)?;
    }
    Ok(Outcome::Success)
}
