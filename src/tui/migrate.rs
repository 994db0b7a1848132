//! The migration screen: after `y` wrote the whitelist, `m` plans copying
//! the data of the paths written in this session into storage (see
//! `docs/migrate.md`), shows the plan, and `y` carries it out with a
//! progress gauge; the results, with every conflict and refusal, stay on
//! screen. Planning and copying run in a background thread: the runtime
//! calls [`Migration::poll`] on every tick.

use std::sync::{Arc, Mutex};

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Gauge, Paragraph, Wrap};

use crate::migrate::{self, Counters, Plan, Request};
use crate::{Error, Result, text};

/// Where the migration is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// The plan is being made (walking, comparing with storage).
    Planning,
    /// The plan is on screen, waiting for `y`.
    Ready,
    /// Copying and verifying.
    Running,
    /// Finished: the results are on screen.
    Done,
    /// The plan could not be made (the message says why).
    Failed(String),
}

type Slot = Arc<Mutex<Option<Result<Plan>>>>;

/// The state of the migration screen.
#[derive(Debug)]
pub struct Migration {
    /// Where it is.
    pub stage: Stage,
    /// The plan or the results, as text (escaped names).
    pub lines: Vec<String>,
    /// Progress of the copy.
    pub counters: Arc<Counters>,
    /// Bytes to copy (the gauge counts copy and verification: twice this).
    pub total: u64,
    /// Paths refused by the last run (0 while not done).
    pub refused: usize,
    slot: Slot,
    plan: Option<Plan>,
}

/// The request for the paths written in this session: the whitelist file
/// `w` wrote is read back, so the plan uses exactly what was written.
pub fn request(
    root: &std::path::Path,
    whitelist: &std::path::Path,
    paths: Vec<Vec<u8>>,
) -> Result<Request> {
    if paths.is_empty() {
        return Err(Error::Usage(
            "nothing written yet: mark paths (Space), write them (w, y), then m migrates them"
                .into(),
        ));
    }
    let listed = crate::settings::load_persistence(root, &[whitelist.to_path_buf()])?;
    let only: Vec<Vec<u8>> = paths
        .into_iter()
        .filter(|p| listed.iter().any(|e| &e.path == p))
        .collect();
    if only.is_empty() {
        return Err(Error::Usage(format!(
            "{} does not list the paths written in this session",
            text::quote_path(whitelist)
        )));
    }
    Ok(Request {
        root: root.to_path_buf(),
        listed,
        only,
        storage: Vec::new(),
        keepers: Vec::new(),
    })
}

fn render(plan: &Plan, done: bool) -> Vec<String> {
    let mut out = Vec::new();
    let _ = migrate::render::report(&mut out, plan, done, "");
    String::from_utf8_lossy(&out)
        .lines()
        .map(str::to_string)
        .collect()
}

impl Migration {
    /// Starts planning `req` in the background.
    pub fn plan(req: Request) -> Migration {
        let slot: Slot = Arc::new(Mutex::new(None));
        let to = Arc::clone(&slot);
        std::thread::spawn(move || {
            let r = migrate::plan(&req);
            if let Ok(mut s) = to.lock() {
                *s = Some(r);
            }
        });
        Migration {
            stage: Stage::Planning,
            lines: Vec::new(),
            counters: Arc::new(Counters::default()),
            total: 0,
            refused: 0,
            slot,
            plan: None,
        }
    }

    /// Takes what the background thread produced; returns true if and
    /// only if the screen changed.
    pub fn poll(&mut self) -> bool {
        if !matches!(self.stage, Stage::Planning | Stage::Running) {
            return false;
        }
        let Some(r) = self.slot.lock().ok().and_then(|mut s| s.take()) else {
            return self.stage == Stage::Running;
        };
        match (r, &self.stage) {
            (Ok(plan), Stage::Planning) => {
                self.lines = render(&plan, false);
                self.total = plan.bytes_to_copy();
                self.plan = Some(plan);
                self.stage = Stage::Ready;
            }
            (Ok(plan), _) => {
                self.lines = render(&plan, true);
                self.refused = plan
                    .paths
                    .iter()
                    .filter(|p| matches!(p.state, migrate::State::Refused(_)))
                    .count();
                self.stage = Stage::Done;
            }
            (Err(e), _) => self.stage = Stage::Failed(e.to_string()),
        }
        true
    }

