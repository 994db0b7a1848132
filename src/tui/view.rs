//! `view(&Model, &mut ViewState, &mut Frame)`: draws the model. Reads the
//! model only; its one piece of mutable state is [`ViewState`] (scroll
//! offsets kept between frames). Only the rows inside the window are built,
//! so drawing costs the same on a million entries as on ten. Every name and
//! preview line is escaped before it reaches the terminal.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use unicode_width::UnicodeWidthChar;

use crate::classify::{Advice, Class};
use crate::diff::Change;
use crate::scan::Kind;
use crate::text::human_bytes;
use crate::text::{escape_bytes, quote_path};

use super::keys::{self, Mode};
use super::model::{Focus, Model, link_chain};
use super::preview::Preview;
use crate::linediff::DiffLine;

/// Scroll state kept between frames.
#[derive(Clone, Debug, Default)]
pub struct ViewState {
    /// First tree row on screen.
    pub tree_offset: usize,
    /// First row of the marked pane on screen.
    pub marked_offset: usize,
    /// Height of the tree window at the last draw (for PgUp/PgDn).
    pub tree_height: usize,
}

const DIM: Style = Style::new().fg(Color::DarkGray);
const BOLD: Style = Style::new().add_modifier(Modifier::BOLD);

/// Draws the whole screen.
pub fn view(m: &Model, vs: &mut ViewState, f: &mut Frame) {
    let area = f.area();
    let [header, body, status, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Min(3),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    draw_header(m, f, header);
    if m.data.is_none() {
        draw_loading(m, f, body);
    } else if m.mode == Mode::ConfirmWrite {
        draw_plan(m, f, body);
    } else {
        draw_body(m, vs, f, body);
    }
    let status_style = if m.mode == Mode::Search {
        Style::new().fg(Color::Yellow)
    } else {
        Style::new()
    };
    let status_text = if m.mode == Mode::Search {
        format!("/{}▏", m.search)
    } else {
        m.status.clone()
    };
    f.render_widget(
        Paragraph::new(Line::styled(
            fit(&status_text, status.width as usize),
            status_style,
        )),
        status,
    );
    draw_footer(m, f, footer);
    match m.mode {
        Mode::Help => draw_help(m, f, area),
        Mode::ConfirmQuit => draw_confirm_quit(m, f, area),
        Mode::Findings => super::findings::draw(m, f, body),
        _ => {}
    }
}

fn draw_header(m: &Model, f: &mut Frame, area: Rect) {
    let root = quote_path(&m.settings.root);
    let mut l1 = vec![
        Span::styled("darlings ", BOLD.fg(Color::Cyan)),
        Span::raw(format!("{root}  ")),
    ];
    let mut l2 = Vec::new();
    if let Some(d) = &m.data {
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
        let (mut entries, mut bytes, mut cls) = (0u64, 0u64, [0u64; 3]);
        let mut c = 0;
        while c < a.len() {
            entries += u64::from(d.agg.entries[c]);
            bytes += d.agg.bytes[c];
            for (k, n) in cls.iter_mut().enumerate() {
                *n += u64::from(d.agg.classes[c][k]);
            }
            c = a.merge().end(c);
        }
        let open: u64 = {
            let mut n = 0u64;
            let mut c = 0;
            while c < a.len() {
                if m.filter == super::model::ClassFilter::Stray && m.change.is_none() {
                    n += u64::from(d.hits.entries[c]);
                }
                c = a.merge().end(c);
            }
            n
        };
        l2.push(Span::raw(format!(
            "{} entries, {}  ",
            count(entries),
            human_bytes(bytes)
        )));
        l2.push(Span::styled(
            format!("stray {}", count(cls[Class::Stray as usize])),
            Style::new().fg(Color::Red),
        ));
        if m.filter == super::model::ClassFilter::Stray && m.change.is_none() {
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
        if !m.marks.is_empty() {
            let (_, b) = m.marks.totals();
            l2.push(Span::styled(
                format!("   ● {} marked ({})", m.marks.len(), human_bytes(b)),
                Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
            ));
        }
    } else {
        l2.push(Span::styled("scanning…", DIM));
    }
    f.render_widget(Paragraph::new(vec![Line::from(l1), Line::from(l2)]), area);
}

fn draw_loading(m: &Model, f: &mut Frame, area: Rect) {
    let l = m.loading;
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
        Line::styled(format!("Scanning {}", quote_path(&m.settings.root)), BOLD),
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
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" darlings ")),
        r,
    );
}

