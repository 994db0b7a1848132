//! `darlings explain PATH [ROOT]`: the audit summary and report run, then
//! everything behind one path's verdict, as text or `darlings-explain/1`
//! JSON (docs/explain.md).

use std::io::{BufWriter, Write};
use std::path::Path;

use super::{Outcome, ignore_broken_pipe, run_audit};
use crate::cli::ScanArgs;
use crate::{Result, check, explain, settings};

/// Audits ROOT as `summary` and `report` do and explains PATH.
pub fn run(path: &Path, root: Option<&Path>, scan: &ScanArgs, json: bool) -> Result<Outcome> {
    // A path that can never be in ROOT fails before the scan.
    let wanted = explain::parse_path(path)?;
    settings::ignore_exists(scan)?;
    let (opts, config) = settings::audit_and_config(root, scan)?;
    let audit = run_audit(&opts)?;
    let i = explain::find(&audit, &wanted).map_err(|e| match e {
        // The scan never met what --exclude left out: say so.
        crate::Error::Usage(msg) if !scan.exclude.is_empty() => {
            crate::Error::Usage(format!("{msg} (or --exclude left it out of the scan)"))
        }
        e => e,
    })?;
    let checked = check::run(&audit, &config)?;
    let users = crate::users::Users::read(&audit.cur().root);
    // Read again to name the line of the rule that dismissed PATH; the
    // audit read it a moment ago (an error here only loses the line).
    let ignore_text = scan.ignore.as_ref().map(|f| {
        let text = crate::safe_open::read_regular(f).unwrap_or_default();
        (f.as_path(), String::from_utf8_lossy(&text).into_owned())
    });
    let x = explain::explain(
        &explain::Input {
            audit: &audit,
            checked: Some(&checked),
            config: &config,
            users: &users,
            ignore: ignore_text.as_ref().map(|(f, t)| (*f, t.as_str())),
        },
        i,
    );
    let mut out = BufWriter::new(std::io::stdout().lock());
    let r = if json {
        explain::render::write_json(&audit, &x, &mut out)
    } else {
        explain::render::write_text(&x, &mut out)
    };
    ignore_broken_pipe(r.and_then(|()| out.flush()))?;
    Ok(Outcome::Success)
}
