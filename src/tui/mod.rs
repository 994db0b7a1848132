//! The interactive review, in the Elm architecture:
//!
//! ```text
//!  keys, mouse ──► Action / Pointer ─┐
//!                                    ├─► Msg ──► update (the only code that changes the Model) ──► Cmd
//!  results of I/O (audit, previews, ─┘                  │                                          │
//!  plan, writes, pager, editor) ◄────── runtime ◄───────┼──────────────────────────────────────────┘
//!                                                       ▼
//!                                      view(&Model) ──► Frame (one file per pane)
//! ```
//!
//! - [`keys`]: the one key table (help, footer and README read it).
//! - [`msg`]: [`msg::Msg`] (everything that changes the model) and
//!   [`msg::Cmd`] (the I/O update asks for).
//! - [`update`]: every state change.
//! - [`model`]: the state: mode, focus, filters, search, marks, status.
//! - [`data`]: the audit and what is derived from it at load (facts, totals,
//!   the search index).
//! - [`tree`]: the tree pane's state (expansion, rows, selection, sort, hits).
//! - [`search`]: search as you type over a million names.
//! - [`marks`]: the marked paths; overlap rules.
//! - [`migrate`]: `m`, the migration of the written paths into storage
//!   (its state, and the worker thread that plans and copies).
//! - [`view`]: drawing, one file and props struct per pane.
//! - [`preview`]: file previews and line diffs (read off the UI thread).
//! - [`script`]: `--keys` and the headless replay; [`term`]: the terminal.
//! - `exec`: the runtime's commands (the whitelist write and its preview,
//!   the ignore file, the pager and the editor, the migration's worker).
//!
//! This file is the runtime: the event loop (generic over the ratatui
//! backend and fed from any iterator, so tests drive it headless) and the
//! background scan; the commands it performs (`exec`) return their results
//! to `update` as messages. Nothing here waits for a disk: the scan and the
//! previews run on threads of their own and report through the loop's channel.
//!
//! # Adding a view (the findings of `check`, a migration plan)
//!
//! A view is a mode with its own keys, some state, and a widget:
//!
//! 1. A [`keys::Mode`] variant, and its rows in [`keys::KEYS`] (the help,
//!    the footer and the README follow); `Esc`/`q` should lead back.
//! 2. Its state in [`model::Model`] (an `Option<…>` field), filled by a
//!    [`msg::Msg`] variant carrying the result of the [`msg::Cmd`] that
//!    computes or reads it; the runtime's `execute` (in `exec.rs`) performs
//!    the command (on a thread of its own when it may be slow, as the
//!    previews are).
//! 3. Its arm in `update::act` (and a file under `update/` when it grows).
//! 4. A props struct in `view/NAME.rs` and one line in `view::view`: over
//!    everything like `help.rs` and `confirm.rs`, or in place of the body
//!    like `plan.rs` (the write preview).
//! 5. A snapshot and a journey in `tests/tui.rs`.

pub mod data;
mod exec;
pub mod findings;
pub mod keys;
pub mod marks;
pub mod migrate;
pub mod model;
pub mod msg;
pub mod preview;
pub mod script;
pub mod search;
pub mod term;
pub mod tree;
pub mod update;
pub mod view;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::Terminal;
use ratatui::backend::Backend;

use crate::audit::{Audit, AuditOptions};
use crate::scan::Progress;
use crate::{Error, Result};

use model::{Model, Settings};
use msg::{Cmd, Msg, Pointer};
use preview::{Preview, PreviewJob};

/// What the event loop reacts to.
#[derive(Debug)]
pub enum Input {
    /// A key press.
    Key(KeyEvent),
    /// A click or a turn of the wheel.
    Mouse(MouseEvent),
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

/// How a session runs besides its settings.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Keys pressed first (`--keys`), once the audit is loaded.
    pub keys: Vec<KeyEvent>,
    /// The marks are printed on exit (`--print-marked`): quitting does not
    /// ask about them.
    pub print_marked: bool,
    /// The whitelist configs given, for the check that feeds the findings view.
    pub config: Vec<crate::check::ConfigFile>,
}

