//! The runtime's commands: each [`Cmd`] that [`update`](super::update)
//! returns performed (the write preview and the whitelist write, the ignore
//! file, the pager and the editor, the migration's worker), its result
//! returned as the [`Msg`] that reports it.

use std::path::Path;
use std::process::Command;

use ratatui::backend::Backend;

use super::model::{Model, WritePlan};
use super::msg::{Cmd, Listing, Msg};
use super::{Input, Runtime, migrate, term};
use crate::{Error, Result};

impl<B: Backend> Runtime<'_, B> {
    /// Performs one command; returns the message that reports its result.
    pub(super) fn execute(&mut self, cmd: Cmd) -> Option<Msg> {
        let m = &*self.model;
        match cmd {
            Cmd::Quit => None,
            Cmd::PrepareWrite => Some(Msg::PlanReady(prepare_write(m))),
            Cmd::Recheck => Some(Msg::Rechecked(Box::new(recheck(m)))),
            Cmd::Write(text) => Some(Msg::Written(
                crate::whitelist::write(&m.settings.whitelist, &text).map(|()| read_back(m)),
            )),
            Cmd::AppendIgnore(rule) => Some(Msg::IgnoreSaved(append_ignore(m, &rule))),
            Cmd::RestoreIgnore(prev) => {
                let path = m.settings.ignore.clone()?;
                Some(Msg::IgnoreRestored(restore_ignore(&path, prev)))
            }
            Cmd::Preview(job) => Some(Msg::PreviewLoaded(job.pair, job.run())),
            Cmd::Pager { path, id } => Some(Msg::PagerDone(self.pager(&path, id))),
            Cmd::Editor(path) => Some(Msg::EditorDone(self.editor(&path))),
            Cmd::PlanMigration(job) => {
                let homes = m
                    .data
                    .as_ref()
                    .map(|d| crate::persistence::LoadOptions::for_users(&d.users))
                    .unwrap_or_default();
                let id = job.id;
                let send = self.reporter(id);
                self.start_worker(id, migrate::Worker::plan(job, homes, send))
            }
            Cmd::RunMigration(id, plan) => {
                let send = self.reporter(id);
                self.start_worker(id, migrate::Worker::copy(id, plan, send))
            }
        }
    }

    /// How migration `id`'s worker reports: through the loop's channel.
    fn reporter(&self, id: u32) -> impl Fn(migrate::Report) -> bool + Send + 'static {
        let tx = self.results.clone();
        move |r| tx.send(Input::Msg(Msg::Migration(id, r))).is_ok()
    }

    /// Keeps the worker that started, or reports why none could.
    fn start_worker(&mut self, id: u32, w: Result<migrate::Worker>) -> Option<Msg> {
        match w {
            Ok(w) => {
                self.migration = Some(w);
                None
            }
            Err(e) => Some(Msg::Migration(
                id,
                migrate::Report::Finished(Err(e.to_string())),
            )),
        }
    }

    /// Shows a file of the root in `$PAGER`. The file is opened here as the
    /// scan saw it and given to the pager as its standard input: the pager
    /// reads it and learns no path, so nothing else on the root is opened,
    /// followed or run, and the atime stays.
    fn pager(&mut self, path: &Path, id: (u64, u64)) -> std::result::Result<(), String> {
        let shown = crate::text::quote_path(path);
        let file = crate::safe_open::open_regular(path, false, Some(id))
            .map_err(|e| format!("cannot open {shown}: {e}"))?;
        let pager = program(&["PAGER"], "less");
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg(&pager).stdin(file);
        self.hand_over(&mut cmd, "the pager", &pager)
    }

    /// Opens the whitelist in `$VISUAL` or `$EDITOR`.
    fn editor(&mut self, path: &Path) -> std::result::Result<(), String> {
        let editor = program(&["VISUAL", "EDITOR"], "vi");
        let mut cmd = Command::new("/bin/sh");
        // The path goes in as an argument, never into the command line.
        cmd.arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("darlings-editor")
            .arg(path);
        self.hand_over(&mut cmd, "the editor", &editor)
    }

    /// Runs a program on the terminal, the TUI's screen put away meanwhile
    /// and redrawn after; on an in-memory screen its output goes to stderr.
    fn hand_over(
        &mut self,
        cmd: &mut Command,
        what: &str,
        program: &str,
    ) -> std::result::Result<(), String> {
        let status = if let Some(gate) = &self.real {
            let status = term::hand_over(cmd, gate);
            // Everything on the screen is gone: draw it all again.
            let _ = self.terminal.clear();
            status
        } else {
            cmd.stdout(std::io::stderr())
                .stderr(std::io::stderr())
                .status()
        };
        let program = crate::text::escape_str(program);
        match status {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(format!("{what} ({program}) ended with {s}")),
            Err(e) => Err(format!("cannot run {what} ({program}): {e}")),
        }
    }
}

