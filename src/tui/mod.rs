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

pub mod findings;
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
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crossterm::event::KeyEvent;
use ratatui::Terminal;
use ratatui::backend::Backend;

use crate::audit::{Audit, AuditOptions};
use crate::scan::Progress;
use crate::{Error, Result};

use model::{Model, Settings, WritePlan};
use msg::{Cmd, Msg};
use preview::{Preview, PreviewJob};

/// What the event loop reacts to.
#[derive(Debug)]
pub enum Input {
    /// A key press.
    Key(KeyEvent),
    /// The terminal was resized.
    Resize,
    /// Time passed (redraws the progress while scanning).
    Tick,
    /// The background audit finished (the runtime reads the root's accounts).
    Loaded(Box<Result<Audit>>),
    /// A message from another thread: the audit with its accounts, or the
    /// result of a command run off the UI thread (a preview).
    Msg(Msg),
}

/// Runs the TUI on a real terminal: the audit in a background thread, keys
/// from crossterm. Restores the terminal on return and on panic.
pub fn run(
    opts: AuditOptions,
    config: Vec<crate::check::ConfigFile>,
    settings: Settings,
) -> Result<Model> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(Error::Terminal(
            "the TUI needs a terminal; in scripts use `darlings summary`, `darlings report` or `darlings promote`"
                .into(),
        ));
    }
    let progress = Arc::new(Progress::default());
    let (tx, rx) = mpsc::channel::<Input>();
    {
        let progress = Arc::clone(&progress);
        let tx = tx.clone();
        std::thread::spawn(move || {
            // The accounts are read here too: the UI thread does no I/O. So
            // is the whitelist check, which needs the audit before it moves.
            let (input, checked) = match crate::audit::run(&opts, &progress) {
                Ok(audit) => {
                    let users = crate::users::Users::read(&audit.cur().root);
                    let checked = crate::check::run(&audit, &config);
                    (
                        Input::Msg(Msg::Loaded(Box::new((audit, users)))),
                        Some(checked),
                    )
                }
                Err(e) => (Input::Loaded(Box::new(Err(e))), None),
            };
            let _ = tx.send(input);
            if let Some(c) = checked {
                let _ = tx.send(Input::Msg(Msg::Checked(Box::new(c))));
            }
        });
    }
    {
        let tx = tx.clone();
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
    }
    let mut model = Model::new(settings);
    let mut terminal = ratatui::try_init().map_err(|e| {
        ratatui::restore();
        Error::Terminal(format!("cannot set up the terminal: {e}"))
    })?;
    let r = interactive(&mut terminal, &mut model, &rx, tx, &progress);
    ratatui::restore();
    progress.cancel.store(true, Ordering::Relaxed);
    r.map(|()| model)
}

/// The loop on a real terminal: every input, every result of a worker and
/// every tick arrives on `rx`; nothing waits for I/O. Inputs that queued up
/// while one was handled are all handled before the next draw.
fn interactive<B: Backend>(
    terminal: &mut Terminal<B>,
    model: &mut Model,
    rx: &Receiver<Input>,
    tx: Sender<Input>,
    progress: &Progress,
) -> Result<()> {
    let mut rt = Runtime::new(terminal, model, progress, tx);
    rt.draw()?;
    loop {
        let mut flow = match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(input) => rt.handle(input)?,
            Err(RecvTimeoutError::Timeout) => rt.handle(Input::Tick)?,
            Err(RecvTimeoutError::Disconnected) => return Ok(()),
        };
        let busy = Instant::now();
        while flow != Flow::Quit && busy.elapsed() < Duration::from_millis(30) {
            match rx.try_recv() {
                Ok(input) => flow = flow.max(rt.handle(input)?),
                Err(_) => break,
            }
        }
        match flow {
            Flow::Draw => rt.draw()?,
            Flow::Same => {}
            Flow::Quit => return Ok(()),
        }
    }
}

