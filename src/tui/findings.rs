//! The findings view: the problems `darlings check` finds with the
//! whitelist in effect (docs/check.md), opened with `!`. A list of the
//! findings (errors first) and, for the selected one, what is wrong, the
//! entry of the configuration it comes from and the fix; `Enter` shows its
//! path in the tree (its nearest scanned ancestor for a path in storage or
//! under a mount), switching the filter to `all` when the current one hides
//! it.
//!
//! The check runs in the background with the audit; its result arrives as
//! [`Msg::Checked`](super::msg::Msg::Checked) (an [`Input::Msg`](super::Input::Msg))
//! and is kept in [`Findings`].

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Widget, Wrap};

use crate::check::{Checked, Severity};
use crate::text::{escape_bytes, escape_message, escape_str, human_bytes};

use super::keys::{Action, Mode};
use super::model::{ClassFilter, Model};
use super::msg::Cmd;

/// What the findings view knows.
#[derive(Clone, Debug, Default)]
pub struct Findings {
    /// The check's result, once it arrived.
    pub checked: Option<Checked>,
    /// Why the check could not run, if it failed.
    pub failed: Option<String>,
    /// The selected finding.
    pub selected: usize,
}

/// Keeps the check's result; the status line says what it found.
pub fn loaded(m: &mut Model, r: crate::Result<Checked>) {
    match r {
        Ok(c) => {
            if !c.findings.is_empty() {
                m.status = format!(
                    "problems with the whitelist: {} (! shows them)",
                    crate::check::render::tally(&c)
                );
            }
            m.findings.checked = Some(c);
        }
        Err(e) => m.findings.failed = Some(e.to_string()),
    }
}

/// Takes the check made again after a write. The status line keeps what
/// the write said (its next step, `m`, is what clears the new paths'
/// not-in-storage findings); the view shows the file now in effect.
pub fn rechecked(m: &mut Model, r: crate::Result<Checked>) {
    match r {
        Ok(c) => {
            let n = c.findings.len();
            m.findings.checked = Some(c);
            m.findings.failed = None;
            m.findings.selected = m.findings.selected.min(n.saturating_sub(1));
        }
        Err(e) => {
            m.findings.checked = None;
            m.findings.failed = Some(e.to_string());
        }
    }
}

/// Opens the view.
pub fn open(m: &mut Model) {
    m.prev_mode = Mode::Browse;
    m.mode = Mode::Findings;
    let n = m.findings.checked.as_ref().map_or(0, |c| c.findings.len());
    m.findings.selected = m.findings.selected.min(n.saturating_sub(1));
}

/// Applies a key's action in the findings view.
pub fn update(m: &mut Model, msg: Action) -> Option<Cmd> {
    let n = m.findings.checked.as_ref().map_or(0, |c| c.findings.len());
    let page = m.page.max(1);
    let sel = &mut m.findings.selected;
    match msg {
        Action::Up => *sel = sel.saturating_sub(1),
        Action::Down => *sel = (*sel + 1).min(n.saturating_sub(1)),
        Action::PageUp => *sel = sel.saturating_sub(page),
        Action::PageDown => *sel = (*sel + page).min(n.saturating_sub(1)),
        Action::Expand => {
            m.mode = Mode::Browse;
            show(m);
        }
        Action::Quit => {
            m.mode = Mode::Browse;
            return super::update::update(m, Action::Quit.into());
        }
        _ => m.mode = Mode::Browse,
    }
    None
}

/// The pair of the in-root `path`, or of its deepest scanned ancestor;
/// `true` when it is the path itself.
fn pair_of(m: &Model, path: &[u8]) -> Option<(usize, bool)> {
    let d = m.data.as_ref()?;
    let a = &d.audit;
    let merge = a.merge();
    let mut at: Option<usize> = None;
    for comp in crate::paths::components(path) {
        let next = merge.children(at).find(|&c| {
            let (t, k) = a.entry(c);
            t.name(k) == comp
        });
        match next {
            Some(c) => at = Some(c),
            None => return at.map(|p| (p, false)),
        }
    }
    at.map(|p| (p, true))
}