fn draw_body(m: &Model, vs: &mut ViewState, f: &mut Frame, area: Rect) {
    let wide = area.width >= 110;
    let (tree_area, side) = if wide {
        let [t, s] = Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)])
            .areas(area);
        (t, s)
    } else {
        let [t, s] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(area);
        (t, s)
    };
    let (detail_area, marked_area) = if m.marks.is_empty() {
        (side, None)
    } else {
        let h = (m.marks.len() as u16 + 3).min(side.height / 2).max(4);
        let [d, k] = Layout::vertical([Constraint::Min(3), Constraint::Length(h)]).areas(side);
        (d, Some(k))
    };
    draw_tree(m, vs, f, tree_area);
    draw_detail(m, f, detail_area);
    if let Some(k) = marked_area {
        draw_marked(m, vs, f, k);
    }
}

fn pane(title: String, focused: bool) -> Block<'static> {
    let b = Block::bordered().title(title);
    if focused {
        b.border_style(Style::new().fg(Color::Cyan))
    } else {
        b.border_style(DIM)
    }
}

fn draw_tree(m: &Model, vs: &mut ViewState, f: &mut Frame, area: Rect) {
    let Some(d) = &m.data else { return };
    let a = &d.audit;
    let block = pane(
        format!(
            " {}{} · by {} · {} rows ",
            m.filter.label(),
            m.change
                .map_or(String::new(), |c| format!(", {}", c.as_str())),
            m.sort.label(),
            m.rows.len()
        ),
        m.focus == Focus::Tree,
    );
    let inner = block.inner(area);
    f.render_widget(block, area);
    // A dim column header, when there is room for it.
    let inner = if inner.height >= 4 {
        let w = inner.width as usize;
        let left_w = w.saturating_sub(30);
        let head = format!(
            "  {:<left_w$}{:>10} {:>6} {:<10}",
            "name", "size", "items", "verdict"
        );
        f.render_widget(
            Paragraph::new(Line::styled(
                fit(&head, w),
                DIM.add_modifier(Modifier::UNDERLINED),
            )),
            Rect { height: 1, ..inner },
        );
        Rect {
            y: inner.y + 1,
            height: inner.height - 1,
            ..inner
        }
    } else {
        inner
    };
    let h = inner.height as usize;
    vs.tree_height = h;
    if m.rows.is_empty() {
        let msg = match m.filter {
            super::model::ClassFilter::Stray => {
                "Nothing unreviewed: every stray path is marked, dismissed or gone. f shows other classes."
            }
            _ => "Nothing to show with this filter. f changes it.",
        };
        f.render_widget(
            Paragraph::new(msg).style(DIM).wrap(Wrap { trim: true }),
            inner,
        );
        return;
    }
    // Keep the selection inside the window, moving the window as little as possible.
    if m.selected < vs.tree_offset {
        vs.tree_offset = m.selected;
    } else if h > 0 && m.selected >= vs.tree_offset + h {
        vs.tree_offset = m.selected + 1 - h;
    }
    vs.tree_offset = vs.tree_offset.min(m.rows.len().saturating_sub(h.max(1)));
    let w = inner.width as usize;
    let right_w = 28usize;
    let mut lines = Vec::with_capacity(h);
    for (r, row) in m.rows.iter().enumerate().skip(vs.tree_offset).take(h) {
        let i = row.pair as usize;
        let (t, k) = a.entry(i);
        let e = &t.entries[k];
        let path = a.path(i);
        let mark = if m.marks.contains(&path) {
            Span::styled(
                "● ",
                Style::new().fg(Color::Magenta).add_modifier(Modifier::BOLD),
            )
        } else if m.marks.covering(&path).is_some() {
            Span::styled("◦ ", Style::new().fg(Color::Magenta))
        } else if m.promoted.contains(&row.pair) {
            Span::styled("✓ ", Style::new().fg(Color::Green))
        } else {
            Span::raw("  ")
        };
        let has_kids = m.has_children(i);
        let glyph = if has_kids {
            if m.expanded.contains(&row.pair) {
                "▾ "
            } else {
                "▸ "
            }
        } else {
            "  "
        };
        let mut name = escape_bytes(t.name(k));
        if e.kind == Kind::Dir {
            name.push('/');
        } else if e.kind == Kind::Symlink {
            name.push('@');
        }
        let own = m.matches(i);
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
        let indent = "  ".repeat(row.depth as usize);
        let left_w = w.saturating_sub(right_w + 2);
        let left = fit(&format!("{indent}{glyph}{name}"), left_w);
        let pad = left_w.saturating_sub(str_width(&left));
        let size = human_bytes(d.hits.bytes[i]);
        let cnt = if e.kind == Kind::Dir {
            count(u64::from(d.hits.entries[i]))
        } else {
            String::new()
        };
        let right = format!("{size:>10} {cnt:>6} ");
        let mut spans = vec![
            mark,
            Span::styled(left, name_style),
            Span::raw(" ".repeat(pad)),
            Span::styled(right, if own { Style::new() } else { DIM }),
            Span::styled(format!("{tag:<10}"), tag_style),
        ];
        if r == m.selected {
            let sel = if m.focus == Focus::Tree {
                Style::new().bg(Color::Rgb(40, 60, 90))
            } else {
                Style::new().bg(Color::Rgb(50, 50, 50))
            };
            spans = spans.into_iter().map(|s| s.patch_style(sel)).collect();
            lines.push(Line::from(spans).style(sel));
        } else {
            lines.push(Line::from(spans));
        }
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// The short tag at the end of a row: advice for stray paths, else the class.
fn tag(a: &crate::audit::Audit, i: usize, own: bool) -> (String, Style) {
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

fn kv(k: &str, v: impl Into<String>) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{k:<8} "), DIM),
        Span::raw(v.into()),
    ])
}

