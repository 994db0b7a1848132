//! `darlings summary`: the one-screen summary on stdout, and the
//! `--fail-on-stray` gate for scripts.

use std::io::{IsTerminal, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::{Outcome, ignore_broken_pipe, run_audit};
use crate::cli::{HashArg, ScanArgs};
use crate::{Result, settings, summary};

/// Audits ROOT and prints the summary; exit 1 with `fail_on_stray` when
/// unresolved stray paths exist (unchanged ones included).
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
        &again(&audit.cur().root, scan),
        &mut out,
    )
    .and_then(|()| out.flush());
    ignore_broken_pipe(r)?;
    // Unchanged stray paths count too: the flag is about stray paths (lost
    // at the wipe), and whether the baseline brings them back is not
    // something darlings can tell; dismissing them is the user's call.
    let t = crate::suggest::Totals::of(&audit, false);
    let unresolved = t.unresolved_stray + t.unchanged_unresolved;
    Ok(if fail_on_stray && unresolved > 0 {
        Outcome::CheckFailed
    } else {
        Outcome::Success
    })
}

/// The user's arguments that decide what the audit sees, as shell words for
/// the commands the summary suggests (`--threads` changes nothing seen; an
/// option at its default is left out). `--opt=VALUE` keeps a value that
/// starts with `-` a value.
fn again(root: &Path, scan: &ScanArgs) -> summary::Again {
    let word = |opt: &str, value: &[u8]| {
        let mut v = format!("--{opt}=").into_bytes();
        v.extend_from_slice(value);
        crate::text::shell_quote(&v)
    };
    let mut check = Vec::new();
    if scan.against != "empty" {
        check.push(word("against", scan.against.as_bytes()));
    }
    for p in &scan.persistence {
        check.push(word("persistence", p.as_os_str().as_bytes()));
    }
    for p in &scan.storage {
        check.push(word("storage", p.as_os_str().as_bytes()));
    }
    for g in &scan.exclude {
        check.push(word("exclude", g.as_bytes()));
    }
    let mut all = check.clone();
    if let Some(f) = &scan.ignore {
        all.push(word("ignore", f.as_os_str().as_bytes()));
    }
    match scan.hash {
        HashArg::Auto => {}
        HashArg::All => all.push("--hash=all".into()),
        HashArg::None => all.push("--hash=none".into()),
    }
    summary::Again {
        root: if root == Path::new("/") {
            String::new()
        } else {
            crate::text::shell_quote(root.as_os_str().as_bytes())
        },
        scan: all,
        check,
    }
}
