//! The status line (the last message, or the search being typed) and the
//! footer (the keys of the current mode, from the key table).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{BOLD, fit};
use crate::tui::keys::{self, Action, Mode};

/// What the status line shows.
pub struct StatusProps<'a> {
    /// The last message.
    pub text: &'a str,
    /// The search being typed, which replaces the message.
    pub search: Option<&'a str>,
}

impl Widget for StatusProps<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (text, style) = match self.search {
            Some(s) => (format!("/{s}▏"), Style::new().fg(Color::Yellow)),
            None => (self.text.to_string(), Style::new()),
        };
        Paragraph::new(Line::styled(fit(&text, area.width as usize), style)).render(area, buf);
    }
}

/// What the footer shows: the keys of `mode`.
pub struct FooterProps {
    /// The mode whose keys are listed.
    pub mode: Mode,
    /// Whether `y` does something now: a write with something to write, a
    /// plan with something to copy. When it does not, it is left out.
    pub yes: bool,
}

impl Widget for FooterProps {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let mut spans = Vec::new();
        for (label, word) in keys::footer(self.mode, |a| self.yes || a != Action::Yes) {
            spans.push(Span::styled(label, BOLD.fg(Color::Cyan)));
            spans.push(Span::raw(format!(" {word}  ")));
        }
        Paragraph::new(Line::from(spans)).render(area, buf);
    }
}