/// Runs the TUI on a real terminal: the audit in a background thread, keys
/// from crossterm (after the scripted ones). Draws on stdout, or on
/// `/dev/tty` when stdout is a pipe. Restores the terminal on return and on
/// panic.
pub fn run(opts: AuditOptions, settings: Settings, options: RunOptions) -> Result<Model> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Err(Error::Terminal(
            "the TUI needs a terminal; in scripts use `darlings summary`, `darlings report`, `darlings promote`, or `--keys` to run it headless"
                .into(),
        ));
    }
    let progress = Arc::new(Progress::default());
    let (tx, rx) = mpsc::channel::<Input>();
    {
        let progress = Arc::clone(&progress);
        let tx = tx.clone();
        let config = options.config.clone();
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
    let gate = Arc::new(term::Gate::default());
    {
        let tx = tx.clone();
        term::spawn_reader(Arc::clone(&gate), move |ev| {
            use crossterm::event::Event;
            let input = match ev {
                Event::Key(k) => Input::Key(k),
                Event::Mouse(m) => Input::Mouse(m),
                Event::Resize(..) => Input::Resize,
                _ => return true,
            };
            tx.send(input).is_ok()
        });
    }
    let mut model = Model::new(settings);
    model.print_marked = options.print_marked;
    model.config = options.config;
    let fail = |e: std::io::Error| Error::Terminal(format!("cannot set up the terminal: {e}"));
    let mut tty = term::Tty::open().map_err(fail)?;
    if let Err(e) = term::enter(&mut tty) {
        let _ = term::leave(&mut tty);
        return Err(fail(e));
    }
    let r = Terminal::new(ratatui::backend::CrosstermBackend::new(tty))
        .map_err(fail)
        .and_then(|mut terminal| {
            let r = interactive(
                &mut terminal,
                &mut model,
                &rx,
                tx,
                &progress,
                options.keys,
                gate,
            );
            if let Ok(mut out) = term::Tty::open() {
                let _ = term::leave(&mut out);
            }
            r
        });
    progress.cancel.store(true, Ordering::Relaxed);
    r.map(|()| model)
}

