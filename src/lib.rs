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
//! - [`tui`]: the interactive review (model / update / view) and the whitelist seam.
//! - [`demo`]: the sample NixOS-like root of `darlings demo`.
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

pub mod tui;

pub mod demo;

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
        None => run_tui(cli.root.as_deref(), &cli.scan, &cli.write),
        Some(Command::Tui { root, scan, write }) => run_tui(root.as_deref(), &scan, &write),
        Some(Command::Demo) => run_demo(),
        Some(Command::Promote {
            paths,
            root,
            write,
            storage,
        }) => {
            promote(root.as_deref(), &paths, &write, storage.as_deref())?;
            Ok(Outcome::Success)
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
            {
                let _line = progress::ProgressLine::start(Arc::clone(&progress));
                snapshot::scan_to_file(&opts.scan, &progress, &output)?;
            }
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

/// The TUI on ROOT with the given options.
fn run_tui(
    root: Option<&std::path::Path>,
    scan: &cli::ScanArgs,
    write: &cli::WriteArgs,
) -> Result<Outcome> {
    let opts = settings::audit_options(root, scan)?;
    settings::check_output(&write.whitelist, &opts.baseline)?;
    let settings = tui::model::Settings {
        whitelist: write.whitelist.clone(),
        flavor: write.flavor.into(),
        ignore: scan.ignore.clone(),
        root: opts.scan.root.clone(),
    };
    let model = tui::run(opts, settings)?;
    if !model.promoted.is_empty() || !model.dismissals.is_empty() {
        println!("{}", model.status);
    }
    Ok(Outcome::Success)
}

/// `darlings demo`: the TUI on a freshly built sample root.
fn run_demo() -> Result<Outcome> {
    let demo = demo::build()?;
    // The whitelist in effect is the file the demo writes to, so a write
    // shows a merge into an existing module.
    let whitelist = demo.dir.path().join("persist.nix");
    std::fs::write(&whitelist, demo::WHITELIST)
        .map_err(|e| Error::io("cannot write", &whitelist, e))?;
    let scan = cli::ScanArgs {
        against: demo.baseline.to_string_lossy().into_owned(),
        persistence: vec![whitelist.clone()],
        storage: vec!["/persist".into()],
        ignore: Some(demo.dir.path().join("ignore")),
        ..cli::ScanArgs::default()
    };
    let opts = settings::audit_options(Some(&demo.root), &scan)?;
    let settings = tui::model::Settings {
        whitelist: whitelist.clone(),
        flavor: tui::whitelist::Flavor::Impermanence,
        ignore: scan.ignore.clone(),
        root: demo.root.clone(),
    };
    let model = tui::run(opts, settings)?;
    match std::fs::read_to_string(&whitelist) {
        Ok(text) if text != demo::WHITELIST => println!(
            "The demo wrote this whitelist (its temporary directory is removed now):\n\n{text}"
        ),
        _ if !model.marks.is_empty() => {
            println!("Nothing was written: the marks were not written with w.")
        }
        _ => {}
    }
    Ok(Outcome::Success)
}

/// `darlings promote PATH...`: adds paths of ROOT to the whitelist file.
fn promote(
    root: Option<&std::path::Path>,
    paths: &[std::path::PathBuf],
    write: &cli::WriteArgs,
    storage: Option<&std::path::Path>,
) -> Result<()> {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    let root = settings::resolve_root(root)?;
    let names = tui::model::Names::read(&root);
    let mut promotions = Vec::new();
    for p in paths {
        let bytes = p.as_os_str().as_bytes();
        if !bytes.starts_with(b"/")
            || p.components().any(|c| {
                matches!(
                    c,
                    std::path::Component::ParentDir | std::path::Component::CurDir
                )
            })
        {
            return Err(Error::Usage(format!(
                "'{}': give an absolute path as seen inside ROOT, without . or ..",
                text::quote_path(p)
            )));
        }
        let mut inner = bytes.to_vec();
        while inner.len() > 1 && inner.ends_with(b"/") {
            inner.pop();
        }
        if inner == b"/" {
            return Err(Error::Usage("the root itself cannot be persisted".into()));
        }
        let host = root.join(std::ffi::OsStr::from_bytes(&inner[1..]));
        let meta =
            std::fs::symlink_metadata(&host).map_err(|e| Error::io("cannot promote", &host, e))?;
        promotions.push(tui::whitelist::promotion(
            inner,
            meta.is_dir(),
            names.user(meta.uid()),
            names.group(meta.gid()),
            (meta.mode() & 0o7777) as u16,
        ));
    }
    let file = &write.whitelist;
    let old = match safe_open::read_regular(file) {
        Ok(b) => Some(
            String::from_utf8(b)
                .map_err(|_| Error::bad_input(file, "not UTF-8 text: not a Nix file"))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io("cannot read", file, e)),
    };
    let storage = storage.unwrap_or(std::path::Path::new("/persist"));
    let new = whitelist::render_named(
        old.as_deref().map(|t| (file.as_path(), t)),
        write.flavor.into(),
        storage,
        &promotions,
        &names.homes,
    )?;
    let mut out = std::io::stdout().lock();
    if old.as_deref() == Some(new.as_str()) {
        let _ = writeln!(
            out,
            "{} already lists these paths; nothing changed",
            text::quote_path(file)
        );
        return Ok(());
    }
    tui::whitelist::write(file, &new)?;
    let lines = |s: &str| -> Vec<String> { s.lines().map(text::escape_str).collect() };
    let diff = tui::preview::diff_lines(&lines(old.as_deref().unwrap_or("")), &lines(&new), 1);
    let _ = writeln!(out, "{}:", text::quote_path(file));
    for l in diff {
        let _ = match l {
            tui::preview::DiffLine::Added(s) => writeln!(out, "+ {s}"),
            tui::preview::DiffLine::Removed(s) => writeln!(out, "- {s}"),
            tui::preview::DiffLine::Same(s) => writeln!(out, "  {s}"),
            tui::preview::DiffLine::Skipped(n) => writeln!(out, "  ({n} unchanged lines)"),
        };
    }
    Ok(())
}
