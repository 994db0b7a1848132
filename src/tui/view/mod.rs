//! `view(&Model, &mut ViewState, &mut Frame)`: draws the model. Reads the
//! model only; its one piece of mutable state is [`ViewState`] (scroll
//! offsets kept between frames). Only the rows inside the window are built,
//! so drawing costs the same on a million entries as on ten. Every name and
//! preview line is escaped before it reaches the terminal.
//!
//! One file per pane, after dua's `widgets/`: each pane is a props struct
//! (borrowed data for one frame) that renders into a buffer, so a pane can
//! be drawn and tested alone. This file only lays them out:
//!
//! ```text
//! ┌ header ───────────────────────────────────────┐
//! │ tree           │ detail                       │
//! │                ├──────────────────────────────┤
//! │                │ marked (when something is)   │
//! ├ status ───────────────────────────────────────┤
//! └ footer ───────────────────────────────────────┘
//!   popups over it: help, confirm; the write plan, the findings and the
//!   migration replace the body
//! ```

pub mod confirm;
pub mod detail;
pub mod header;
pub mod help;
pub mod loading;
pub mod marked;
pub mod migrate;
pub mod plan;
pub mod status;
pub mod tree;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::Block;
use unicode_width::UnicodeWidthChar;

use super::keys::Mode;
use super::model::{ClassFilter, Focus, Model};
use super::msg::Spot;
use crate::linediff::DiffLine;

/// What the view keeps between frames: the scroll offsets, and where the
/// last frame put each pane (mouse clicks are read against it).
#[derive(Clone, Debug, Default)]
pub struct ViewState {
    /// The tree's window over its rows.
    pub tree: tree::TreeScroll,
    /// The marked pane's window over the marks.
    pub marked: marked::MarkedScroll,
    /// The detail pane, when drawn.
    pub detail: Option<Rect>,
}

impl ViewState {
    /// Rows the tree window held at the last draw (PgUp/PgDn move by it).
    pub fn tree_height(&self) -> usize {
        self.tree.rows.map_or(0, |r| r.height as usize)
    }

    /// What is at column `x`, row `y` of the last frame.
    pub fn spot(&self, x: u16, y: u16) -> Spot {
        let inside = |r: &Rect| x >= r.x && x < r.x + r.width && y >= r.y && y < r.y + r.height;
        if let Some(rows) = self.tree.rows.filter(inside) {
            let r = self.tree.offset + usize::from(y - rows.y);
            if r < self.tree.len {
                return Spot::TreeRow(r);
            }
        }
        if self.tree.area.as_ref().is_some_and(inside) {
            return Spot::Tree;
        }
        if let Some(rows) = self.marked.rows.filter(inside) {
            let r = self.marked.offset + usize::from(y - rows.y);
            if r < self.marked.len {
                return Spot::MarkedRow(r);
            }
        }
        if self.marked.area.as_ref().is_some_and(inside) {
            return Spot::Marked;
        }
        if self.detail.as_ref().is_some_and(inside) {
            return Spot::Detail;
        }
        Spot::Elsewhere
    }
}

/// Secondary text.
pub const DIM: Style = Style::new().fg(Color::DarkGray);
/// Titles and emphasis.
pub const BOLD: Style = Style::new().add_modifier(Modifier::BOLD);

/// Whether `y` does something in the current mode: in the write preview,
/// unless the file has no safe place for the marks or every mark is
/// refused; in the migration, when the plan on screen
/// copies something (not while planning or copying, nor after).
fn offers_yes(m: &Model) -> bool {
    match m.mode {
        Mode::ConfirmWrite => m
            .plan
            .as_ref()
            .is_some_and(|p| p.refused.is_none() && !p.writes.is_empty()),
        Mode::Migrate => m.migration.as_ref().is_some_and(|g| g.to_copy() > 0),
        _ => true,
    }
}

