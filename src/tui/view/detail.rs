//! The detail pane: everything behind the selected path's verdict (kind,
//! change, size, owner, mode, mtime, class and reason, advice, service owner, warning,
//! mount, symlink chain, mark) and the preview the runtime loaded.

use std::collections::HashSet;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{BOLD, DIM, count, diff_line, pane};
use crate::classify::Class;
use crate::diff::Change;
use crate::resolve::{Ending, Resolver};
use crate::scan::Kind;
use crate::text::{escape_bytes, human_bytes};
use crate::tui::marks::Marks;
use crate::tui::model::Data;
use crate::tui::preview::Preview;

/// What the detail pane shows.
pub struct DetailProps<'a> {
    /// The audit and its aggregates.
    pub data: &'a Data,
    /// The selected pair, if any row is shown.
    pub pair: Option<usize>,
    /// Marked paths (the "marked by" line).
    pub marks: &'a Marks,
    /// Pairs written in this session.
    pub promoted: &'a HashSet<u32>,
    /// The preview of the selected pair, once loaded.
    pub preview: Option<&'a Preview>,
    /// Lines scrolled off the top.
    pub scroll: u16,
    /// Whether the pane has the focus.
    pub focused: bool,
}

impl Widget for DetailProps<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let block = pane(" detail ".into(), self.focused);
        let inner = block.inner(area);
        block.render(area, buf);
        let Some(i) = self.pair else { return };
        let lines = self.lines(i);
        let scroll = self
            .scroll
            .min(lines.len().saturating_sub(1).min(u16::MAX as usize) as u16);
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((scroll, 0))
            .render(inner, buf);
    }
}

impl DetailProps<'_> {
    fn lines(&self, i: usize) -> Vec<Line<'static>> {
        let d = self.data;
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
                human_bytes(d.totals(i).bytes),
                count(d.totals(i).entries)
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
        // The whitelist written in this session may have changed the class
        // (as the next run will see it): that class, and why.
        let relisted = d.relisted(i);
        let class = relisted.unwrap_or(v.class);
        let class_style = match class {
            Class::Stray => Style::new().fg(Color::Red),
            Class::Persisted => Style::new().fg(Color::Green),
            Class::NixManaged => Style::new().fg(Color::LightBlue),
        };
        let mut cl = vec![
            Span::styled(format!("{:<8} ", "class"), DIM),
            Span::styled(class.as_str(), class_style.add_modifier(Modifier::BOLD)),
        ];
        let reason = match relisted {
            Some(Class::Persisted) => {
                "listed in the whitelist written in this session (not backed by storage yet)"
            }
            Some(_) => "holds persisted or Nix-managed paths, so it is recreated to hold them",
            None => a.text(v.reason).unwrap_or(""),
        };
        if v.dismissed && relisted.is_none() {
            cl.push(Span::styled(" (dismissed)", DIM));
        }
        cl.push(Span::raw(format!(": {reason}")));
        lines.push(Line::from(cl));
        if class == Class::Stray {
            let adv = match v.advice {
                Some(ad) => {
                    let reason = a.text(v.advice_reason).unwrap_or("");
                    format!("{}: {reason}", ad.as_str())
                }
                None => "none known: decide from what it holds".into(),
            };
            lines.push(kv("advice", adv));
        }
        if let Some(o) = a.owner(i) {
            // The unit (or user) keeping its state there, and how darlings knows.
            let who = match (&o.unit, &o.user) {
                (Some(u), Some(user)) => format!("{u} (user {user})"),
                (Some(u), None) => u.clone(),
                (None, Some(user)) => format!("user {user}"),
                (None, None) => "unknown".into(),
            };
            let text = format!("{who}: {}", o.evidence);
            lines.push(kv("service", crate::text::escape_str(&text)));
        }
        if let Some(w) = a.text(v.warning) {
            lines.push(Line::from(vec![
                Span::styled(format!("{:<8} ", "warning"), DIM),
                Span::styled(w.to_string(), Style::new().fg(Color::Yellow)),
            ]));
        }
        if e.kind == Kind::Dir {
            let c = d.totals(i).classes;
            lines.push(kv(
                "below",
                format!(
                    "stray {}  persisted {}  nix {}",
                    count(c[Class::Stray as usize]),
                    count(c[Class::Persisted as usize]),
                    count(c[Class::NixManaged as usize])
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
        if let Some(why) = self.marks.get(&path).and_then(|mk| mk.refused.as_ref()) {
            // What `darlings promote` would say, in full: w left it out.
            let red = Style::new().fg(Color::Red);
            lines.push(Line::styled(
                format!("✗ marked, but w refused it: {}", why.rule),
                red.add_modifier(Modifier::BOLD),
            ));
            lines.push(Line::styled(why.why.clone(), red));
            lines.push(Line::raw(format!("instead, {}", why.instead)));
        } else if let Some(c) = self.marks.covering(&path) {
            lines.push(Line::styled(
                format!("● marked for promotion (by {})", escape_bytes(c)),
                Style::new().fg(Color::Magenta),
            ));
        } else if self.promoted.contains(&(i as u32)) {
            lines.push(Line::styled(
                "✓ written to the whitelist in this session",
                Style::new().fg(Color::Green),
            ));
        }
        if let Some(prev) = self.preview {
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
        lines
    }
}

fn kv(k: &str, v: impl Into<String>) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{k:<8} "), DIM),
        Span::raw(v.into()),
    ])
}

