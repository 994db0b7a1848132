//! The two header lines: the root, the baseline and the storage; the totals
//! by class, the open stray count and what is marked.

use std::path::Path;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{BOLD, DIM, count, counts_open};
use crate::classify::Class;
use crate::text::{human_bytes, quote_path};
use crate::tui::model::{Data, Model};

/// What the header shows.
pub struct HeaderProps<'a> {
    /// The scanned root, as given.
    pub root: &'a Path,
    /// The audit, once loaded.
    pub data: Option<&'a Data>,
    /// Open stray paths, when the view counts them (the default filter).
    pub open: Option<u64>,
    /// Marked paths and their bytes, when any.
    pub marked: Option<(usize, u64)>,
}

/// The header's props for the model.
pub fn props(m: &Model) -> HeaderProps<'_> {
    let open = match &m.data {
        Some(d) if counts_open(m.filter, m.change) => {
            let a = &d.audit;
            let mut n = 0u64;
            let mut c = 0;
            while c < a.len() {
                n += u64::from(m.tree.hits().entries[c]);
                c = a.merge().end(c);
            }
            Some(n)
        }
        _ => None,
    };
    HeaderProps {
        root: &m.settings.root,
        data: m.data.as_ref(),
        open,
        marked: (!m.marks.is_empty()).then(|| (m.marks.len(), m.marks.totals().1)),
    }
}

impl Widget for HeaderProps<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let root = quote_path(self.root);
        let mut l1 = vec![
            Span::styled("darlings ", BOLD.fg(Color::Cyan)),
            Span::raw(format!("{root}  ")),
        ];
        let mut l2 = Vec::new();
        if let Some(d) = self.data {
            let a = &d.audit;
            let base = match a.baseline().path() {
                Some(p) => format!("{} {}", a.baseline().kind(), quote_path(p)),
                None => "empty".into(),
            };
            let storage = if a.storage().is_empty() {
                "/persist".to_string()
            } else {
                a.storage()
                    .iter()
                    .map(|s| quote_path(s))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            l1.push(Span::styled("vs ", DIM));
            l1.push(Span::raw(format!("{base}  ")));
            l1.push(Span::styled("storage ", DIM));
            l1.push(Span::raw(storage));
            let all = d.all();
            let (entries, bytes, cls) = (all.entries, all.bytes, all.classes);
            l2.push(Span::raw(format!(
                "{} entries, {}  ",
                count(entries),
                human_bytes(bytes)
            )));
            l2.push(Span::styled(
                format!("stray {}", count(cls[Class::Stray as usize])),
                Style::new().fg(Color::Red),
            ));
            if let Some(open) = self.open {
                l2.push(Span::styled(format!(" ({} open)", count(open)), DIM));
            }
            l2.push(Span::styled(
                format!("  persisted {}", count(cls[Class::Persisted as usize])),
                Style::new().fg(Color::Green),
            ));
            l2.push(Span::styled(
                format!("  nix {}", count(cls[Class::NixManaged as usize])),
                Style::new().fg(Color::LightBlue),
            ));
            if let Some((n, b)) = self.marked {
                l2.push(Span::styled(
                    format!("   ● {n} marked ({})", human_bytes(b)),
                    Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
                ));
            }
        } else {
            l2.push(Span::styled("scanning…", DIM));
        }
        Paragraph::new(vec![Line::from(l1), Line::from(l2)]).render(area, buf);
    }
}
