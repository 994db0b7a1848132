//! `darlings report`: the JSON report on stdout or, atomically, into a file.

use std::io::Write;
use std::path::Path;

use super::{Outcome, ignore_broken_pipe, run_audit};
use crate::cli::ScanArgs;
use crate::{Result, output, report, settings};

/// Audits ROOT and writes the report to `output` or stdout.
pub fn run(
    root: Option<&Path>,
    scan: &ScanArgs,
    output: Option<&Path>,
    include_unchanged: bool,
) -> Result<Outcome> {
    settings::ignore_exists(scan)?;
    let (opts, config) = settings::audit_and_config(root, scan)?;
    if let Some(o) = output {
        // Fail before a long scan, not after it.
        settings::check_output(o, &opts.baseline)?;
        output::check_target(o)?;
    }
    let audit = run_audit(&opts)?;
    let checked = crate::check::run(&audit, &config)?;
    let ropts = report::ReportOptions { include_unchanged };
    match output {
        Some(o) => output::write_atomic(o, false, |w| {
            report::write_json(&audit, Some(&checked), ropts, w)
        })?,
        None => {
            let mut out = std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            ignore_broken_pipe(
                report::write_json(&audit, Some(&checked), ropts, &mut out)
                    .and_then(|()| out.flush()),
            )?;
        }
    }
    Ok(Outcome::Success)
}