/// Draws the whole screen.
pub fn view(m: &Model, vs: &mut ViewState, f: &mut Frame) {
    let area = f.area();
    let [header, body, status, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    // Panes not drawn this frame cannot be clicked.
    vs.tree.area = None;
    vs.tree.rows = None;
    vs.marked.area = None;
    vs.marked.rows = None;
    vs.detail = None;
    f.render_widget(header::props(m), header);
    if m.data.is_none() {
        f.render_widget(
            loading::LoadingProps {
                root: &m.settings.root,
                loading: m.loading,
            },
            body,
        );
    } else if m.mode == Mode::ConfirmWrite {
        if let Some(p) = &m.plan {
            f.render_widget(
                plan::PlanProps {
                    plan: p,
                    scroll: m.popup_scroll,
                },
                body,
            );
        }
    } else if let (Mode::Migrate, Some(g)) = (m.mode, &m.migration) {
        f.render_widget(
            migrate::MigrateProps {
                migration: g,
                scroll: m.popup_scroll,
            },
            body,
        );
    } else {
        draw_body(m, vs, f, body);
    }
    f.render_widget(
        status::StatusProps {
            text: &m.status,
            search: (m.mode == Mode::Search).then_some(m.search.as_str()),
        },
        status,
    );
    f.render_widget(
        status::FooterProps {
            mode: m.mode,
            yes: offers_yes(m),
        },
        footer,
    );
    match m.mode {
        Mode::Help => f.render_widget(
            help::HelpProps {
                scroll: m.popup_scroll,
            },
            area,
        ),
        Mode::ConfirmQuit => f.render_widget(
            confirm::ConfirmQuitProps {
                marked: m.marks.len(),
            },
            area,
        ),
        Mode::Findings => f.render_widget(
            crate::tui::findings::FindingsProps {
                findings: &m.findings,
            },
            body,
        ),
        _ => {}
    }
}

/// The tree, the detail pane and, when something is marked, the marked pane.
fn draw_body(m: &Model, vs: &mut ViewState, f: &mut Frame, area: Rect) {
    let Some(d) = &m.data else { return };
    let wide = area.width >= 110;
    let (tree_area, side) = if wide {
        let [t, s] = Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)])
            .areas(area);
        (t, s)
    } else {
        let [t, s] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
        (t, s)
    };
    let (detail_area, marked_area) = if m.marks.is_empty() {
        (side, None)
    } else {
        let h = (m.marks.len() as u16 + 3).min(side.height / 2).max(4);
        let [d, k] = Layout::vertical([Constraint::Min(3), Constraint::Length(h)]).areas(side);
        (d, Some(k))
    };
    let props = tree::TreeProps {
        data: d,
        tree: &m.tree,
        marks: &m.marks,
        promoted: &m.promoted,
        filter: m.filter,
        change: m.change,
        focused: m.focus == Focus::Tree,
    };
    f.render_stateful_widget(props, tree_area, &mut vs.tree);
    let pair = m.selected_pair();
    f.render_widget(
        detail::DetailProps {
            data: d,
            pair,
            marks: &m.marks,
            promoted: &m.promoted,
            preview: m
                .preview
                .as_ref()
                .filter(|(p, _)| Some(*p as usize) == pair)
                .map(|(_, prev)| prev),
            scroll: m.detail_scroll,
            focused: m.focus == Focus::Detail,
        },
        detail_area,
    );
    vs.detail = Some(detail_area);
    if let Some(k) = marked_area {
        f.render_stateful_widget(
            marked::MarkedProps {
                marks: &m.marks,
                selected: m.marked_sel,
                focused: m.focus == Focus::Marked,
            },
            k,
            &mut vs.marked,
        );
    }
}

/// Whether the header counts the open stray paths (the default view).
pub fn counts_open(filter: ClassFilter, change: Option<crate::diff::Change>) -> bool {
    filter == ClassFilter::Stray && change.is_none()
}

/// A bordered pane, its border bright when it has the focus.
pub fn pane(title: String, focused: bool) -> Block<'static> {
    let b = Block::bordered().title(title);
    if focused {
        b.border_style(Style::new().fg(Color::Cyan))
    } else {
        b.border_style(DIM)
    }
}

/// One line of a diff, coloured.
pub fn diff_line(l: &DiffLine) -> Line<'static> {
    match l {
        DiffLine::Same(s) => Line::raw(format!("  {s}")),
        DiffLine::Added(s) => Line::styled(format!("+ {s}"), Style::new().fg(Color::Green)),
        DiffLine::Removed(s) => Line::styled(format!("- {s}"), Style::new().fg(Color::Red)),
        DiffLine::Skipped(n) => Line::styled(format!("  … {n} unchanged lines"), DIM),
    }
}

/// A `w` × `h` rectangle in the middle of `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Display width of `s`.
pub fn str_width(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// Cuts `s` to at most `w` columns, ending in `…` when cut.
pub fn fit(s: &str, w: usize) -> String {
    if str_width(s) <= w {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw + 1 > w {
            break;
        }
        out.push(c);
        used += cw;
    }
    if w > 0 {
        out.push('…');
    }
    out
}

/// A count in few columns: 999, 12.3k, 4.5M.
pub fn count(n: u64) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{:.1}k", n as f64 / 1000.0),
        _ => format!("{:.1}M", n as f64 / 1_000_000.0),
    }
}
