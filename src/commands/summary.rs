//! `darlings summary`: the one-screen summary on stdout, and the
//! `--fail-on-stray` gate for scripts.

use std::io::{IsTerminal, Write};
use std::path::Path;

use super::{Outcome, ignore_broken_pipe, run_audit};
use crate::cli::ScanArgs;
use crate::{Result, settings, summary};

/// Audits ROOT and prints the summary; exit 1 with `fail_on_stray` when
/// unresolved stray paths exist.
pub fn run(
    root: Option<&Path>,
    scan: &ScanArgs,
    fail_on_stray: bool,
    top: usize,
) -> Result<Outcome> {
    settings::ignore_exists(scan)?;
    let (opts, config) = settings::audit_and_config(root, scan)?;
    let audit = run_audit(&opts)?;
    let checked = crate::check::run(&audit, &config)?;
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let mut out = std::io::stdout().lock();
    let r = summary::write(
        &audit,
        Some(&checked),
        summary::SummaryOptions { color, top },
        &mut out,
    )
    .and_then(|()| out.flush());
    ignore_broken_pipe(r)?;
    let unresolved = crate::suggest::Totals::of(&audit, false).unresolved_stray;
    Ok(if fail_on_stray && unresolved > 0 {
        Outcome::CheckFailed
    } else {
        Outcome::Success
    })
}
