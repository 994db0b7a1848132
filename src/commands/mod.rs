//! The commands of the command line, one file each: each turns its
//! arguments into options (through [`crate::settings`]), runs the pipeline
//! and hands the result to a printer, the TUI or the whitelist writer. The
//! only module that knows both the command line and the stages.

mod check;
mod docs;
mod explain;
mod migrate;
mod promote;
mod report;
mod scan;
mod summary;
mod tui;

use std::sync::Arc;

use crate::cli::{Cli, Command};
use crate::{Error, Result, audit, progress, scan as scanner};

/// What a command asks `main` to exit with (0 success, 1 a check failed;
/// errors are exit 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Success,
    /// Exit 1: a check failed (`summary --fail-on-stray`, an error finding of `check`), or
    /// `migrate` refused some paths.
    CheckFailed,
}

/// Runs one command line.
pub fn run(cli: Cli) -> Result<Outcome> {
    match cli.command {
        None => tui::run(cli.root.as_deref(), &cli.scan, &cli.write, &cli.ui),
        Some(Command::Tui {
            root,
            scan,
            write,
            ui,
        }) => tui::run(root.as_deref(), &scan, &write, &ui),
        Some(Command::Demo { ui }) => tui::demo(&ui),
        Some(Command::Promote {
            paths,
            root,
            write,
            storage,
        }) => promote::run(root.as_deref(), &paths, &write, storage.as_deref()),
        Some(Command::Migrate {
            root,
            paths,
            persistence,
            whitelist,
            storage,
            yes,
        }) => migrate::run(&migrate::Args {
            root,
            paths,
            persistence,
            whitelist,
            storage,
            yes,
        }),
        Some(Command::Summary {
            root,
            scan,
            fail_on_stray,
            top,
        }) => summary::run(root.as_deref(), &scan, fail_on_stray, top),
        Some(Command::Report {
            root,
            scan,
            output,
            include_unchanged,
        }) => report::run(root.as_deref(), &scan, output.as_deref(), include_unchanged),
        Some(Command::Check {
            root,
            persistence,
            storage,
            against,
            exclude,
            threads,
            json,
        }) => {
            let scan = crate::cli::ScanArgs {
                against,
                persistence,
                storage,
                ignore: None,
                hash: crate::cli::HashArg::None,
                exclude,
                threads,
            };
            check::run(root.as_deref(), &scan, json)
        }
        Some(Command::Explain {
            path,
            root,
            scan,
            json,
        }) => explain::run(&path, root.as_deref(), &scan, json),
        Some(Command::Scan {
            root,
            output,
            hash,
            exclude,
            threads,
        }) => scan::run(root.as_deref(), &output, hash, exclude, threads),
        Some(Command::Completions { shell }) => docs::completions(shell),
        Some(Command::Man { dir }) => docs::man(dir.as_deref()),
    }
}

/// Runs the pipeline with a progress line on stderr.
pub fn run_audit(opts: &audit::AuditOptions) -> Result<audit::Audit> {
    let progress = Arc::new(scanner::Progress::default());
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
