//! The tree pane: one row per shown path with its mark, expander, name,
//! the size and count of what the filter shows below it, and a verdict tag.

use std::collections::HashSet;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, StatefulWidget, Widget, Wrap};

use super::{BOLD, DIM, count, fit, pane, str_width};
use crate::audit::Audit;
use crate::classify::{Advice, Class};
use crate::diff::Change;
use crate::scan::Kind;
use crate::text::{escape_bytes, human_bytes};
use crate::tui::marks::Marks;
use crate::tui::model::{ClassFilter, Data};
use crate::tui::tree::TreeView;

/// What the tree pane shows.
pub struct TreeProps<'a> {
    /// The audit and its aggregates.
    pub data: &'a Data,
    /// Rows, selection and hits.
    pub tree: &'a TreeView,
    /// Marked paths (`●`, and `◦` below a marked directory).
    pub marks: &'a Marks,
    /// Pairs written in this session (`✓`).
    pub promoted: &'a HashSet<u32>,
    /// The class filter (the title, the empty message).
    pub filter: ClassFilter,
    /// The change filter (the title).
    pub change: Option<Change>,
    /// Whether the pane has the focus.
    pub focused: bool,
}

/// The window over the rows, kept between frames.
#[derive(Clone, Copy, Debug, Default)]
pub struct TreeScroll {
    /// First row on screen.
    pub offset: usize,
    /// Rows that fit (set by the draw, for PgUp/PgDn).
    pub height: usize,
}

impl StatefulWidget for TreeProps<'_> {
    type State = TreeScroll;

    fn render(self, area: Rect, buf: &mut Buffer, vs: &mut TreeScroll) {
        let tree = self.tree;
        let rows = tree.rows();
        let block = pane(
            format!(
                " {}{} · by {} · {} rows ",
                self.filter.label(),
                self.change
                    .map_or(String::new(), |c| format!(", {}", c.as_str())),
                tree.sort.label(),
                rows.len()
            ),
            self.focused,
        );
        let inner = block.inner(area);
        block.render(area, buf);
        // A dim column header, when there is room for it.
        let inner = if inner.height >= 4 {
            let w = inner.width as usize;
            let left_w = w.saturating_sub(30);
            let head = format!(
                "  {:<left_w$}{:>10} {:>6} {:<10}",
                "name", "size", "items", "verdict"
            );
            Paragraph::new(Line::styled(
                fit(&head, w),
                DIM.add_modifier(Modifier::UNDERLINED),
            ))
            .render(Rect { height: 1, ..inner }, buf);
            Rect {
                y: inner.y + 1,
                height: inner.height - 1,
                ..inner
            }
        } else {
            inner
        };
        let h = inner.height as usize;
        vs.height = h;
        if rows.is_empty() {
            let msg = match self.filter {
                ClassFilter::Stray => {
                    "Nothing unreviewed: every stray path is marked, dismissed or gone. f shows other classes."
                }
                _ => "Nothing to show with this filter. f changes it.",
            };
            Paragraph::new(msg)
                .style(DIM)
                .wrap(Wrap { trim: true })
                .render(inner, buf);
            return;
        }
        // Keep the selection inside the window, moving the window as little as possible.
        let selected = tree.selected();
        if selected < vs.offset {
            vs.offset = selected;
        } else if h > 0 && selected >= vs.offset + h {
            vs.offset = selected + 1 - h;
        }
        vs.offset = vs.offset.min(rows.len().saturating_sub(h.max(1)));
        let lines: Vec<Line> = rows
            .iter()
            .enumerate()
            .skip(vs.offset)
            .take(h)
            .map(|(r, row)| self.row(row.item as usize, row.depth, r == selected, inner.width))
            .collect();
        Paragraph::new(lines).render(inner, buf);
    }
}

impl TreeProps<'_> {
    fn row(&self, i: usize, depth: u16, selected: bool, width: u16) -> Line<'static> {
        let (d, tree) = (self.data, self.tree);
        let a = &d.audit;
        let (t, k) = a.entry(i);
        let e = &t.entries[k];
        let path = a.path(i);
        let mark = if self.marks.contains(&path) {
            Span::styled(
                "● ",
                Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
            )
        } else if self.marks.covering(&path).is_some() {
            Span::styled("◦ ", Style::new().fg(Color::Magenta))
        } else if self.promoted.contains(&(i as u32)) {
            Span::styled("✓ ", Style::new().fg(Color::Green))
        } else {
            Span::raw("  ")
        };
        let glyph = if tree.has_children(i) {
            if tree.is_expanded(i) { "▾ " } else { "▸ " }
        } else {
            "  "
        };
        let mut name = escape_bytes(t.name(k));
        if e.kind == Kind::Dir {
            name.push('/');
        } else if e.kind == Kind::Symlink {
            name.push('@');
        }
        let own = tree.shows(i);
        let v = a.verdict(i);
        let (tag, tag_style) = tag(a, i, own);
        let name_style = if !own {
            DIM
        } else if a.change(i).0 == Change::Removed {
            Style::new()
                .fg(Color::DarkGray)
                .add_modifier(Modifier::CROSSED_OUT)
        } else if v.class == Class::Stray && e.kind == Kind::Dir {
            BOLD
        } else {
            Style::new()
        };
        let w = width as usize;
        let right_w = 28usize;
        let indent = "  ".repeat(depth as usize);
        let left_w = w.saturating_sub(right_w + 2);
        let left = fit(&format!("{indent}{glyph}{name}"), left_w);
        let pad = left_w.saturating_sub(str_width(&left));
        let size = human_bytes(tree.hits().bytes[i]);
        let cnt = if e.kind == Kind::Dir {
            count(u64::from(tree.hits().entries[i]))
        } else {
            String::new()
        };
        let right = format!("{size:>10} {cnt:>6} ");
        let spans = vec![
            mark,
            Span::styled(left, name_style),
            Span::raw(" ".repeat(pad)),
            Span::styled(right, if own { Style::new() } else { DIM }),
            Span::styled(format!("{tag:<10}"), tag_style),
        ];
        if selected {
            let sel = if self.focused {
                Style::new().bg(Color::Rgb(40, 60, 90))
            } else {
                Style::new().bg(Color::Rgb(50, 50, 50))
            };
            let spans: Vec<Span> = spans.into_iter().map(|s| s.patch_style(sel)).collect();
            Line::from(spans).style(sel)
        } else {
            Line::from(spans)
        }
    }
}

/// The short tag at the end of a row: advice for stray paths, else the class.
fn tag(a: &Audit, i: usize, own: bool) -> (String, Style) {
    let v = a.verdict(i);
    if a.change(i).0 == Change::Removed {
        return ("removed".into(), DIM);
    }
    let (text, style) = match v.class {
        Class::Persisted => ("persisted", Style::new().fg(Color::Green)),
        Class::NixManaged => ("nix", Style::new().fg(Color::LightBlue)),
        Class::Stray if v.dismissed => ("dismissed", DIM),
        Class::Stray => match v.advice {
            Some(Advice::Persist) => (
                "persist!",
                Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            ),
            Some(Advice::Review) => ("review", Style::new().fg(Color::Yellow)),
            Some(Advice::Ephemeral) => ("ephemeral", Style::new().fg(Color::Green)),
            None => ("stray", Style::new().fg(Color::Red)),
        },
    };
    if own {
        (text.into(), style)
    } else {
        // A row shown only for what it holds: its own class is not the point.
        (String::new(), DIM)
    }
}
