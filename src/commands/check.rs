//! `darlings check`: what is wrong with the whitelist in effect, as text or
//! as `darlings-check/1` JSON; exit 1 when a finding is an error, so that it
//! can gate `nixos-rebuild switch` or the first wipe.

use std::io::{IsTerminal, Write};
use std::path::Path;

use super::{Outcome, ignore_broken_pipe, run_audit};
use crate::cli::ScanArgs;
use crate::{Result, check, settings};

/// Audits ROOT, checks its whitelist and prints the findings.
pub fn run(root: Option<&Path>, scan: &ScanArgs, json: bool) -> Result<Outcome> {
    let (opts, config) = settings::audit_and_config(root, scan)?;
    let audit = run_audit(&opts)?;
    let checked = check::run(&audit, &config)?;
    let mut out = std::io::stdout().lock();
    let r = if json {
        check::render::write_json(&checked, &mut out)
    } else {
        let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        check::render::write_text(&checked, audit.storage(), color, &mut out)
    };
    ignore_broken_pipe(r.and_then(|()| out.flush()))?;
    Ok(if checked.has_errors() {
        Outcome::CheckFailed
    } else {
        Outcome::Success
    })
}