/// The command in the first of `vars` that is set and not blank, else
/// `default`.
fn program(vars: &[&str], default: &str) -> String {
    vars.iter()
        .filter_map(|v| std::env::var(v).ok())
        .find(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// The paths the whitelist file lists now, read as `darlings tui` reads
/// it on start (`commands/tui.rs` adds it to the configs): the same reader
/// with the root's homes, so `users.NAME` entries land in their homes.
fn read_back(m: &Model) -> Listing {
    let file = &m.settings.whitelist;
    let opts = m
        .data
        .as_ref()
        .map(|d| crate::persistence::LoadOptions::for_users(&d.users))
        .unwrap_or_default();
    let whitelist = crate::persistence::load_with(file, &opts).map_err(|e| e.to_string())?;
    let config = [crate::check::ConfigFile {
        file: file.clone(),
        arg: file.clone(),
        whitelist,
    }];
    Ok(crate::check::listed(&config)
        .into_iter()
        .map(|l| l.path)
        .collect())
}

/// The check a fresh run makes once the whitelist is written: the configs
/// given, with the whitelist file read again in place of its old reading,
/// or added when it was not among them. On the UI thread: it reads one
/// small file, and the check itself takes 14 ms on a 1M-entry root.
fn recheck(m: &Model) -> Result<crate::check::Checked> {
    let Some(d) = m.data.as_ref() else {
        return Err(Error::Internal("no audit to check".into()));
    };
    let file = &m.settings.whitelist;
    let opts = crate::persistence::LoadOptions::for_users(&d.users);
    let mut config = Vec::with_capacity(m.config.len() + 1);
    let mut found = false;
    for c in &m.config {
        if crate::paths::same_file(&c.file, file) {
            found = true;
            config.push(crate::check::ConfigFile {
                whitelist: crate::persistence::load_with(&c.file, &opts)?,
                ..c.clone()
            });
        } else {
            config.push(c.clone());
        }
    }
    if !found {
        config.push(crate::check::ConfigFile {
            file: file.clone(),
            arg: file.clone(),
            whitelist: crate::persistence::load_with(file, &opts)?,
        });
    }
    crate::check::run(&d.audit, &config)
}

/// Puts the ignore file back as it was (`None`: there was none).
fn restore_ignore(path: &std::path::Path, prev: Option<Vec<u8>>) -> Result<()> {
    match prev {
        Some(bytes) => crate::output::write_atomic(path, true, |w| w.write_all(&bytes)),
        None => std::fs::remove_file(path).map_err(|e| Error::io("cannot remove", path, e)),
    }
}

/// Reads a file that may not exist yet.
fn read_optional(path: &std::path::Path) -> Result<Option<Vec<u8>>> {
    // A file the user names: a symlink is followed, a fifo is never opened.
    match crate::safe_open::read_regular(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("cannot read", path, e)),
    }
}

/// Renders the whitelist with the marks and diffs it against the file.
/// Marks no whitelist may list are left out, each with the refusal
/// `darlings promote` gives: the same [`crate::whitelist::Gate`], on ROOT,
/// the file's storage roots and `--storage` (and the audit's storage).
fn prepare_write(m: &Model) -> Result<WritePlan> {
    let Some(d) = m.data.as_ref() else {
        return Err(Error::Internal("no audit to write from".into()));
    };
    let new_storage = d
        .audit
        .storage()
        .first()
        .cloned()
        .unwrap_or_else(|| std::path::PathBuf::from("/persist"));
    let homes = d.users.people();
    let mut storage = m.settings.storage.clone();
    storage.extend(d.audit.storage().iter().cloned());
    let gate =
        crate::whitelist::Gate::new(&d.audit.cur().root, &m.settings.whitelist, &storage, &homes)?;
    let mut writes = Vec::new();
    let mut refusals = Vec::new();
    for (path, _) in m.marks.iter() {
        match gate.refusal(path) {
            Some(why) => refusals.push((path.to_vec(), why)),
            None => writes.push(path.to_vec()),
        }
    }
    let req = crate::whitelist::Request {
        flavor: m.settings.flavor,
        storage: m.settings.storage.clone(),
        new_storage,
    };
    let unchanged = |writes, refusals, refused| -> Result<WritePlan> {
        let old =
            read_optional(&m.settings.whitelist)?.map(|b| String::from_utf8_lossy(&b).into_owned());
        Ok(WritePlan {
            path: m.settings.whitelist.clone(),
            new: old.clone().unwrap_or_default(),
            old,
            diff: Vec::new(),
            notes: Vec::new(),
            refused,
            writes,
            refusals,
        })
    };
    if writes.is_empty() {
        // Every mark refused: nothing to render; the preview says why.
        return unchanged(writes, refusals, None);
    }
    let keep: std::collections::HashSet<&[u8]> = writes.iter().map(Vec::as_slice).collect();
    let promotions = m.promotions(|p| keep.contains(p));
    let plan = match crate::whitelist::plan(&m.settings.whitelist, &req, &promotions, &homes) {
        Ok(plan) => plan,
        // No safe place: the preview shows why and what to paste.
        Err(Error::NoSafeEdit { problem, paste, .. }) => {
            return unchanged(writes, refusals, Some(format!("{problem}\n{paste}")));
        }
        Err(e) => return Err(e),
    };
    let diff = crate::linediff::diff_texts(
        plan.old.as_deref().unwrap_or(""),
        &plan.new,
        3,
        crate::text::escape_str,
    );
    Ok(WritePlan {
        path: plan.path,
        old: plan.old,
        new: plan.new,
        diff,
        notes: plan.notes,
        refused: None,
        writes,
        refusals,
    })
}

/// Appends `rule` to the ignore file; returns its previous content.
fn append_ignore(m: &Model, rule: &[u8]) -> Result<Option<Vec<u8>>> {
    let Some(path) = m.settings.ignore.clone() else {
        return Ok(None);
    };
    let prev = read_optional(&path)?;
    let mut next = prev.clone().unwrap_or_default();
    if !next.is_empty() && !next.ends_with(b"\n") {
        next.push(b'\n');
    }
    next.extend_from_slice(rule);
    next.push(b'\n');
    crate::output::write_atomic(&path, true, |w| w.write_all(&next))?;
    Ok(prev)
}