    /// Carries the plan out in the background (`y` on the plan).
    pub fn run(&mut self) {
        let Some(mut plan) = self.plan.take() else {
            return;
        };
        let to = Arc::clone(&self.slot);
        let counters = Arc::clone(&self.counters);
        self.stage = Stage::Running;
        std::thread::spawn(move || {
            let r = migrate::execute(&mut plan, &counters, &mut migrate::Quiet).map(|()| plan);
            if let Ok(mut s) = to.lock() {
                *s = Some(r);
            }
        });
    }

    /// Whether there is anything to copy in the plan on screen.
    pub fn has_work(&self) -> bool {
        self.plan.as_ref().is_some_and(|p| {
            p.paths
                .iter()
                .any(|p| matches!(p.state, migrate::State::ToCopy))
        })
    }
}

/// Draws the migration screen into `area`; `scroll` is the popup scroll.
pub fn draw(m: &Migration, scroll: u16, f: &mut Frame, area: Rect) {
    let (title, hint) = match &m.stage {
        Stage::Planning => (
            " migration: planning… ",
            "walking the paths and storage; Esc goes back",
        ),
        Stage::Ready if m.has_work() => (
            " migration plan ",
            "y copies, verifies and puts the data in storage; n or Esc goes back",
        ),
        Stage::Ready => (" migration plan ", "nothing to copy; n or Esc goes back"),
        Stage::Running => (
            " migration: copying… ",
            "copying and verifying; wait for the end",
        ),
        Stage::Done if m.refused > 0 => (
            " migration: done, with refusals ",
            "refused paths are still only on the root: fix what is said and run again; Esc closes",
        ),
        Stage::Done => (" migration: done ", "every path is in storage; Esc closes"),
        Stage::Failed(_) => (" migration: cannot plan ", "Esc goes back"),
    };
    let color = match &m.stage {
        Stage::Done if m.refused == 0 => Color::Green,
        Stage::Done | Stage::Failed(_) => Color::Red,
        _ => Color::Yellow,
    };
    let block = Block::bordered()
        .title(title)
        .border_style(Style::new().fg(color));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [body, gauge, footer] = Layout::vertical([
        Constraint::Min(1),
        Constraint::Length(if m.stage == Stage::Running { 1 } else { 0 }),
        Constraint::Length(1),
    ])
    .areas(inner);
    let lines: Vec<Line> = match &m.stage {
        Stage::Failed(e) => vec![Line::raw(text::escape_str(e))],
        _ => m.lines.iter().map(|l| Line::raw(l.as_str())).collect(),
    };
    let max = lines.len().saturating_sub(body.height as usize);
    let scroll = (scroll as usize).min(max) as u16;
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        body,
    );
    if m.stage == Stage::Running {
        use std::sync::atomic::Ordering;
        let done =
            m.counters.bytes.load(Ordering::Relaxed) + m.counters.verified.load(Ordering::Relaxed);
        let total = m.total.saturating_mul(2).max(1);
        let ratio = (done as f64 / total as f64).clamp(0.0, 1.0);
        f.render_widget(
            Gauge::default()
                .gauge_style(Style::new().fg(Color::Yellow))
                .ratio(ratio)
                .label(format!(
                    "{} of {} copied and verified",
                    text::human_bytes(done / 2),
                    text::human_bytes(m.total)
                )),
            gauge,
        );
    }
    f.render_widget(
        Paragraph::new(Line::styled(
            hint,
            Style::new().add_modifier(Modifier::BOLD).fg(color),
        )),
        footer,
    );
}