/// The event loop fed from a script of inputs (tests, `--keys`): draws,
/// handles an input, waits for the work it started (so what the script
/// sees does not depend on timing), draws, until the model asks to quit
/// or the inputs end.
pub fn run_loop<B: Backend>(
    terminal: &mut Terminal<B>,
    model: &mut Model,
    inputs: impl IntoIterator<Item = Input>,
    progress: &Progress,
) -> Result<()> {
    let (tx, rx) = mpsc::channel();
    let mut rt = Runtime::new(terminal, model, progress, tx);
    rt.draw()?;
    for input in inputs {
        let mut flow = rt.handle(input)?;
        while flow != Flow::Quit && rt.in_flight.is_some() {
            match rx.recv() {
                Ok(input) => flow = flow.max(rt.handle(input)?),
                Err(_) => break,
            }
        }
        match flow {
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

/// What the loop does after an input (ordered: the most a batch of inputs
/// asks for wins).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Flow {
    /// Nothing changed: no draw.
    Same,
    /// Draw the model.
    Draw,
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
    /// Jobs for the preview reader thread.
    previews: Sender<PreviewJob>,
    /// The pair whose preview is being read.
    in_flight: Option<u32>,
}

impl<'a, B: Backend> Runtime<'a, B> {
    /// A runtime whose worker threads report on `results`.
    fn new(
        terminal: &'a mut Terminal<B>,
        model: &'a mut Model,
        progress: &'a Progress,
        results: Sender<Input>,
    ) -> Self {
        Runtime {
            terminal,
            model,
            progress,
            vs: view::ViewState::default(),
            started: Instant::now(),
            last_move: 0.0,
            previews: preview_reader(results),
            in_flight: None,
        }
    }

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
            Input::Msg(msg) => {
                if let Msg::PreviewLoaded(pair, _) = &msg
                    && self.in_flight == Some(*pair)
                {
                    self.in_flight = None;
                }
                msg
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
        if let Some(Cmd::Preview(job)) = update::wanted_preview(self.model) {
            if job.file.is_none() {
                // Nothing to read: no need for the reader thread.
                update::update(self.model, Msg::PreviewLoaded(job.pair, Preview::None));
            } else if self.in_flight != Some(job.pair) {
                self.in_flight = Some(job.pair);
                if let Err(mpsc::SendError(job)) = self.previews.send(job) {
                    self.in_flight = None;
                    update::update(self.model, Msg::PreviewLoaded(job.pair, job.run()));
                }
            }
        }
        Ok(Flow::Draw)
    }

    /// Performs one command; returns the message that reports its result.
    fn execute(&mut self, cmd: Cmd) -> Option<Msg> {
        let m = &*self.model;
        match cmd {
            Cmd::Quit => None,
            Cmd::PrepareWrite => Some(Msg::PlanReady(prepare_write(m))),
            Cmd::Write(text) => Some(Msg::Written(crate::whitelist::write(
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

/// Starts the thread that reads previews, so a slow disk, a large file or
/// a hung network mount never holds up a key: it reads the latest job
/// (older ones queued behind it are dropped) and sends the preview to
/// `results`. It ends when the runtime drops its end of the job channel.
fn preview_reader(results: Sender<Input>) -> Sender<PreviewJob> {
    let (tx, rx) = mpsc::channel::<PreviewJob>();
    // Without a thread (spawning failed) the job receiver is dropped, sends
    // fail, and the runtime reads the preview itself.
    let _ = std::thread::Builder::new()
        .name("darlings-preview".into())
        .spawn(move || {
            while let Ok(mut job) = rx.recv() {
                while let Ok(newer) = rx.try_recv() {
                    job = newer;
                }
                let p = job.run();
                if results
                    .send(Input::Msg(Msg::PreviewLoaded(job.pair, p)))
                    .is_err()
                {
                    break;
                }
            }
        });
    tx
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
    let new_storage = m
        .data
        .as_ref()
        .and_then(|d| d.audit.storage().first().cloned())
        .unwrap_or_else(|| std::path::PathBuf::from("/persist"));
    let homes = m
        .data
        .as_ref()
        .map(|d| d.users.people())
        .unwrap_or_default();
    let req = crate::whitelist::Request {
        flavor: m.settings.flavor,
        storage: m.settings.storage.clone(),
        new_storage,
    };
    let plan = match crate::whitelist::plan(&m.settings.whitelist, &req, &m.promotions(), &homes) {
        Ok(plan) => plan,
        // No safe place: the preview shows why and what to paste.
        Err(Error::NoSafeEdit { problem, paste, .. }) => {
            let old = read_optional(&m.settings.whitelist)?
                .map(|b| String::from_utf8_lossy(&b).into_owned());
            return Ok(WritePlan {
                path: m.settings.whitelist.clone(),
                new: old.clone().unwrap_or_default(),
                old,
                diff: Vec::new(),
                notes: Vec::new(),
                refused: Some(format!("{problem}\n{paste}")),
            });
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keys::Action;
    use crate::tui::model::tests::model;
    use ratatui::backend::TestBackend;

    #[test]
    fn previews_are_read_by_another_thread_and_arrive_as_messages() {
        let (_d, mut m) = model();
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let progress = Progress::default();
        let (tx, rx) = mpsc::channel();
        let mut rt = Runtime::new(&mut terminal, &mut m, &progress, tx);
        // /etc is the second row; its only child is the file machine-id.
        rt.dispatch(Action::Down.into()).unwrap();
        rt.dispatch(Action::Expand.into()).unwrap();
        rt.dispatch(Action::Down.into()).unwrap();
        let file = rt.model.selected_pair().unwrap();
        assert_eq!(
            rt.model.data.as_ref().unwrap().audit.path(file),
            b"/etc/machine-id"
        );
        assert_eq!(rt.in_flight, Some(file as u32), "the read is elsewhere");
        assert!(
            rt.model
                .preview
                .as_ref()
                .is_none_or(|(p, _)| *p as usize != file),
            "the UI thread did not read the file"
        );
        let Ok(Input::Msg(msg)) = rx.recv() else {
            panic!("the reader thread reports back")
        };
        rt.handle(Input::Msg(msg)).unwrap();
        assert_eq!(rt.in_flight, None);
        assert_eq!(
            rt.model.preview,
            Some((file as u32, Preview::Text(vec!["0123".into()], false)))
        );
    }
}
