//! darlings: what on this NixOS root would be lost at the next wipe.
//!
//! Data flows one way; a module only uses modules listed above it:
//!
//! ```text
//! scan ──► snapshot ──► diff ──► classify ──► audit ──► report / summary / tui
//! ```
//!
//! - [`error`]: the library's error type; every variant names its file.
//! - [`timing`]: phase timings on stderr with `DARLINGS_TIMING=1`.
//! - [`text`]: escaping of names for terminals (control chars, BiDi, bad UTF-8).
//! - [`safe_open`]: reading files without side effects (regular files only, no atime).
//! - [`output`]: atomic writes of every file darlings produces.
//! - [`mountinfo`]: `/proc/self/mountinfo` parser (mount points, bind sources).
//! - [`scan`]: the parallel walk (`openat` + `getdents64` + `statx`) and hashing into a [`scan::Tree`].
//! - [`snapshot`]: scan files: versioned, checksummed, zstd-compressed trees.
//! - [`diff`]: pairs two trees by path and decides `change` and `what`.
//! - [`resolve`]: symlink resolution inside the scanned root (never the host's).
//! - [`knowledge`]: the catalogue of well-known paths and their advice (SPEC §5).
//! - [`nix`]: literal view of Nix files (rnix) and Nix string quoting.
//! - [`persistence`]: reads the whitelist in effect (module JSON, `.nix` whitelists).
//! - [`evidence`]: storage, whitelist (configs + live mounts/links), /etc/.clean, ignore rules.
//! - [`classify`]: persisted / Nix-managed / stray, with reasons and advice.
//! - [`audit`]: the pipeline every command runs, producing an [`audit::Audit`].
//! - [`report`]: the SPEC §4 JSON report.
//! - [`summary`]: the one-screen human summary.
//! - [`whitelist`]: writes the whitelist module of SPEC §6, merged and atomically.
//! - [`progress`]: the progress line on stderr.
//! - [`cli`], [`settings`]: the command line and its validation.

pub mod error;
pub mod text;
pub mod timing;

pub mod safe_open;

pub mod output;

pub mod mountinfo;
pub mod scan;

pub mod snapshot;

pub mod diff;

pub mod resolve;

pub mod knowledge;
pub mod nix;
pub mod persistence;

pub mod classify;
pub mod evidence;

pub mod audit;

pub mod progress;
pub mod report;
pub mod summary;
pub mod whitelist;

pub mod cli;
pub mod settings;

use std::io::{IsTerminal, Write};
use std::sync::Arc;

pub use error::{Error, Result};

/// What a command asks `main` to exit with (SPEC §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: the `--fail-on-stray` check failed.
    CheckFailed,
}

/// Runs one command line.
pub fn run(cli: cli::Cli) -> Result<Outcome> {
    use cli::Command;
    match cli.command {
        None => Err(Error::Usage(
            "the TUI is not available yet; use `darlings summary` or `darlings report`".into(),
        )),
        Some(Command::Tui { .. }) | Some(Command::Demo) | Some(Command::Promote { .. }) => {
            Err(Error::Usage(
                "this command is not available yet; use `darlings summary` or `darlings report`"
                    .into(),
            ))
        }
        Some(Command::Summary {
            root,
            scan,
            fail_on_stray,
            top,
        }) => {
            let opts = settings::audit_options(root.as_deref(), &scan)?;
            let audit = run_audit(&opts)?;
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            let mut out = std::io::stdout().lock();
            let r = summary::write(&audit, summary::SummaryOptions { color, top }, &mut out)
                .and_then(|()| out.flush());
            ignore_broken_pipe(r)?;
            let unresolved = report::Totals::of(&audit, false).unresolved_stray;
            Ok(if fail_on_stray && unresolved > 0 {
                Outcome::CheckFailed
            } else {
                Outcome::Success
            })
        }
        Some(Command::Report {
            root,
            scan,
            output,
            include_unchanged,
        }) => {
            let opts = settings::audit_options(root.as_deref(), &scan)?;
            if let Some(o) = &output {
                settings::check_output(o, &opts.baseline)?;
                output::check_target(o)?;
            }
            let audit = run_audit(&opts)?;
            let ropts = report::ReportOptions { include_unchanged };
            match output {
                Some(o) => {
                    output::write_atomic(&o, false, |w| report::write_json(&audit, ropts, w))?
                }
                None => {
                    let mut out =
                        std::io::BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
                    ignore_broken_pipe(
                        report::write_json(&audit, ropts, &mut out).and_then(|()| out.flush()),
                    )?;
                }
            }
            Ok(Outcome::Success)
        }
        Some(Command::Scan {
            root,
            output,
            hash,
            exclude,
            threads,
        }) => {
            let args = cli::ScanArgs {
                against: "empty".into(),
                hash,
                exclude,
                threads,
                ..cli::ScanArgs::default()
            };
            let mut opts = settings::audit_options(root.as_deref(), &args)?;
            // Fail before a long scan, not after it.
            output::check_target(&output)?;
            opts.scan.hash_all = hash == cli::HashArg::All;
            let progress = Arc::new(scan::Progress::default());
            let tree = {
                let _line = progress::ProgressLine::start(Arc::clone(&progress));
                scan::scan(&opts.scan, &progress)?
            };
            snapshot::save(&tree, &output)?;
            Ok(Outcome::Success)
        }
    }
}

/// Runs the pipeline with a progress line on stderr.
pub fn run_audit(opts: &audit::AuditOptions) -> Result<audit::Audit> {
    let progress = Arc::new(scan::Progress::default());
    let _line = progress::ProgressLine::start(Arc::clone(&progress));
    audit::run(opts, &progress)
}

/// A closed pipe (`darlings report | head`) is a normal end, not an error.
fn ignore_broken_pipe(r: std::io::Result<()>) -> Result<()> {
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io("cannot write", "<stdout>", e)),
        Ok(()) => Ok(()),
    }
}
