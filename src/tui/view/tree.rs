//! The tree pane: one row per shown path with its mark, expander, name,
//! the size and count of what the filter shows below it, and a verdict tag.

use std::collections::HashSet;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, StatefulWidget, Widget, Wrap};

use super::{BOLD, DIM, count, fit, pane, str_width};
use crate::classify::{Advice, Class};
use crate::diff::Change;
use crate::scan::Kind;
use crate::text::{escape_bytes, human_bytes};
use crate::tui::marks::Marks;
use crate::tui::model::{ClassFilter, Data};
use crate::tui::tree::{Row, SortKey, TreeView};

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

/// The window over the rows, kept between frames, and where the last
/// draw put the pane.
#[derive(Clone, Copy, Debug, Default)]
pub struct TreeScroll {
    /// First row on screen.
    pub offset: usize,
    /// The pane, borders included.
    pub area: Option<Rect>,
    /// Where the rows are drawn (one per line).
    pub rows: Option<Rect>,
    /// How many rows there are.
    pub len: usize,
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
                tree.sort().label(),
                rows.len()
            ),
            self.focused,
        );
        let inner = block.inner(area);
        block.render(area, buf);
        vs.area = Some(area);
        vs.len = rows.len();
        // A dim column header, when there is room for it.
        let by_mtime = tree.sort() == SortKey::Mtime;
        let inner = if inner.height >= 4 {
            let w = inner.width as usize;
            let left_w = w.saturating_sub(if by_mtime { 34 } else { 30 });
            let head = if by_mtime {
                format!(
                    "  {:<left_w$}{:>10} {:>10} {:<10}",
                    "name", "size", "newest", "verdict"
                )
            } else {
                format!(
                    "  {:<left_w$}{:>10} {:>6} {:<10}",
                    "name", "size", "items", "verdict"
                )
            };
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
        vs.rows = Some(inner);
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
            .map(|(r, row)| self.row(row, r == selected, inner.width))
            .collect();
        Paragraph::new(lines).render(inner, buf);
    }
}

impl TreeProps<'_> {
    fn row(&self, row: &Row, selected: bool, width: u16) -> Line<'static> {
        let (i, depth) = (row.item as usize, row.depth);
        let (d, tree) = (self.data, self.tree);
        let a = &d.audit;
        let (t, k) = a.entry(i);
        let e = &t.entries[k];
        let path = a.path(i);
        let mark = if self.marks.get(&path).is_some_and(|mk| mk.refused.is_some()) {
            Span::styled(
                "✗ ",
                Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
            )
        } else if self.marks.contains(&path) {
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
        let (tag, tag_style) = tag(d, i, own);
        let name_style = if !own {
            DIM
        } else if a.change(i).0 == Change::Removed {
            Style::new()
                .fg(Color::DarkGray)
                .add_modifier(Modifier::CROSSED_OUT)
        } else if d.class(i) == Class::Stray && e.kind == Kind::Dir {
            BOLD
        } else {
            Style::new()
        };
        let w = width as usize;
        let by_mtime = tree.sort() == SortKey::Mtime;
        let right_w = if by_mtime { 32 } else { 28 };
        let indent = "  ".repeat(depth as usize);
        let left_w = w.saturating_sub(right_w + 2);
        // A folded chain shows the names above its item, dim: `lib/docker/`.
        let mut chain = String::new();
        let mut k = i;
        while k != row.head as usize {
            let Some(p) = a.merge().parent(k) else { break };
            let (pt, pk) = a.entry(p);
            chain.insert(0, '/');
            chain.insert_str(0, &escape_bytes(pt.name(pk)));
            k = p;
        }
        let left = fit(&format!("{indent}{glyph}{chain}{name}"), left_w);
        let pad = left_w.saturating_sub(str_width(&left));
        // The chain's part of `left` is dim, unless the cut falls inside it.
        let (from, to) = (
            indent.len() + glyph.len(),
            indent.len() + glyph.len() + chain.len(),
        );
        let dim_chain = !chain.is_empty() && left.len() > to && left.is_char_boundary(to);
        let (left, left_chain, left_name) = if dim_chain {
            (
                left[..from].to_string(),
                left[from..to].to_string(),
                left[to..].to_string(),
            )
        } else {
            (left, String::new(), String::new())
        };
        let size = human_bytes(tree.hits().bytes[i]);
        let cnt = if e.kind == Kind::Dir {
            count(u64::from(tree.hits().entries[i]))
        } else {
            String::new()
        };
        let right = if by_mtime {
            // The date of the newest shown item below (or of the item).
            let newest = tree.hits().newest.get(i).copied().unwrap_or(i64::MIN);
            let date = if newest == i64::MIN {
                String::new()
            } else {
                crate::text::rfc3339(newest).chars().take(10).collect()
            };
            format!("{size:>10} {date:>10} ")
        } else {
            format!("{size:>10} {cnt:>6} ")
        };
        let spans = vec![
            mark,
            Span::styled(left, name_style),
            Span::styled(left_chain, DIM),
            Span::styled(left_name, name_style),
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
fn tag(d: &Data, i: usize, own: bool) -> (String, Style) {
    let a = &d.audit;
    let v = a.verdict(i);
    if a.change(i).0 == Change::Removed {
        return ("removed".into(), DIM);
    }
    // The class the whitelist written in this session gives, if it did.
    let (text, style) = match d.class(i) {
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
