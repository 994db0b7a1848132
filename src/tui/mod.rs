//! The interactive review (SPEC §7), in the Elm architecture:
//!
//! ```text
//! key ──► keys::map_key ──► Msg ──► update::update(&mut Model) ──► Cmd ──► runtime (I/O)
//!                                        │
//!                                        ▼
//!                               view::view(&Model) ──► Frame
//! ```
//!
//! - [`keys`]: the one key table (help, footer and README read it).
//! - [`marks`]: the marked paths; overlap rules.
//! - [`model`]: the state: audit, aggregates, filter, rows, selection.
//! - [`update`]: every state change; returns I/O work as a [`update::Cmd`].
//! - [`view`]: drawing, only the visible window.
//! - [`preview`]: file previews and line diffs (the only file reads).
//! - [`whitelist`]: the seam to the whitelist writer of SPEC §6.
//!
//! This file is the runtime: the event loop (generic over the ratatui
//! backend and fed from any iterator, so tests drive it headless), the
//! background scan, and the execution of commands.

pub mod keys;
pub mod marks;
pub mod model;
pub mod preview;
pub mod update;
pub mod view;
pub mod whitelist;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossterm::event::KeyEvent;
use ratatui::Terminal;
use ratatui::backend::Backend;

use crate::audit::{Audit, AuditOptions, Baseline};
use crate::diff::Change;
use crate::scan::{Kind, NONE, Progress};
use crate::{Error, Result};

use model::{Model, Names, Settings, WritePlan};
use preview::Preview;
use update::Cmd;

/// What the event loop reacts to.
#[derive(Debug)]
pub enum Input {
    /// A key press.
    Key(KeyEvent),
    /// The terminal was resized.
    Resize,
    /// Time passed (redraws the progress while scanning).
    Tick,
    /// The background audit finished.
    Loaded(Box<Result<Audit>>),
}

/// Runs the TUI on a real terminal: the audit in a background thread, keys
/// from crossterm. Restores the terminal on return and on panic.
pub fn run(opts: AuditOptions, settings: Settings) -> Result<Model> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(Error::Usage(
            "the TUI needs a terminal; in scripts use `darlings summary`, `darlings report` or `darlings promote`"
                .into(),
        ));
    }
    let progress = Arc::new(Progress::default());
    let (tx, rx) = std::sync::mpsc::channel::<Input>();
    {
        let progress = Arc::clone(&progress);
        let tx = tx.clone();
        std::thread::spawn(move || {
            let r = crate::audit::run(&opts, &progress);
            let _ = tx.send(Input::Loaded(Box::new(r)));
        });
    }
    std::thread::spawn(move || {
        use crossterm::event::Event;
        loop {
            let input = match crossterm::event::read() {
                Ok(Event::Key(k)) => Input::Key(k),
                Ok(Event::Resize(..)) => Input::Resize,
                Ok(_) => continue,
                Err(_) => break,
            };
            if tx.send(input).is_err() {
                break;
            }
        }
    });
    let inputs = std::iter::from_fn(|| match rx.recv_timeout(Duration::from_millis(100)) {
        Ok(i) => Some(i),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Some(Input::Tick),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => None,
    });
    let mut model = Model::new(settings);
    let mut terminal = ratatui::try_init().map_err(|e| {
        ratatui::restore();
        Error::Usage(format!("cannot set up the terminal: {e}"))
    })?;
    let r = run_loop(&mut terminal, &mut model, inputs, &progress);
    ratatui::restore();
    progress.cancel.store(true, Ordering::Relaxed);
    r.map(|()| model)
}

/// The event loop: draws, reads an input, updates, runs the command, until
/// the model asks to quit or the inputs end.
pub fn run_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    model: &mut Model,
    inputs: impl IntoIterator<Item = Input>,
    progress: &Progress,
) -> Result<()> {
    let started = Instant::now();
    let mut last_move = 0.0;
    let mut vs = view::ViewState::default();
    draw(terminal, model, &mut vs)?;
    for input in inputs {
        match input {
            Input::Key(k) => {
                if let Some(msg) = keys::map_key(&k, model.mode)
                    && let Some(cmd) = update::update(model, msg)
                    && execute(model, cmd)
                {
                    progress.cancel.store(true, Ordering::Relaxed);
                    return Ok(());
                }
            }
            Input::Resize => {}
            Input::Tick => {
                if model.data.is_some() {
                    continue;
                }
                let secs = started.elapsed().as_secs_f64();
                let next = model::Loading {
                    entries: progress.entries.load(Ordering::Relaxed),
                    bytes: progress.bytes_hashed.load(Ordering::Relaxed),
                    files: progress.files_hashed.load(Ordering::Relaxed),
                    secs,
                    idle: 0.0,
                };
                let prev = model.loading;
                let moved = (next.entries, next.bytes) != (prev.entries, prev.bytes);
                if moved {
                    last_move = secs;
                }
                model.loading = model::Loading {
                    idle: secs - last_move,
                    ..next
                };
            }
            Input::Loaded(r) => {
                let audit = (*r)?;
                let names = Names::read(&audit.cur.root);
                model.load(audit, names);
            }
        }
        refresh_preview(model);
        draw(terminal, model, &mut vs)?;
    }
    Ok(())
}

