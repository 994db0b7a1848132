//! The question before quitting with marks that are not written.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Clear, Paragraph, Widget};

use super::{BOLD, centered};

/// What the quit question shows.
pub struct ConfirmQuitProps {
    /// How many marks would be lost.
    pub marked: usize,
}

impl Widget for ConfirmQuitProps {
    /// Draws the popup in the middle of `area` (the whole screen).
    fn render(self, area: Rect, buf: &mut Buffer) {
        let lines = vec![
            Line::styled(
                format!("{} marked path(s) are not written.", self.marked),
                BOLD,
            ),
            Line::raw(""),
            Line::raw("y quits without writing, w previews the write, n goes back"),
        ];
        let r = centered(area, 64.min(area.width), 5);
        Clear.render(r, buf);
        Paragraph::new(lines)
            .block(
                Block::bordered()
                    .title(" quit? ")
                    .border_style(Style::new().fg(Color::Yellow)),
            )
            .render(r, buf);
    }
}