/// Shows the selected finding's path in the tree.
fn show(m: &mut Model) {
    let Some((kind, path)) = m
        .findings
        .checked
        .as_ref()
        .and_then(|c| c.findings.get(m.findings.selected))
        .map(|f| (f.kind, f.path.clone()))
    else {
        return;
    };
    let Some((pair, exact)) = pair_of(m, &path) else {
        m.status = format!("{} is not in the scan", escape_bytes(&path));
        return;
    };
    m.reveal(pair);
    if m.selected_pair() != Some(pair) {
        // The filter hides it (a persisted or Nix-managed path).
        m.filter = ClassFilter::All;
        m.refilter();
        m.reveal(pair);
    }
    let shown = m
        .data
        .as_ref()
        .map(|d| d.audit.path(pair))
        .unwrap_or_default();
    m.status = if exact {
        format!("{}: {}", kind.as_str(), escape_bytes(&path))
    } else {
        format!(
            "{}: {} is not in the scan (in storage or under a mount); showing {}",
            kind.as_str(),
            escape_bytes(&path),
            escape_bytes(&shown)
        )
    };
}

const BOLD: Style = Style::new().add_modifier(Modifier::BOLD);

fn severity_style(s: Severity) -> Style {
    match s {
        Severity::Error => BOLD.fg(Color::Red),
        Severity::Warning => BOLD.fg(Color::Yellow),
    }
}

/// What the findings view shows.
pub struct FindingsProps<'a> {
    /// The check's result and the selection.
    pub findings: &'a Findings,
}

impl Widget for FindingsProps<'_> {
    /// Draws the view over `area` (the body of the screen).
    fn render(self, area: Rect, buf: &mut Buffer) {
        draw(self.findings, area, buf);
    }
}

