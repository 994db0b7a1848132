//! The migration view (`m` after a write), in place of the body: the plan
//! of copying the written paths into storage (each path, its entries and
//! bytes, its destination, what stops it), a gauge while copying, then the
//! results with every refusal and the next steps. The text is the one
//! `darlings migrate` prints, names already escaped.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Gauge, Paragraph, Widget, Wrap};

use super::{BOLD, DIM, fit, str_width};
use crate::text::{escape_str, human_bytes, quote_path};
use crate::tui::migrate::{Migration, Stage};

/// What the migration view shows.
pub struct MigrateProps<'a> {
    /// The migration.
    pub migration: &'a Migration,
    /// Lines scrolled off the top.
    pub scroll: u16,
}

/// A line of the plan, coloured by what happens to its path.
fn styled(l: &str) -> Line<'static> {
    let t = l.trim_start();
    let style = if l.starts_with("  ") && !l.starts_with("   ") {
        if t.starts_with("REFUSED") {
            BOLD.fg(Color::Red)
        } else if t.starts_with("copy") {
            Style::new().fg(Color::Green)
        } else if t.starts_with("warning") {
            Style::new().fg(Color::Yellow)
        } else {
            Style::new()
        }
    } else if l.starts_with("Storage ") || l.starts_with("Next") {
        BOLD
    } else if t.starts_with("note") {
        DIM
    } else {
        Style::new()
    };
    Line::styled(l.to_string(), style)
}

/// The rows `line` takes when wrapped at word boundaries into `width`
/// columns (never fewer than the paragraph draws: a word is counted as
/// starting a row whenever it does not fit on the current one).
fn wrapped_rows(line: &str, width: usize) -> usize {
    if width == 0 {
        return 1;
    }
    let (mut rows, mut col) = (1, 0);
    for word in line.split_inclusive(' ') {
        let w = str_width(word.trim_end_matches(' '));
        if col > 0 && col + w > width {
            rows += 1;
            col = 0;
        }
        if w > width {
            // A word longer than a row is cut.
            rows += (w - 1) / width;
            col = w % width;
        } else {
            col += str_width(word);
        }
    }
    rows
}

