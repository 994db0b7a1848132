//! The marked pane: the paths chosen for promotion with their sizes.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Paragraph, StatefulWidget, Widget};

use super::{count, fit, pane, str_width};
use crate::text::{escape_bytes, human_bytes};
use crate::tui::marks::Marks;

/// What the marked pane shows.
pub struct MarkedProps<'a> {
    /// The marks.
    pub marks: &'a Marks,
    /// The selected row (highlighted when the pane has the focus).
    pub selected: usize,
    /// Whether the pane has the focus.
    pub focused: bool,
}

/// The window over the marks, kept between frames, and where the last
/// draw put the pane.
#[derive(Clone, Copy, Debug, Default)]
pub struct MarkedScroll {
    /// First row on screen.
    pub offset: usize,
    /// The pane, borders included.
    pub area: Option<Rect>,
    /// Where the rows are drawn.
    pub rows: Option<Rect>,
    /// How many rows there are.
    pub len: usize,
}

impl StatefulWidget for MarkedProps<'_> {
    type State = MarkedScroll;

    fn render(self, area: Rect, buf: &mut Buffer, vs: &mut MarkedScroll) {
        let (n, b) = self.marks.totals();
        let block = pane(
            format!(
                " marked: {} paths, {} entries, {} ",
                self.marks.len(),
                count(n),
                human_bytes(b)
            ),
            self.focused,
        );
        let inner = block.inner(area);
        block.render(area, buf);
        vs.area = Some(area);
        vs.rows = Some(inner);
        vs.len = self.marks.len();
        let offset = &mut vs.offset;
        let h = inner.height as usize;
        if self.selected < *offset {
            *offset = self.selected;
        } else if h > 0 && self.selected >= *offset + h {
            *offset = self.selected + 1 - h;
        }
        let w = inner.width as usize;
        let lines: Vec<Line> = self
            .marks
            .iter()
            .enumerate()
            .skip(*offset)
            .take(h)
            .map(|(r, (path, mk))| {
                let right = format!(" {:>10}", human_bytes(mk.bytes));
                // A mark `w` refused says so on its row (the detail pane
                // gives the whole refusal).
                let (glyph, right) = match &mk.refused {
                    Some(_) => ("✗", " refused".to_string()),
                    None => ("●", right),
                };
                let left = fit(
                    &format!("{glyph} {}", escape_bytes(path)),
                    w.saturating_sub(str_width(&right)),
                );
                let pad = w.saturating_sub(str_width(&left) + str_width(&right));
                let line = Line::raw(format!("{left}{}{right}", " ".repeat(pad)));
                let line = if mk.refused.is_some() {
                    line.style(Style::new().fg(Color::Red))
                } else {
                    line
                };
                if r == self.selected && self.focused {
                    line.style(Style::new().bg(Color::Rgb(40, 60, 90)))
                } else {
                    line
                }
            })
            .collect();
        Paragraph::new(lines).render(inner, buf);
    }
}