fn draw<B: Backend>(
    terminal: &mut Terminal<B>,
    model: &mut Model,
    vs: &mut view::ViewState,
) -> Result<()> {
    terminal
        .draw(|f| view::view(model, vs, f))
        .map_err(|e| Error::Usage(format!("cannot draw on the terminal: {e}")))?;
    model.page = vs.tree_height.max(1);
    Ok(())
}

/// Loads the preview of the selected pair when the selection moved.
fn refresh_preview(m: &mut Model) {
    let Some(i) = m.selected_pair() else { return };
    if m.preview.as_ref().is_some_and(|(p, _)| *p as usize == i) {
        return;
    }
    let Some(d) = m.data.as_ref() else { return };
    let a = &d.audit;
    let p = a.pairs[i];
    let prev = if p.cur == NONE || a.cur.entries[p.cur as usize].kind != Kind::File {
        Preview::None
    } else {
        let c = p.cur as usize;
        let base = match (&a.baseline, a.base.as_ref()) {
            (Baseline::Directory(_), Some(b))
                if p.base != NONE
                    && a.changes[i].0 == Change::Modified
                    && b.entries[p.base as usize].kind == Kind::File =>
            {
                Some(b.host_path(p.base as usize))
            }
            _ => None,
        };
        let id = (a.cur.dev(c), a.cur.entries[c].ino);
        preview::load(&a.cur.host_path(c), Some(id), base.as_deref())
    };
    m.preview = Some((i as u32, prev));
}

/// Runs one command; returns true if and only if the TUI must end.
fn execute(m: &mut Model, cmd: Cmd) -> bool {
    match cmd {
        Cmd::Quit => return true,
        Cmd::PrepareWrite => {
            let plan = prepare_write(m);
            m.plan_ready(plan);
        }
        Cmd::Write(text) => {
            let r = whitelist::write(&m.settings.whitelist, &text);
            m.write_done(r);
        }
        Cmd::AppendIgnore(rule) => {
            let r = append_ignore(m, &rule);
            m.ignore_saved(r);
        }
        Cmd::RestoreIgnore(prev) => {
            if let Some(path) = m.settings.ignore.clone() {
                let r = match prev {
                    Some(bytes) => {
                        crate::output::write_atomic(&path, true, |w| w.write_all(&bytes))
                    }
                    None => std::fs::remove_file(&path)
                        .map_err(|e| Error::io("cannot remove", &path, e)),
                };
                if let Err(e) = r {
                    m.status =
                        format!("undone in memory, but the ignore file was not restored: {e}");
                }
            }
        }
    }
    false
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
fn prepare_write(m: &Model) -> Result<WritePlan> {
    let path = m.settings.whitelist.clone();
    let old = match read_optional(&path)? {
        Some(b) => {
            Some(String::from_utf8(b).map_err(|_| Error::bad_input(&path, "not valid UTF-8"))?)
        }
        None => None,
    };
    let storage = m
        .data
        .as_ref()
        .and_then(|d| d.audit.storage.first().cloned())
        .unwrap_or_else(|| std::path::PathBuf::from("/persist"));
    let homes = m
        .data
        .as_ref()
        .map(|d| d.names.homes.clone())
        .unwrap_or_default();
    let new = whitelist::render(
        old.as_deref(),
        m.settings.flavor,
        &storage,
        &m.promotions(),
        &homes,
    )?;
    let split = |s: &str| -> Vec<String> { s.lines().map(crate::text::escape_str).collect() };
    let diff = preview::diff_lines(&split(old.as_deref().unwrap_or("")), &split(&new), 3);
    Ok(WritePlan {
        path,
        old,
        new,
        diff,
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