impl Widget for MigrateProps<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let g = self.migration;
        let root = quote_path(&g.root);
        let (title, color) = match &g.stage {
            Stage::Planning => (format!(" migration of {root}: planning… "), Color::Yellow),
            Stage::Ready => (format!(" migration plan for {root} "), Color::Yellow),
            Stage::Copying => (format!(" migration of {root}: copying… "), Color::Yellow),
            Stage::Done => match &g.sheet {
                Some(s) if s.refused > 0 => (
                    format!(" migration of {root}: done, with refusals "),
                    Color::Red,
                ),
                _ => (format!(" migration of {root}: done "), Color::Green),
            },
            Stage::Failed(_) => (format!(" migration of {root}: stopped "), Color::Red),
        };
        Clear.render(area, buf);
        let block = Block::bordered()
            .title(title)
            .border_style(Style::new().fg(color));
        let inner = block.inner(area);
        block.render(area, buf);
        let copying = g.stage == Stage::Copying;
        let [body, gauge, hint] = Layout::vertical([
            Constraint::Min(1),
            Constraint::Length(if copying { 2 } else { 0 }),
            Constraint::Length(1),
        ])
        .areas(inner);
        let lines: Vec<Line> = match (&g.stage, &g.sheet) {
            (Stage::Failed(e), _) => vec![Line::raw(escape_str(e))],
            (Stage::Planning, _) => vec![Line::styled(
                "Reading the whitelist back, walking the written paths, comparing them with storage…",
                DIM,
            )],
            (_, Some(s)) => s.lines.iter().map(|l| styled(l)).collect(),
            (_, None) => Vec::new(),
        };
        // Scroll no further than the last row shows (the wheel and j/k
        // stop there); long lines wrap onto several rows.
        let rows: usize = lines
            .iter()
            .map(|l| wrapped_rows(&l.to_string(), body.width as usize))
            .sum();
        let max = rows.saturating_sub(body.height as usize);
        let scroll = max.min(self.scroll as usize) as u16;
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .render(body, buf);
        if copying {
            let total = g.total.saturating_mul(2).max(1);
            let label = format!(
                "{}{} of {} copied and verified",
                g.current
                    .as_ref()
                    .map(|(p, n, of)| format!("{p} ({n} of {of}): "))
                    .unwrap_or_default(),
                human_bytes(g.done / 2),
                human_bytes(g.total)
            );
            let [_, bar] =
                Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(gauge);
            Gauge::default()
                .gauge_style(Style::new().fg(Color::Yellow).bg(Color::DarkGray))
                .ratio((g.done as f64 / total as f64).clamp(0.0, 1.0))
                .label(label)
                .render(bar, buf);
        }
        let text = match (&g.stage, &g.sheet) {
            (Stage::Planning, _) => "Esc goes back".to_string(),
            (Stage::Ready, Some(s)) if s.paths > 0 => format!(
                "y copies {} ({}) into storage, verifies every byte, then puts each in place; n or Esc goes back",
                if s.paths == 1 {
                    "1 path".to_string()
                } else {
                    format!("{} paths", s.paths)
                },
                human_bytes(s.bytes)
            ),
            (Stage::Ready, _) => "Nothing to copy; n or Esc goes back".into(),
            (Stage::Copying, _) => {
                "q quits at once: each path is left absent from storage or complete".into()
            }
            (Stage::Done, Some(s)) if s.refused > 0 => {
                "Refused paths are only on ROOT still: fix what is said, then m again; Esc closes"
                    .into()
            }
            (Stage::Done, _) => {
                "The paths written in this session are in storage (darlings check: the rest of the whitelist); Esc closes"
                    .into()
            }
            (Stage::Failed(_), _) => "Esc goes back".into(),
        };
        Paragraph::new(Line::styled(
            fit(&text, hint.width as usize),
            BOLD.fg(color),
        ))
        .render(hint, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::migrate::Sheet;

    fn screen(g: &Migration) -> String {
        let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(90, 12)).unwrap();
        t.draw(|f| {
            f.render_widget(
                MigrateProps {
                    migration: g,
                    scroll: 0,
                },
                f.area(),
            )
        })
        .unwrap();
        t.backend().to_string()
    }

    #[test]
    fn copying_shows_the_path_and_a_gauge_of_bytes_copied_and_verified() {
        let g = Migration {
            id: 1,
            root: "/mnt/root".into(),
            asked: 1,
            stage: Stage::Copying,
            sheet: Some(Sheet {
                lines: vec!["  copy       /var/lib/docker  (7 entries, 2.0 MiB) → /persist".into()],
                paths: 1,
                bytes: 2 << 20,
                refused: 0,
            }),
            current: Some(("/var/lib/docker".into(), 1, 2)),
            // Copied whole, half verified.
            done: 3 << 20,
            total: 2 << 20,
            plan: None,
        };
        let s = screen(&g);
        assert!(s.contains("migration of /mnt/root: copying…"), "{s}");
        assert!(
            s.contains("/var/lib/docker (1 of 2): 1.5 MiB of 2.0 MiB copied and verified"),
            "{s}"
        );
        assert!(s.contains("q quits at once"), "{s}");
        // Scrolling stops where the last wrapped row shows.
        let long = Migration {
            sheet: Some(Sheet {
                lines: (0..12)
                    .map(|i| format!("line {i} {}", "word ".repeat(30)))
                    .collect(),
                ..Sheet::default()
            }),
            stage: Stage::Done,
            ..g.clone()
        };
        let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(90, 12)).unwrap();
        t.draw(|f| {
            f.render_widget(
                MigrateProps {
                    migration: &long,
                    scroll: u16::MAX,
                },
                f.area(),
            )
        })
        .unwrap();
        let s = t.backend().to_string();
        assert!(
            s.contains("line 11"),
            "the last line can be scrolled to: {s}"
        );
        assert_eq!(wrapped_rows("", 10), 1);
        assert_eq!(wrapped_rows("aaaa bbbb cccc", 9), 2);
        assert_eq!(wrapped_rows("aaaaaaaaaaaaaaaaaaaa", 8), 3);
        let failed = Migration {
            stage: Stage::Failed("cannot read '/x\u{1b}[31m'".into()),
            ..g
        };
        let s = screen(&failed);
        assert!(s.contains("stopped"), "{s}");
        assert!(!s.contains('\u{1b}'), "escaped: {s}");
    }
}