/// The loop on a real terminal: every input, every result of a worker and
/// every tick arrives on `rx`; nothing waits for I/O. Inputs that queued up
/// while one was handled are all handled before the next draw. Scripted
/// keys are pressed once the audit is in, one every [`SCRIPT_PACE`], so
/// a demo can be followed.
fn interactive<B: Backend>(
    terminal: &mut Terminal<B>,
    model: &mut Model,
    rx: &Receiver<Input>,
    tx: Sender<Input>,
    progress: &Progress,
    script: Vec<KeyEvent>,
    gate: Arc<term::Gate>,
) -> Result<()> {
    let mut script = std::collections::VecDeque::from(script);
    let mut rt = Runtime::new(terminal, model, progress, tx, Some(gate));
    rt.draw()?;
    let mut last_scripted = Instant::now();
    loop {
        let wait = if script.is_empty() || rt.model.data.is_none() {
            Duration::from_millis(100)
        } else {
            SCRIPT_PACE.saturating_sub(last_scripted.elapsed())
        };
        let mut flow = match rx.recv_timeout(wait) {
            Ok(input) => rt.handle(input)?,
            Err(RecvTimeoutError::Timeout) => {
                match next_scripted(&mut script, rt.model.data.is_some()) {
                    Some(key) => {
                        last_scripted = Instant::now();
                        rt.handle(Input::Key(key))?
                    }
                    None => rt.handle(Input::Tick)?,
                }
            }
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

/// The time between two scripted keys on a real terminal.
const SCRIPT_PACE: Duration = Duration::from_millis(120);

/// The next scripted key, once the audit is in (`ready`); until then none,
/// and the script keeps its order. (A key taken too early used to go to the
/// back of the script: under load `--keys '/messages Enter v q'` ran as
/// `messages…/`, and its `e` opened the editor.)
fn next_scripted(
    script: &mut std::collections::VecDeque<KeyEvent>,
    ready: bool,
) -> Option<KeyEvent> {
    if ready { script.pop_front() } else { None }
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
    let mut rt = Runtime::new(terminal, model, progress, tx, None);
    rt.draw()?;
    for input in inputs {
        let mut flow = rt.handle(input)?;
        while flow != Flow::Quit && rt.waiting() {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(input) => flow = flow.max(rt.handle(input)?),
                Err(RecvTimeoutError::Timeout) => {
                    if let Some(msg) = rt.lost_worker() {
                        // Its last report may have come in just now.
                        while let Ok(input) = rx.try_recv() {
                            flow = flow.max(rt.handle(input)?);
                        }
                        if rt.migration.is_some() {
                            rt.migration = None;
                            flow = flow.max(rt.dispatch(msg)?);
                        }
                    }
                }
                Err(RecvTimeoutError::Disconnected) => break,
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
    /// Where workers report (the migration's).
    results: Sender<Input>,
    /// The thread planning or copying a migration, until its last report.
    migration: Option<migrate::Worker>,
    /// On a real terminal, the key reader's gate (closed while the pager
    /// or the editor has the terminal); `None` on an in-memory screen.
    real: Option<Arc<term::Gate>>,
}

impl<'a, B: Backend> Runtime<'a, B> {
    /// A runtime whose worker threads report on `results`.
    fn new(
        terminal: &'a mut Terminal<B>,
        model: &'a mut Model,
        progress: &'a Progress,
        results: Sender<Input>,
        real: Option<Arc<term::Gate>>,
    ) -> Self {
        Runtime {
            terminal,
            model,
            progress,
            vs: view::ViewState::default(),
            started: Instant::now(),
            last_move: 0.0,
            previews: {
                let results = results.clone();
                preview::reader(move |pair, p| {
                    results
                        .send(Input::Msg(Msg::PreviewLoaded(pair, p)))
                        .is_ok()
                })
            },
            in_flight: None,
            results,
            migration: None,
            real,
        }
    }

    /// Turns an input into a message and applies it.
    fn handle(&mut self, input: Input) -> Result<Flow> {
        let msg = match input {
            Input::Key(k) => match keys::map_key(&k, self.model.mode) {
                Some(a) => Msg::Action(a),
                None => return Ok(Flow::Draw),
            },
            Input::Mouse(ev) => {
                let spot = self.vs.spot(ev.column, ev.row);
                Msg::Pointer(match ev.kind {
                    MouseEventKind::Down(MouseButton::Left) => Pointer::Click(spot),
                    MouseEventKind::ScrollUp => Pointer::Wheel(spot, -1),
                    MouseEventKind::ScrollDown => Pointer::Wheel(spot, 1),
                    _ => return Ok(Flow::Same),
                })
            }
            Input::Resize => return Ok(Flow::Draw),
            Input::Tick => {
                if let Some(msg) = self.lost_worker() {
                    self.migration = None;
                    msg
                } else if let Some(w) = self.migration.as_ref().filter(|w| w.copying) {
                    // The gauge: the copy's counters, read on every tick.
                    Msg::Migration(w.id, migrate::Report::Progress(w.progress()))
                } else if self.model.data.is_some() {
                    return Ok(Flow::Same);
                } else {
                    Msg::Progress(self.loading())
                }
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
                if let Msg::Migration(id, r) = &msg {
                    self.worker_reported(*id, r);
                }
                msg
            }
        };
        self.dispatch(msg)
    }

    /// Whether a result the script must see is on its way (a preview, a
    /// migration's plan or results).
    fn waiting(&self) -> bool {
        self.in_flight.is_some() || self.migration.is_some()
    }

    /// When the migration's thread ended without its last report (it
    /// cannot, short of a bug), the report that says so: nobody waits
    /// for it forever, and the view leaves its stage.
    fn lost_worker(&self) -> Option<Msg> {
        let w = self.migration.as_ref().filter(|w| !w.alive())?;
        Some(Msg::Migration(
            w.id,
            migrate::Report::Finished(Err(
                "the migration stopped without a result; darlings migrate shows where it is".into(),
            )),
        ))
    }

    /// Keeps track of the migration worker from its reports: its last one
    /// ends it.
    fn worker_reported(&mut self, id: u32, r: &migrate::Report) {
        if matches!(
            r,
            migrate::Report::Planned(_) | migrate::Report::Finished(_)
        ) && self.migration.as_ref().is_some_and(|w| w.id == id)
        {
            self.migration = None;
        }
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

    /// Draws the model; a new height of the tree window goes back to the
    /// model (PgUp/PgDn).
    fn draw(&mut self) -> Result<()> {
        let (m, vs) = (&*self.model, &mut self.vs);
        self.terminal
            .draw(|f| view::view(m, vs, f))
            .map_err(|e| Error::Terminal(format!("cannot draw on the terminal: {e}")))?;
        // A frame without the tree (the write preview, the migration)
        // keeps the last height: PgUp/PgDn there move by a screen, not a row.
        let rows = self.vs.tree_height();
        if rows > 0 && rows != self.model.page {
            update::update(self.model, Msg::Page(rows));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keys::Action;
    use crate::tui::model::tests::model;
    use ratatui::backend::TestBackend;

    #[test]
    fn scripted_keys_wait_for_the_audit_in_their_order() {
        use crossterm::event::{KeyCode, KeyModifiers};
        let key = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
        let keys = "/messages";
        let mut script: std::collections::VecDeque<KeyEvent> = keys.chars().map(key).collect();
        // The audit is late: a few ticks take no key and keep the order.
        for _ in 0..4 {
            assert_eq!(next_scripted(&mut script, false), None);
        }
        let pressed: Vec<KeyEvent> =
            std::iter::from_fn(|| next_scripted(&mut script, true)).collect();
        assert_eq!(pressed, keys.chars().map(key).collect::<Vec<_>>());
    }

    #[test]
    fn page_keys_move_a_screen_in_views_without_the_tree() {
        let (_d, mut m) = model();
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let progress = Progress::default();
        let (tx, _rx) = mpsc::channel();
        let mut rt = Runtime::new(&mut terminal, &mut m, &progress, tx, None);
        rt.draw().unwrap();
        let page = rt.model.page;
        assert!(page > 1, "the tree's height: {page}");
        rt.dispatch(Action::ToggleMark.into()).unwrap();
        rt.dispatch(Action::WritePreview.into()).unwrap();
        assert_eq!(rt.model.mode, keys::Mode::ConfirmWrite);
        // The preview replaces the tree: its frame keeps the page.
        rt.draw().unwrap();
        rt.dispatch(Action::PageDown.into()).unwrap();
        assert_eq!(rt.model.popup_scroll as usize, page);
    }

    #[test]
    fn previews_are_read_by_another_thread_and_arrive_as_messages() {
        let (_d, mut m) = model();
        let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap();
        let progress = Progress::default();
        let (tx, rx) = mpsc::channel();
        let mut rt = Runtime::new(&mut terminal, &mut m, &progress, tx, None);
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