/// The chain of a symlink as the detail pane shows it: each hop's link text,
/// where it lands when that differs, and a note when the chain leaves the
/// scanned root, dangles or loops. A formatter over [`Resolver::chain`], so
/// the pane and the classification resolve links the same way.
pub fn link_chain(resolver: &Resolver<'_>, path: &[u8]) -> Vec<String> {
    use crate::text::escape_bytes;
    let chain = resolver.chain(path);
    let mut out = Vec::new();
    for hop in &chain.hops {
        out.push(escape_bytes(&hop.text));
        if let Some(lands) = &hop.lands {
            out.push(escape_bytes(lands));
        }
    }
    match chain.ending {
        Ending::Exists => {}
        Ending::Missing => {
            if let Some(last) = out.last_mut() {
                last.push_str(" (not on this root)");
            }
        }
        Ending::Loop => out.push("(loop)".into()),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{Progress, ScanOptions};

    #[test]
    fn link_chains_resolve_inside_the_root_and_stop_at_loops() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        std::fs::create_dir_all(r.join("nix/store/x-etc/etc")).unwrap();
        std::fs::write(r.join("nix/store/x-etc/etc/hosts"), "h").unwrap();
        std::fs::create_dir_all(r.join("etc")).unwrap();
        std::os::unix::fs::symlink("/nix/store/x-etc/etc", r.join("etc/static")).unwrap();
        std::os::unix::fs::symlink("static/hosts", r.join("etc/hosts")).unwrap();
        std::os::unix::fs::symlink("/nix/store/gone", r.join("etc/dangling")).unwrap();
        std::os::unix::fs::symlink("b", r.join("etc/a")).unwrap();
        std::os::unix::fs::symlink("a", r.join("etc/b")).unwrap();
        let t = crate::scan::scan(
            &ScanOptions {
                root: r.to_path_buf(),
                threads: 1,
                reserve_threads: 0,
                exclude: Vec::new(),
                hash_all: false,
            },
            &Progress::default(),
        )
        .unwrap();
        let res = Resolver::new(&t, &crate::resolve::NothingBeyond);
        let chain = |p: &[u8]| link_chain(&res, p).join(" → ");
        assert_eq!(
            chain(b"/etc/hosts"),
            "static/hosts → /nix/store/x-etc/etc/hosts"
        );
        assert_eq!(
            chain(b"/etc/dangling"),
            "/nix/store/gone (not on this root)"
        );
        assert!(chain(b"/etc/a").ends_with("(loop)"), "{}", chain(b"/etc/a"));
    }
}