fn draw_detail(m: &Model, f: &mut Frame, area: Rect) {
    let Some(d) = &m.data else { return };
    let block = pane(" detail ".into(), m.focus == Focus::Detail);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let Some(i) = m.selected_pair() else { return };
    let a = &d.audit;
    let (t, k) = a.entry(i);
    let e = &t.entries[k];
    let v = a.verdict(i);
    let path = a.path(i);
    let mut lines = vec![Line::styled(escape_bytes(&path), BOLD)];
    let (change, what) = a.change(i);
    let mut ch = change.as_str().to_string();
    if change == Change::Modified && !what.is_empty() {
        ch.push_str(&format!(
            " ({})",
            what.names().collect::<Vec<_>>().join(", ")
        ));
    }
    lines.push(kv("kind", format!("{:<10} change  {ch}", e.kind.as_str())));
    let size = if e.kind == Kind::Dir {
        format!(
            "{} in {} entries",
            human_bytes(d.agg.bytes[i]),
            count(u64::from(d.agg.entries[i]))
        )
    } else {
        format!("{} ({} bytes)", human_bytes(e.size), e.size)
    };
    lines.push(kv("size", size));
    lines.push(kv(
        "owner",
        format!(
            "{}:{}   mode {:04o}",
            d.users.user(e.uid),
            d.users.group(e.gid),
            e.mode
        ),
    ));
    lines.push(kv("mtime", crate::text::rfc3339(e.mtime_ns)));
    let class_style = match v.class {
        Class::Stray => Style::new().fg(Color::Red),
        Class::Persisted => Style::new().fg(Color::Green),
        Class::NixManaged => Style::new().fg(Color::LightBlue),
    };
    let mut cl = vec![
        Span::styled(format!("{:<8} ", "class"), DIM),
        Span::styled(v.class.as_str(), class_style.add_modifier(Modifier::BOLD)),
    ];
    if v.dismissed {
        cl.push(Span::styled(" (dismissed)", DIM));
    }
    cl.push(Span::raw(format!(": {}", a.text(v.reason).unwrap_or(""))));
    lines.push(Line::from(cl));
    if v.class == Class::Stray {
        let adv = match v.advice {
            Some(ad) => {
                let reason = a.text(v.advice_reason).unwrap_or("");
                format!("{}: {reason}", ad.as_str())
            }
            None => "none known: decide from what it holds".into(),
        };
        lines.push(kv("advice", adv));
    }
    if let Some(w) = a.text(v.warning) {
        lines.push(Line::from(vec![
            Span::styled(format!("{:<8} ", "warning"), DIM),
            Span::styled(w.to_string(), Style::new().fg(Color::Yellow)),
        ]));
    }
    if e.kind == Kind::Dir {
        let c = d.agg.classes[i];
        lines.push(kv(
            "below",
            format!(
                "stray {}  persisted {}  nix {}",
                count(u64::from(c[Class::Stray as usize])),
                count(u64::from(c[Class::Persisted as usize])),
                count(u64::from(c[Class::NixManaged as usize]))
            ),
        ));
    }
    if let Some(mp) = t.mount(k) {
        lines.push(kv(
            "mount",
            format!(
                "{} from {} [{}]",
                escape_bytes(mp.fstype.as_bytes()),
                escape_bytes(mp.source.as_bytes()),
                escape_bytes(&mp.fs_root)
            ),
        ));
    }
    if e.kind == Kind::Symlink {
        let chain = if a.on_root(i) {
            link_chain(&a.resolver(), &path)
        } else {
            // Removed: the link is only in the baseline; show its text.
            vec![escape_bytes(t.target(k).unwrap_or_default())]
        };
        lines.push(kv("link", chain.join(" → ")));
    }
    if let Some(c) = m.marks.covering(&path) {
        lines.push(Line::styled(
            format!("● marked for promotion (by {})", escape_bytes(c)),
            Style::new().fg(Color::Magenta),
        ));
    } else if m.promoted.contains(&(i as u32)) {
        lines.push(Line::styled(
            "✓ written to the whitelist in this session",
            Style::new().fg(Color::Green),
        ));
    }
    if let Some((p, prev)) = &m.preview
        && *p as usize == i
    {
        match prev {
            Preview::None => {}
            Preview::Text(l, cut) => {
                lines.push(Line::styled("── content ──", DIM));
                lines.extend(l.iter().map(|s| Line::raw(s.clone())));
                if *cut {
                    lines.push(Line::styled("… (cut)", DIM));
                }
            }
            Preview::Hex(l) => {
                lines.push(Line::styled("── content (binary) ──", DIM));
                lines.extend(l.iter().map(|s| Line::raw(s.clone())));
            }
            Preview::Diff(l) => {
                lines.push(Line::styled("── diff against the baseline ──", DIM));
                lines.extend(l.iter().map(diff_line));
            }
            Preview::Unavailable(why) => lines.push(Line::styled(format!("({why})"), DIM)),
        }
    }
    let scroll = m
        .detail_scroll
        .min(lines.len().saturating_sub(1).min(u16::MAX as usize) as u16);
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        inner,
    );
}

