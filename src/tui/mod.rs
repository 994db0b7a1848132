//! The interactive review, in the Elm architecture:
//!
//! ```text
//! key ──► keys::map_key ──► Action ─┐
//!                                   ├─► Msg ──► update::update(&mut Model) ──► Cmd ──► runtime (I/O)
//! I/O results (previews, writes) ───┘                │                                    │
//!        ▲                                           ▼                                    │
//!        └──────────────────────────────  view::view(&Model) ──► Frame                    │
//!        └────────────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! - [`keys`]: the one key table (help, footer and README read it).
//! - [`msg`]: [`msg::Msg`] (everything that changes the model) and
//!   [`msg::Cmd`] (the I/O update asks for).
//! - [`update`]: every state change; the only code that changes the model.
//! - [`model`]: the state: audit, aggregates, filters, search, marks.
//! - [`tree`]: the tree pane's state (expansion, rows, selection, sort, hits).
//! - [`marks`]: the marked paths; overlap rules.
//! - [`view`]: drawing, one file per pane; only the visible window.
//! - [`preview`]: file previews and line diffs (the only reads of the root).
//!
//! This file is the runtime: the event loop (generic over the ratatui
//! backend and fed from any iterator, so tests drive it headless), the
//! background scan, and the commands, whose results go back to `update`
//! as messages.

pub mod keys;
pub mod marks;
pub mod model;
pub mod msg;
pub mod preview;
pub mod tree;
pub mod update;
pub mod view;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use crossterm::event::KeyEvent;
use ratatui::Terminal;
use ratatui::backend::Backend;

use crate::audit::{Audit, AuditOptions};
use crate::scan::Progress;
use crate::{Error, Result};

use model::{Model, Settings, WritePlan};
use msg::{Cmd, Msg};

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
        return Err(Error::Terminal(
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
        Error::Terminal(format!("cannot set up the terminal: {e}"))
    })?;
    let r = run_loop(&mut terminal, &mut model, inputs, &progress);
    ratatui::restore();
    progress.cancel.store(true, Ordering::Relaxed);
    r.map(|()| model)
}

/// The event loop: draws, reads an input, updates, runs the commands, until
/// the model asks to quit or the inputs end.
pub fn run_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    model: &mut Model,
    inputs: impl IntoIterator<Item = Input>,
    progress: &Progress,
) -> Result<()> {
    let mut rt = Runtime {
        terminal,
        model,
        progress,
        vs: view::ViewState::default(),
        started: Instant::now(),
        last_move: 0.0,
    };
    rt.draw()?;
    for input in inputs {
        match rt.handle(input)? {
            Flow::Draw => rt.draw()?,
            Flow::Same => {}
            Flow::Quit => {
                progress.cancel.store(true, Ordering::Relaxed);
                return Ok(());
            }
        }
    }
    Ok(())
}

/// What the loop does after an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Flow {
    /// Draw the model.
    Draw,
    /// Nothing changed: no draw.
    Same,
    /// Leave.
    Quit,
}

/// The state of the event loop besides the model.
struct Runtime<'a, B: Backend> {
    terminal: &'a mut Terminal<B>,
    model: &'a mut Model,
    progress: &'a Progress,
    vs: view::ViewState,
    started: Instant,
    /// When the scan's counters last moved (seconds since `started`).
    last_move: f64,
}

impl<B: Backend> Runtime<'_, B> {
    /// Turns an input into a message and applies it.
    fn handle(&mut self, input: Input) -> Result<Flow> {
        let msg = match input {
            Input::Key(k) => match keys::map_key(&k, self.model.mode) {
                Some(a) => Msg::Action(a),
                None => return Ok(Flow::Draw),
            },
            Input::Resize => return Ok(Flow::Draw),
            Input::Tick => {
                if self.model.data.is_some() {
                    return Ok(Flow::Same);
                }
                Msg::Progress(self.loading())
            }
            Input::Loaded(r) => {
                let audit = (*r)?;
                let users = crate::users::Users::read(&audit.cur().root);
                Msg::Loaded(Box::new((audit, users)))
            }
        };
        self.dispatch(msg)
    }

    /// The scan's counters now.
    fn loading(&mut self) -> model::Loading {
        let p = self.progress;
        let secs = self.started.elapsed().as_secs_f64();
        let next = model::Loading {
            entries: p.entries.load(Ordering::Relaxed),
            bytes: p.bytes_hashed.load(Ordering::Relaxed),
            files: p.files_hashed.load(Ordering::Relaxed),
            secs,
            idle: 0.0,
        };
        let prev = self.model.loading;
        if (next.entries, next.bytes) != (prev.entries, prev.bytes) {
            self.last_move = secs;
        }
        model::Loading {
            idle: secs - self.last_move,
            ..next
        }
    }

    /// Updates the model with `msg` and every message its commands bring
    /// back, then fetches what the screen now needs (the preview).
    fn dispatch(&mut self, msg: Msg) -> Result<Flow> {
        let mut next = Some(msg);
        while let Some(msg) = next.take() {
            if let Some(cmd) = update::update(self.model, msg) {
                if cmd == Cmd::Quit {
                    return Ok(Flow::Quit);
                }
                next = self.execute(cmd);
            }
        }
        if let Some(cmd) = update::wanted_preview(self.model)
            && let Some(msg) = self.execute(cmd)
        {
            update::update(self.model, msg);
        }
        Ok(Flow::Draw)
    }

    /// Performs one command; returns the message that reports its result.
    fn execute(&mut self, cmd: Cmd) -> Option<Msg> {
        let m = &*self.model;
        match cmd {
            Cmd::Quit => None,
            Cmd::PrepareWrite => Some(Msg::PlanReady(prepare_write(m))),
            Cmd::Write(text) => Some(Msg::Written(crate::whitelist::write_atomic(
                &m.settings.whitelist,
                &text,
            ))),
            Cmd::AppendIgnore(rule) => Some(Msg::IgnoreSaved(append_ignore(m, &rule))),
            Cmd::RestoreIgnore(prev) => {
                let path = m.settings.ignore.clone()?;
                Some(Msg::IgnoreRestored(restore_ignore(&path, prev)))
            }
            Cmd::Preview(job) => Some(Msg::PreviewLoaded(job.pair, job.run())),
        }
    }

    /// Draws the model; a new height of the tree window goes back to the
    /// model (PgUp/PgDn).
    fn draw(&mut self) -> Result<()> {
        let (m, vs) = (&*self.model, &mut self.vs);
        self.terminal
            .draw(|f| view::view(m, vs, f))
            .map_err(|e| Error::Terminal(format!("cannot draw on the terminal: {e}")))?;
        let rows = self.vs.tree_height.max(1);
        if rows != self.model.page {
            update::update(self.model, Msg::Page(rows));
        }
        Ok(())
    }
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
fn prepare_write(m: &Model) -> Result<WritePlan> {
    let storage = m
        .data
        .as_ref()
        .and_then(|d| d.audit.storage().first().cloned())
        .unwrap_or_else(|| std::path::PathBuf::from("/persist"));
    let homes = m
        .data
        .as_ref()
        .map(|d| d.users.people())
        .unwrap_or_default();
    let plan = crate::whitelist::plan(
        &m.settings.whitelist,
        m.settings.flavor,
        &storage,
        &m.promotions(),
        &homes,
    )?;
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
