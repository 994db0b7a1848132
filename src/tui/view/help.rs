//! The help popup (`?`): every binding of the key table, by mode.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::{BOLD, DIM, centered};
use crate::tui::keys::{self, Mode};

/// What the help popup shows.
pub struct HelpProps {
    /// Lines scrolled off the top.
    pub scroll: u16,
}

impl Widget for HelpProps {
    /// Draws the popup in the middle of `area` (the whole screen).
    fn render(self, area: Rect, buf: &mut Buffer) {
        let mut lines = Vec::new();
        for (mode, title) in [
            (Mode::Browse, "Browsing"),
            (Mode::Search, "While typing a search"),
            (Mode::ConfirmWrite, "Write preview"),
            (Mode::Findings, "Problems with the whitelist"),
            (Mode::Migrate, "Migration (m after writing)"),
        ] {
            lines.push(Line::styled(title, BOLD));
            for b in keys::bindings(mode) {
                lines.push(Line::from(vec![
                    Span::styled(format!("  {:<11}", b.label), Style::new().fg(Color::Cyan)),
                    Span::raw(b.help),
                ]));
            }
        }
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "mouse: a click selects a row and focuses its pane; the wheel scrolls",
            DIM,
        ));
        lines.push(Line::styled(
            "● marked  ◦ under a marked directory  ✓ written  dim: shown for what it holds",
            DIM,
        ));
        lines.push(Line::styled(
            "✗ marked, but w refused it as darlings promote does (the detail pane says why)",
            DIM,
        ));
        lines.push(Line::styled(
            "lib/docker/: one row for a directory that holds only another one",
            DIM,
        ));
        let h = (lines.len() as u16 + 2).min(area.height);
        let w = 96.min(area.width);
        let r = centered(area, w, h);
        let max = lines.len().saturating_sub(h.saturating_sub(2) as usize);
        let scroll = (self.scroll as usize).min(max) as u16;
        let title = if max > 0 {
            " keys (j/k scroll, ? or Esc closes) "
        } else {
            " keys (? or Esc closes) "
        };
        Clear.render(r, buf);
        Paragraph::new(lines)
            .scroll((scroll, 0))
            .block(Block::bordered().title(title))
            .render(r, buf);
    }
}