fn diff_line(l: &DiffLine) -> Line<'static> {
    match l {
        DiffLine::Same(s) => Line::raw(format!("  {s}")),
        DiffLine::Added(s) => Line::styled(format!("+ {s}"), Style::new().fg(Color::Green)),
        DiffLine::Removed(s) => Line::styled(format!("- {s}"), Style::new().fg(Color::Red)),
        DiffLine::Skipped(n) => Line::styled(format!("  … {n} unchanged lines"), DIM),
    }
}

fn draw_marked(m: &Model, vs: &mut ViewState, f: &mut Frame, area: Rect) {
    let (n, b) = m.marks.totals();
    let block = pane(
        format!(
            " marked: {} paths, {} entries, {} ",
            m.marks.len(),
            count(n),
            human_bytes(b)
        ),
        m.focus == Focus::Marked,
    );
    let inner = block.inner(area);
    f.render_widget(block, area);
    let h = inner.height as usize;
    if m.marked_sel < vs.marked_offset {
        vs.marked_offset = m.marked_sel;
    } else if h > 0 && m.marked_sel >= vs.marked_offset + h {
        vs.marked_offset = m.marked_sel + 1 - h;
    }
    let w = inner.width as usize;
    let lines: Vec<Line> = m
        .marks
        .iter()
        .enumerate()
        .skip(vs.marked_offset)
        .take(h)
        .map(|(r, (path, mk))| {
            let right = format!(" {:>10}", human_bytes(mk.bytes));
            let left = fit(
                &format!("● {}", escape_bytes(path)),
                w.saturating_sub(right.len()),
            );
            let pad = w.saturating_sub(str_width(&left) + right.len());
            let line = Line::raw(format!("{left}{}{right}", " ".repeat(pad)));
            if r == m.marked_sel && m.focus == Focus::Marked {
                line.style(Style::new().bg(Color::Rgb(40, 60, 90)))
            } else {
                line
            }
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

fn draw_plan(m: &Model, f: &mut Frame, area: Rect) {
    let Some(p) = &m.plan else { return };
    let title = format!(
        " write {} ({}) ",
        quote_path(&p.path),
        if p.old.is_some() {
            "merged into the existing file"
        } else {
            "new file"
        }
    );
    let block = Block::bordered()
        .title(title)
        .border_style(Style::new().fg(Color::Yellow));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let mut lines: Vec<Line> = Vec::new();
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
    let max = lines.len().saturating_sub(inner.height as usize);
    let scroll = (m.popup_scroll as usize).min(max) as u16;
    f.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0)),
        inner,
    );
}

