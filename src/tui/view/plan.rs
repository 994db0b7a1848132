//! The write preview (`w`): the whitelist file's diff, in place of the body,
//! and how to confirm.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Widget, Wrap};

use super::{BOLD, DIM, diff_line};
use crate::text::{escape_bytes, quote_path};
use crate::tui::model::WritePlan;

/// What the write preview shows.
pub struct PlanProps<'a> {
    /// The planned write.
    pub plan: &'a WritePlan,
    /// Lines scrolled off the top.
    pub scroll: u16,
}

impl Widget for PlanProps<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let p = self.plan;
        let title = format!(
            " write {} ({}) ",
            quote_path(&p.path),
            if p.writes.is_empty() && p.refused.is_none() {
                "nothing to write"
            } else if p.old.is_some() {
                "merged into the existing file"
            } else {
                "new file"
            }
        );
        let block = Block::bordered()
            .title(title)
            .border_style(Style::new().fg(Color::Yellow));
        let inner = block.inner(area);
        block.render(area, buf);
        let mut lines: Vec<Line> = Vec::new();
        // Marks no whitelist may list: each with promote's refusal, first,
        // so nobody takes the diff below for all of them.
        if !p.refusals.is_empty() {
            lines.push(Line::styled(
                format!(
                    "Not written ({} of {} marked, refused as darlings promote refuses them; they stay marked):",
                    p.refusals.len(),
                    p.refusals.len() + p.writes.len()
                ),
                BOLD.fg(Color::Red),
            ));
            for (path, why) in &p.refusals {
                lines.push(Line::styled(
                    format!("✗ {} ({})", escape_bytes(path), why.rule),
                    Style::new().fg(Color::Red),
                ));
                lines.push(Line::raw(format!("    {}", why.why)));
                lines.push(Line::styled(format!("    instead, {}", why.instead), DIM));
            }
            lines.push(Line::raw(""));
        }
        if p.writes.is_empty() && p.refused.is_none() {
            lines.push(Line::styled(
                "Every marked path is refused: nothing to write; n or Esc goes back",
                BOLD.fg(Color::Yellow),
            ));
            scrolled(lines, self.scroll, inner, buf);
            return;
        }
        // No safe place in the file: why, and the lines to paste.
        if let Some(why) = &p.refused {
            lines.extend(why.lines().map(|l| Line::raw(crate::text::escape_str(l))));
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                "Nothing can be written; n or Esc goes back",
                BOLD.fg(Color::Yellow),
            ));
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .render(inner, buf);
            return;
        }
        lines.extend(
            p.notes
                .iter()
                .map(|n| Line::styled(crate::text::escape_str(n), DIM)),
        );
        if p.old.as_deref() == Some(p.new.as_str()) {
            lines.push(Line::styled(
                "The file already lists every marked path: nothing would change.",
                BOLD,
            ));
        }
        lines.extend(p.diff.iter().map(diff_line));
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            if p.old.is_some() {
                "y writes it atomically (the previous version is kept as .bak); n or Esc goes back"
            } else {
                "y writes it atomically; n or Esc goes back"
            },
            BOLD.fg(Color::Yellow),
        ));
        scrolled(lines, self.scroll, inner, buf);
    }
}

/// Draws `lines` in `area`, wrapped, `scroll` lines down (no further than
/// the last line allows).
fn scrolled(lines: Vec<Line>, scroll: u16, area: Rect, buf: &mut Buffer) {
    let max = lines.len().saturating_sub(area.height as usize);
    let scroll = (scroll as usize).min(max) as u16;
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .scroll((scroll, 0))
        .render(area, buf);
}