fn draw(fs: &Findings, area: Rect, buf: &mut Buffer) {
    Clear.render(area, buf);
    let Some(c) = &fs.checked else {
        let text = match &fs.failed {
            Some(e) => format!("The whitelist check failed: {}", escape_str(e)),
            None => "The whitelist check is still running.".to_string(),
        };
        Paragraph::new(text)
            .block(Block::bordered().title(" problems with the whitelist "))
            .render(area, buf);
        return;
    };
    let title = format!(
        " problems with the whitelist: {} (Enter shows the path, Esc goes back) ",
        crate::check::render::tally(c)
    );
    let block = Block::bordered()
        .title(title)
        .border_style(Style::new().fg(if c.has_errors() {
            Color::Red
        } else {
            Color::Yellow
        }));
    let inner = block.inner(area);
    block.render(area, buf);
    if c.findings.is_empty() {
        let mut lines = vec![Line::styled(
            "No problems found with the whitelist in effect.",
            BOLD,
        )];
        for s in &c.skipped {
            lines.push(Line::raw(format!(
                "{} not checked: {}",
                s.kind.as_str(),
                escape_str(&s.reason)
            )));
        }
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .render(inner, buf);
        return;
    }
    let list_h = (c.findings.len() as u16).min(inner.height / 2).max(1);
    let [list, detail] =
        Layout::vertical([Constraint::Length(list_h), Constraint::Min(1)]).areas(inner);
    let sel = fs.selected.min(c.findings.len() - 1);
    let first = sel.saturating_sub(list_h as usize - 1);
    let rows: Vec<Line> = c
        .findings
        .iter()
        .enumerate()
        .skip(first)
        .take(list_h as usize)
        .map(|(i, x)| {
            let mut spans = vec![
                Span::styled(
                    format!("{:<8}", x.severity().as_str()),
                    severity_style(x.severity()),
                ),
                Span::raw(format!("{:<15} ", x.kind.as_str())),
                Span::raw(escape_bytes(&x.path)),
            ];
            if x.bytes > 0 {
                spans.push(Span::styled(
                    format!("  {}", human_bytes(x.bytes)),
                    Style::new().fg(Color::DarkGray),
                ));
            }
            let line = Line::from(spans);
            if i == sel {
                line.style(Style::new().add_modifier(Modifier::REVERSED))
            } else {
                line
            }
        })
        .collect();
    Paragraph::new(rows).render(list, buf);
    let x = &c.findings[sel];
    let mut lines = vec![
        Line::raw(""),
        Line::from(vec![
            Span::styled(x.kind.as_str(), severity_style(x.severity())),
            Span::raw("  "),
            Span::styled(escape_bytes(&x.path), BOLD),
        ]),
        // Message and fix are composed from escaped names and shell-quoted
        // words already: escaping their backslashes again would show
        // `weird\\nname`, and a command that names another file.
        Line::raw(escape_message(&x.message, false)),
    ];
    if let Some(e) = &x.entry {
        lines.push(Line::from(vec![
            Span::styled("entry: ", BOLD),
            Span::raw(escape_str(&e.origin)),
        ]));
    }
    lines.push(Line::from(vec![
        Span::styled("fix: ", BOLD.fg(Color::Green)),
        Span::raw(escape_message(&x.fix, false)),
    ]));
    for s in &c.skipped {
        lines.push(Line::styled(
            format!("{} not checked: {}", s.kind.as_str(), escape_str(&s.reason)),
            Style::new().fg(Color::DarkGray),
        ));
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(detail, buf);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{EntryRef, Finding, Kind};
    use crate::tui::keys::Action as Msg;
    use crate::tui::model::tests::model;

    fn checked() -> Checked {
        let f = |kind, path: &str| Finding {
            kind,
            path: path.as_bytes().to_vec(),
            entry: Some(EntryRef {
                file: None,
                location: None,
                origin: "environment.persistence.\"/persist\".directories[0] in cfg.json".into(),
            }),
            bytes: 5,
            message: format!("something is wrong with {path}"),
            fix: format!("do this for {path}"),
        };
        Checked {
            root: "/".into(),
            findings: vec![
                f(Kind::NotInStorage, "/var/log/messages"),
                f(Kind::StaleStorage, "/persist/var/lib/old"),
            ],
            skipped: Vec::new(),
        }
    }

    #[test]
    fn opens_moves_and_shows_the_path_in_the_tree() {
        let (_dir, mut m) = model();
        loaded(&mut m, Ok(checked()));
        assert!(m.status.contains("1 error, 1 warning"), "{}", m.status);
        open(&mut m);
        assert_eq!(m.mode, Mode::Findings);
        update(&mut m, Msg::Down);
        update(&mut m, Msg::Down);
        assert_eq!(m.findings.selected, 1, "stops at the last finding");
        update(&mut m, Msg::Up);
        update(&mut m, Msg::Expand);
        assert_eq!(m.mode, Mode::Browse);
        let shown = m
            .data
            .as_ref()
            .unwrap()
            .audit
            .path(m.selected_pair().unwrap());
        assert_eq!(shown, b"/var/log/messages", "revealed, the filter widened");
        // A path in storage (not scanned) shows its deepest scanned ancestor: none here.
        open(&mut m);
        update(&mut m, Msg::Down);
        update(&mut m, Msg::Expand);
        assert!(m.status.contains("not in the scan"), "{}", m.status);
        open(&mut m);
        assert_eq!(update(&mut m, Msg::No), None);
        assert_eq!(m.mode, Mode::Browse);
    }

    /// The findings view of `m` drawn on a 100×20 screen, as one string.
    fn drawn(m: &Model) -> String {
        let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(100, 20)).unwrap();
        t.draw(|f| {
            f.render_widget(
                FindingsProps {
                    findings: &m.findings,
                },
                f.area(),
            )
        })
        .unwrap();
        t.backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect()
    }

    #[test]
    fn draws_each_finding_with_its_entry_and_fix() {
        let (_dir, mut m) = model();
        loaded(&mut m, Ok(checked()));
        open(&mut m);
        update(&mut m, Msg::Down);
        let screen = drawn(&m);
        assert!(screen.contains("problems with the whitelist: 1 error, 1 warning"));
        assert!(screen.contains("not-in-storage  /var/log/messages"));
        assert!(
            screen.contains("fix: do this for /persist/var/lib/old"),
            "{screen}"
        );
        assert!(screen.contains("entry: environment.persistence"));
    }

    /// Message and fix come escaped and shell-quoted: drawn as they are, a
    /// `\x0a` in a command stays one backslash (two would name another file).
    #[test]
    fn escaped_names_in_message_and_fix_are_not_escaped_again() {
        let (_dir, mut m) = model();
        let mut c = checked();
        c.findings[0].message = "weird\\nname here".into();
        c.findings[0].fix = "`cp -a $'/a/weird\\x0aname' /persist/a/`".into();
        loaded(&mut m, Ok(c));
        open(&mut m);
        let screen = drawn(&m);
        assert!(screen.contains("weird\\nname here"), "{screen}");
        assert!(!screen.contains("weird\\\\nname"), "{screen}");
        assert!(screen.contains("$'/a/weird\\x0aname'"), "{screen}");
    }
}