fn draw_footer(m: &Model, f: &mut Frame, area: Rect) {
    let mut spans = Vec::new();
    for (label, word) in keys::footer(m.mode) {
        spans.push(Span::styled(label, BOLD.fg(Color::Cyan)));
        spans.push(Span::raw(format!(" {word}  ")));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn draw_help(m: &Model, f: &mut Frame, area: Rect) {
    let mut lines = Vec::new();
    for (mode, title) in [
        (Mode::Browse, "Browsing"),
        (Mode::Search, "While typing a search"),
        (Mode::ConfirmWrite, "Write preview"),
        (Mode::Findings, "Problems with the whitelist"),
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
        "● marked  ◦ under a marked directory  ✓ written  dim: shown for what it holds",
        DIM,
    ));
    let h = (lines.len() as u16 + 2).min(area.height);
    let w = 96.min(area.width);
    let r = centered(area, w, h);
    let max = lines.len().saturating_sub(h.saturating_sub(2) as usize);
    let scroll = (m.popup_scroll as usize).min(max) as u16;
    let title = if max > 0 {
        " keys (j/k scroll, ? or Esc closes) "
    } else {
        " keys (? or Esc closes) "
    };
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines)
            .scroll((scroll, 0))
            .block(Block::bordered().title(title)),
        r,
    );
}

fn draw_confirm_quit(m: &Model, f: &mut Frame, area: Rect) {
    let lines = vec![
        Line::styled(
            format!("{} marked path(s) are not written.", m.marks.len()),
            BOLD,
        ),
        Line::raw(""),
        Line::raw("y quits without writing, w previews the write, n goes back"),
    ];
    let r = centered(area, 64.min(area.width), 5);
    f.render_widget(Clear, r);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::bordered()
                .title(" quit? ")
                .border_style(Style::new().fg(Color::Yellow)),
        ),
        r,
    );
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Display width of `s`.
fn str_width(s: &str) -> usize {
    s.chars().map(|c| c.width().unwrap_or(0)).sum()
}

/// Cuts `s` to at most `w` columns, ending in `…` when cut.
fn fit(s: &str, w: usize) -> String {
    if str_width(s) <= w {
        return s.to_string();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let cw = c.width().unwrap_or(0);
        if used + cw + 1 > w {
            break;
        }
        out.push(c);
        used += cw;
    }
    if w > 0 {
        out.push('…');
    }
    out
}

/// A count in few columns: 999, 12.3k, 4.5M.
fn count(n: u64) -> String {
    match n {
        0..=9_999 => n.to_string(),
        10_000..=999_999 => format!("{:.1}k", n as f64 / 1000.0),
        _ => format!("{:.1}M", n as f64 / 1_000_000.0),
    }
}
