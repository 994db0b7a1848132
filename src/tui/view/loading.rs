//! The body while the scan runs: what it has done so far, and that `q` quits.

use std::path::Path;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Paragraph, Widget};

use super::{BOLD, DIM, centered, count};
use crate::text::{human_bytes, quote_path};
use crate::tui::model::Loading;

/// What the loading screen shows.
pub struct LoadingProps<'a> {
    /// The root being scanned.
    pub root: &'a Path,
    /// The scan's counters.
    pub loading: Loading,
}

impl Widget for LoadingProps<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let l = self.loading;
        let secs = l.secs.max(0.001);
        let width = 56usize;
        // An indeterminate bar: a block that sweeps while the scan runs.
        let pos = ((l.secs * 8.0) as usize) % (width * 2);
        let pos = if pos >= width {
            width * 2 - pos - 1
        } else {
            pos
        };
        let bar: String = (0..width)
            .map(|k| if k.abs_diff(pos) < 3 { '█' } else { '░' })
            .collect();
        let lines = vec![
            Line::styled(format!("Scanning {}", quote_path(self.root)), BOLD),
            Line::raw(""),
            Line::styled(bar, Style::new().fg(Color::Cyan)),
            Line::raw(""),
            Line::raw(format!(
                "{} entries ({}/s)",
                count(l.entries),
                count((l.entries as f64 / secs) as u64)
            )),
            Line::raw(format!(
                "{} hashed in {} files ({}/s)",
                human_bytes(l.bytes),
                count(l.files),
                human_bytes((l.bytes as f64 / secs) as u64)
            )),
            Line::raw(format!("{:.1} s", l.secs)),
            if l.entries > 0 && l.idle >= 1.5 {
                Line::styled(
                    "walk done; comparing and classifying…",
                    Style::new().fg(Color::Yellow),
                )
            } else {
                Line::raw("")
            },
            Line::raw(""),
            Line::styled("q quits", DIM),
        ];
        let h = lines.len() as u16 + 2;
        let r = centered(area, 60, h);
        Paragraph::new(lines)
            .block(Block::bordered().title(" darlings "))
            .render(r, buf);
    }
}
