//! `darlings tui` and `darlings demo`: the interactive review on ROOT, or on
//! a sample NixOS-like root built in a temporary directory.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::Outcome;
use crate::audit::AuditOptions;
use crate::cli::{ScanArgs, UiArgs, WriteArgs};
use crate::tui::model::{Model, Settings};
use crate::{Error, Result, demo, settings, tui, whitelist};

/// The TUI with `--keys` and `--print-marked`: on the terminal, or headless
/// (keys given, no terminal) printing its last screen.
fn review(
    opts: AuditOptions,
    config: Vec<crate::check::ConfigFile>,
    settings: Settings,
    ui: &UiArgs,
) -> Result<Model> {
    use std::io::IsTerminal;
    let options = tui::RunOptions {
        keys: tui::script::parse(ui.keys.as_deref().unwrap_or(""))?,
        print_marked: ui.print_marked,
        config,
    };
    let model = if ui.keys.is_some() && !std::io::stdin().is_terminal() {
        let size = |var: &str, default: u16| {
            std::env::var(var)
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|&n: &u16| (10..=1000).contains(&n))
                .unwrap_or(default)
        };
        let (model, screen) = tui::script::replay(
            opts,
            settings,
            options,
            (size("COLUMNS", 120), size("LINES", 36)),
        )?;
        if !ui.print_marked {
            print!("{screen}");
        }
        model
    } else {
        tui::run(opts, settings, options)?
    };
    if ui.print_marked {
        for (path, _) in model.marks.iter() {
            println!("{}", crate::text::escape_bytes(path));
        }
    }
    Ok(model)
}

/// The TUI on ROOT with the given options.
pub fn run(
    root: Option<&Path>,
    scan: &ScanArgs,
    write: &WriteArgs,
    ui: &UiArgs,
) -> Result<Outcome> {
    let (opts, config) = with_written_whitelist(root, scan, &write.whitelist)?;
    settings::check_output(&write.whitelist, &opts.baseline)?;
    let settings = tui::model::Settings {
        whitelist: write.whitelist.clone(),
        flavor: write.flavor.map(Into::into),
        storage: scan.storage.clone(),
        ignore: scan.ignore.clone(),
        root: opts.scan.root.clone(),
    };
    let whitelist = settings.whitelist.clone();
    let model = review(opts, config, settings, ui)?;
    if !ui.print_marked && (!model.promoted.is_empty() || !model.dismissals.is_empty()) {
        println!("{}", model.status);
    }
    if !ui.print_marked && !model.promoted.is_empty() && !migrated(&model) {
        let root = model
            .data
            .as_ref()
            .map(|d| d.audit.cur().root.clone())
            .unwrap_or_default();
        let root = if root == Path::new("/") {
            String::new()
        } else {
            format!(" {}", crate::text::shell_quote(root.as_os_str().as_bytes()))
        };
        println!(
            "The written paths' data is still only on ROOT: darlings migrate{root} --whitelist {} \
             copies it into storage (m in the TUI does the same).",
            crate::text::shell_quote(whitelist.as_os_str().as_bytes())
        );
    }
    Ok(Outcome::Success)
}

/// The audit with the whitelist file the TUI writes to read as a config too,
/// when it exists: the paths written there on an earlier run are listed
/// (persisted, "not backed yet" until migrated and rebuilt), not stray again
/// for a second review. A file darlings cannot read as a config (a person's
/// module with `let` or functions) is left out with a note on stderr.
fn with_written_whitelist(
    root: Option<&Path>,
    scan: &ScanArgs,
    whitelist: &Path,
) -> Result<(AuditOptions, Vec<crate::check::ConfigFile>)> {
    let same = |p: &Path| {
        std::fs::canonicalize(p)
            .ok()
            .is_some_and(|c| Some(c) == std::fs::canonicalize(whitelist).ok())
    };
    let exists = std::fs::symlink_metadata(whitelist).is_ok_and(|m| m.is_file());
    if !exists || scan.persistence.iter().any(|p| same(p)) {
        return settings::audit_and_config(root, scan);
    }
    let mut with = scan.clone();
    with.persistence.push(whitelist.to_path_buf());
    match settings::audit_and_config(root, &with) {
        Ok(r) => Ok(r),
        Err(e) if matches!(&e, Error::BadInput { path, .. } if same(path)) => {
            eprintln!(
                "darlings: note: the paths already in {} are not counted as listed: {}",
                crate::text::quote_path(whitelist),
                crate::text::escape_message(&e.to_string(), false)
            );
            settings::audit_and_config(root, scan)
        }
        Err(e) => Err(e),
    }
}

/// Whether the session's last migration ran to its end over every path
/// written.
fn migrated(model: &Model) -> bool {
    model
        .migration
        .as_ref()
        .is_some_and(|g| g.stage == tui::migrate::Stage::Done && g.asked == model.promoted.len())
}

/// `darlings demo`: the TUI on a freshly built sample root.
pub fn demo(ui: &UiArgs) -> Result<Outcome> {
    let demo = demo::build()?;
    // The whitelist in effect is the file the demo writes to, so a write
    // shows a merge into an existing module.
    let whitelist = demo.dir.path().join("persist.nix");
    std::fs::write(&whitelist, demo::WHITELIST)
        .map_err(|e| Error::io("cannot write", &whitelist, e))?;
    let scan = ScanArgs {
        against: demo.baseline.to_string_lossy().into_owned(),
        persistence: vec![whitelist.clone()],
        storage: vec!["/persist".into()],
        ignore: Some(demo.dir.path().join("ignore")),
        ..ScanArgs::default()
    };
    let (opts, config) = settings::audit_and_config(Some(&demo.root), &scan)?;
    let settings = tui::model::Settings {
        whitelist: whitelist.clone(),
        flavor: Some(whitelist::Flavor::Impermanence),
        storage: Vec::new(),
        ignore: scan.ignore.clone(),
        root: demo.root.clone(),
    };
    let model = review(opts, config, settings, ui)?;
    if ui.print_marked {
        return Ok(Outcome::Success);
    }
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
