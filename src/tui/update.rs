//! `update(&mut Model, Msg) -> Option<Cmd>`: every state change of the TUI
//! (the Elm architecture). No terminal and no file system: what needs I/O
//! (writing the whitelist or the ignore file, quitting) is returned as a
//! [`Cmd`] for the runtime in `tui::run`, which reports back through the
//! `Model::*_done` methods.

use crate::classify::Class;
use crate::diff::Change;
use crate::scan::{Kind, NONE};
use crate::text::escape_bytes;

use super::keys::{Mode, Msg};
use super::marks::{Mark, Refusal};
use super::model::{Dismissal, Focus, Model, WritePlan};

/// Work for the runtime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cmd {
    /// Leave the TUI (cancels a running scan).
    Quit,
    /// Render the whitelist with the marks and show the plan.
    PrepareWrite,
    /// Write the planned whitelist text.
    Write(String),
    /// Append a rule to the ignore file.
    AppendIgnore(Vec<u8>),
    /// Put the ignore file back as it was (`None`: remove it).
    RestoreIgnore(Option<Vec<u8>>),
}

/// Applies one message to the model.
pub fn update(m: &mut Model, msg: Msg) -> Option<Cmd> {
    match m.mode {
        Mode::Loading => match msg {
            Msg::Quit => Some(Cmd::Quit),
            _ => None,
        },
        Mode::Help => {
            match msg {
                Msg::Quit => return quit(m),
                Msg::Up | Msg::Down | Msg::PageUp | Msg::PageDown => scroll_popup(m, msg),
                _ => m.mode = m.prev_mode,
            }
            None
        }
        Mode::ConfirmQuit => match msg {
            Msg::Yes | Msg::Quit => Some(Cmd::Quit),
            Msg::WritePreview => {
                m.mode = Mode::Browse;
                write_preview(m)
            }
            _ => {
                m.mode = Mode::Browse;
                m.status = "not quitting".into();
                None
            }
        },
        Mode::ConfirmWrite => match msg {
            Msg::Yes => {
                m.mode = Mode::Browse;
                let plan = m.plan.take()?;
                if plan.old.as_deref() == Some(plan.new.as_str()) {
                    m.status = "the whitelist already lists these paths; nothing written".into();
                    m.promoted.extend(m.marks.iter().map(|(_, k)| k.pair));
                    m.marks.clear();
                    return None;
                }
                m.plan = Some(plan.clone());
                Some(Cmd::Write(plan.new))
            }
            Msg::Quit => quit(m),
            Msg::Up | Msg::Down | Msg::PageUp | Msg::PageDown => {
                scroll_popup(m, msg);
                None
            }
            _ => {
                m.mode = Mode::Browse;
                m.plan = None;
                m.status = "nothing written".into();
                None
            }
        },
        Mode::Search => search(m, msg),
        Mode::Browse => browse(m, msg),
        Mode::Findings => super::findings::update(m, msg),
    }
}

fn scroll_popup(m: &mut Model, msg: Msg) {
    let page = m.page.max(1) as u16;
    let s = m.popup_scroll;
    m.popup_scroll = match msg {
        Msg::Up => s.saturating_sub(1),
        Msg::Down => s.saturating_add(1),
        Msg::PageUp => s.saturating_sub(page),
        _ => s.saturating_add(page),
    };
}

fn quit(m: &mut Model) -> Option<Cmd> {
    if m.marks.is_empty() || m.mode == Mode::ConfirmQuit {
        return Some(Cmd::Quit);
    }
    m.mode = Mode::ConfirmQuit;
    None
}

fn search(m: &mut Model, msg: Msg) -> Option<Cmd> {
    match msg {
        Msg::SearchChar(c) => {
            m.search.push(c);
            jump_to_match(m, m.search_origin as usize, true);
        }
        Msg::SearchBackspace => {
            m.search.pop();
            if m.search.is_empty() {
                m.expanded = m.search_expanded.clone();
                let origin = m.search_origin as usize;
                m.reveal(origin);
                m.status = "/".into();
            } else {
                jump_to_match(m, m.search_origin as usize, true);
            }
        }
        Msg::SearchAccept => {
            m.mode = Mode::Browse;
            if !m.search.is_empty() {
                m.status = format!("/{}  (n next, N previous)", m.search);
            }
        }
        Msg::SearchCancel => {
            m.mode = Mode::Browse;
            m.search.clear();
            m.expanded = m.search_expanded.clone();
            let origin = m.search_origin as usize;
            m.reveal(origin);
            m.status = "search cleared".into();
        }
        Msg::Quit => return quit(m),
        _ => {}
    }
    None
}

fn jump_to_match(m: &mut Model, from: usize, forward: bool) {
    match m.find(from, forward) {
        Some(i) => {
            if m.mode == Mode::Search {
                // Typing must not leave a trail of directories opened by partial matches.
                m.expanded = m.search_expanded.clone();
            }
            m.reveal(i);
            let path = m.data.as_ref().map(|d| d.audit.path(i)).unwrap_or_default();
            m.status = format!("/{}  → {}", m.search, escape_bytes(&path));
        }
        None => m.status = format!("/{}  (no match among the shown paths)", m.search),
    }
}

fn browse(m: &mut Model, msg: Msg) -> Option<Cmd> {
    match msg {
        Msg::Up | Msg::Down | Msg::PageUp | Msg::PageDown | Msg::Top | Msg::Bottom => {
            movement(m, msg);
        }
        Msg::Expand => match m.focus {
            Focus::Marked => {
                if let Some((_, mk)) = m.marks.nth(m.marked_sel) {
                    let pair = mk.pair as usize;
                    m.focus = Focus::Tree;
                    m.reveal(pair);
                }
            }
            _ => expand(m),
        },
        Msg::Collapse => collapse(m),
        Msg::Findings => super::findings::open(m),
        Msg::SearchStart => {
            m.mode = Mode::Search;
            m.search.clear();
            m.search_origin = m.selected_pair().unwrap_or(0) as u32;
            m.search_expanded = m.expanded.clone();
            m.status = "/".into();
        }
        Msg::NextMatch | Msg::PrevMatch => {
            if m.search.is_empty() {
                m.status = "no search: / starts one".into();
            } else {
                let n = m.data.as_ref().map_or(0, |d| d.audit.len()).max(1);
                let cur = m.selected_pair().unwrap_or(0);
                let forward = msg == Msg::NextMatch;
                let from = if forward {
                    (cur + 1) % n
                } else {
                    (cur + n - 1) % n
                };
                jump_to_match(m, from, forward);
            }
        }
        Msg::ToggleMark => toggle_mark(m),
        Msg::Dismiss => return dismiss(m),
        Msg::Undo => return undo(m),
        Msg::CycleFilter => {
            m.filter = m.filter.next();
            m.refilter();
            m.status = format!("showing {}", m.filter.label());
        }
        Msg::CycleChange => {
            m.change = match m.change {
                None => Some(Change::Added),
                Some(Change::Added) => Some(Change::Modified),
                Some(Change::Modified) => Some(Change::Removed),
                Some(Change::Removed) => Some(Change::Unchanged),
                Some(Change::Unchanged) => None,
            };
            m.refilter();
            m.status = format!("change filter: {}", m.change.map_or("any", |c| c.as_str()));
        }
        Msg::CycleSort => {
            m.sort = m.sort.next();
            m.rebuild_rows();
            m.status = format!("sorted by {}", m.sort.label());
        }
        Msg::FocusNext => {
            m.focus = match m.focus {
                Focus::Tree => Focus::Detail,
                Focus::Detail if !m.marks.is_empty() => Focus::Marked,
                _ => Focus::Tree,
            };
        }
        Msg::WritePreview => return write_preview(m),
        Msg::Help => {
            m.popup_scroll = 0;
            m.prev_mode = Mode::Browse;
            m.mode = Mode::Help;
        }
        Msg::Quit => return quit(m),
        Msg::Yes
        | Msg::No
        | Msg::SearchChar(_)
        | Msg::SearchBackspace
        | Msg::SearchAccept
        | Msg::SearchCancel => {}
    }
    None
}

/// The cursor `s` of a list of `len` rows after a movement message.
fn moved(s: usize, msg: &Msg, page: usize, len: usize) -> usize {
    let last = len.saturating_sub(1);
    match msg {
        Msg::Up => s.saturating_sub(1),
        Msg::Down => (s + 1).min(last),
        Msg::PageUp => s.saturating_sub(page),
        Msg::PageDown => (s + page).min(last),
        Msg::Top => 0,
        _ => last,
    }
}

fn movement(m: &mut Model, msg: Msg) {
    let page = m.page.max(1);
    match m.focus {
        Focus::Tree => {
            let s = m.selected;
            m.selected = moved(s, &msg, page, m.rows.len());
            if m.selected != s {
                m.detail_scroll = 0;
            }
        }
        Focus::Detail => {
            let s = m.detail_scroll;
            let p = page as u16;
            m.detail_scroll = match msg {
                Msg::Up => s.saturating_sub(1),
                Msg::Down => s.saturating_add(1),
                Msg::PageUp => s.saturating_sub(p),
                Msg::PageDown => s.saturating_add(p),
                Msg::Top => 0,
                _ => u16::MAX / 2,
            };
        }
        Focus::Marked => {
            m.marked_sel = moved(m.marked_sel, &msg, page, m.marks.len());
        }
    }
}

fn expand(m: &mut Model) {
    let Some(i) = m.selected_pair() else { return };
    if !m.has_children(i) {
        m.status = "not a directory with shown entries".into();
        return;
    }
    if m.expanded.contains(&(i as u32)) {
        // Already open: step onto its first child.
        if m.selected + 1 < m.rows.len() {
            m.selected += 1;
        }
        return;
    }
    // Open chains of single directories in one go (var → lib → docker).
    let mut cur = i;
    loop {
        m.expanded.insert(cur as u32);
        let kids = m.children(Some(cur));
        if kids.len() != 1 || !m.has_children(kids[0] as usize) {
            break;
        }
        cur = kids[0] as usize;
    }
    m.rebuild_rows();
}

fn collapse(m: &mut Model) {
    if m.focus == Focus::Marked {
        m.focus = Focus::Tree;
        return;
    }
    let Some(i) = m.selected_pair() else { return };
    if m.expanded.remove(&(i as u32)) {
        m.rebuild_rows();
        return;
    }
    let Some(d) = m.data.as_ref() else { return };
    let p = d.audit.merge().parents()[i];
    if p != NONE
        && let Some(r) = m.rows.iter().position(|r| r.pair == p)
    {
        m.selected = r;
    }
}

fn toggle_mark(m: &mut Model) {
    if m.focus == Focus::Marked {
        let Some(path) = m.marks.nth(m.marked_sel).map(|(p, _)| p.to_vec()) else {
            return;
        };
        m.marks.unmark(&path);
        m.marked_sel = m.marked_sel.min(m.marks.len().saturating_sub(1));
        if m.marks.is_empty() {
            m.focus = Focus::Tree;
        }
        m.status = format!("unmarked {}", escape_bytes(&path));
        return;
    }
    let Some(i) = m.selected_pair() else { return };
    let Some(d) = m.data.as_ref() else { return };
    let a = &d.audit;
    let path = a.path(i);
    let shown = escape_bytes(&path);
    if m.marks.unmark(&path) {
        m.status = format!("unmarked {shown}");
        return;
    }
    if a.merge().pairs()[i].cur == NONE {
        m.status = format!("{shown} was removed: it is not on the root, there is nothing to keep");
        return;
    }
    let v = a.verdict(i);
    if v.class == Class::Persisted {
        m.status = format!(
            "{shown} is already persisted ({})",
            a.text(v.reason).unwrap_or("")
        );
        return;
    }
    let (t, k) = a.entry(i);
    let mark = Mark {
        pair: i as u32,
        entries: u64::from(d.agg.entries[i]),
        bytes: d.agg.bytes[i],
        is_dir: t.entries[k].kind == Kind::Dir,
    };
    let note = if v.class == Class::NixManaged {
        " (note: NixOS recreates it; persisting it shadows that)"
    } else {
        ""
    };
    match m.marks.mark(path, mark) {
        Ok(()) => {
            let (n, b) = m.marks.totals();
            m.status = format!(
                "marked {shown}{note}; {} marked, {} entries, {}; w writes",
                m.marks.len(),
                n,
                crate::text::human_bytes(b)
            );
            if m.selected + 1 < m.rows.len() {
                m.selected += 1;
            }
        }
        Err(Refusal::UnderMarked(anc)) => {
            m.status = format!(
                "not marked: {} is already marked and covers {shown}",
                escape_bytes(&anc)
            );
        }
        Err(Refusal::OverMarked(first, n)) => {
            m.status = format!(
                "not marked: {shown} would cover {n} marked path(s) below it ({}); unmark them first",
                escape_bytes(&first)
            );
        }
    }
}

/// The gitignore rule that matches exactly `path` (absolute in-root).
pub fn ignore_rule(path: &[u8]) -> Option<Vec<u8>> {
    if path.contains(&b'\n') || path.contains(&b'\r') {
        return None;
    }
    let mut rule = Vec::with_capacity(path.len() + 4);
    for (k, &b) in path.iter().enumerate() {
        let at_start = k == 1; // after the leading '/'
        if matches!(b, b'*' | b'?' | b'[' | b'\\') || (at_start && matches!(b, b'!' | b'#')) {
            rule.push(b'\\');
        }
        rule.push(b);
    }
    if rule.ends_with(b" ") {
        let last = rule.len() - 1;
        rule.insert(last, b'\\');
    }
    Some(rule)
}

fn dismiss(m: &mut Model) -> Option<Cmd> {
    let i = m.selected_pair()?;
    let has_file = m.settings.ignore.is_some();
    let d = m.data.as_mut()?;
    let a = &mut d.audit;
    let path = a.path(i);
    let shown = escape_bytes(&path);
    let Some(rule) = ignore_rule(&path) else {
        m.status = format!("{shown}: a name with a line break cannot be written as an ignore rule");
        return None;
    };
    let pairs = a.dismiss(i);
    if pairs.is_empty() {
        m.status = format!("{shown}: nothing stray to dismiss here");
        return None;
    }
    let count = pairs.len();
    m.dismissals.push(Dismissal {
        path,
        pairs,
        previous: None,
    });
    m.refilter();
    if has_file {
        m.status = format!("dismissed {shown} ({count} stray entries); u undoes");
        Some(Cmd::AppendIgnore(rule))
    } else {
        m.status = format!(
            "dismissed {shown} in memory only (no --ignore FILE given, so it is not saved); u undoes"
        );
        None
    }
}

fn undo(m: &mut Model) -> Option<Cmd> {
    let Some(last) = m.dismissals.pop() else {
        m.status = "no dismissal to undo".into();
        return None;
    };
    if let Some(d) = m.data.as_mut() {
        d.audit.undismiss(&last.pairs);
    }
    m.refilter();
    let pair = last.pairs.first().copied().unwrap_or(0) as usize;
    m.reveal(pair);
    m.status = format!("undid the dismissal of {}", escape_bytes(&last.path));
    last.previous.map(Cmd::RestoreIgnore)
}

fn write_preview(m: &mut Model) -> Option<Cmd> {
    if m.marks.is_empty() {
        m.status = "nothing marked: Space marks the selected path for promotion".into();
        return None;
    }
    Some(Cmd::PrepareWrite)
}

impl Model {
    /// The runtime rendered the plan (or failed to).
    pub fn plan_ready(&mut self, plan: crate::Result<WritePlan>) {
        match plan {
            Ok(p) => {
                self.plan = Some(p);
                self.popup_scroll = 0;
                self.prev_mode = Mode::Browse;
                self.mode = Mode::ConfirmWrite;
            }
            Err(e) => self.status = format!("cannot prepare the whitelist: {e}"),
        }
    }

    /// The runtime wrote the whitelist (or failed to).
    pub fn write_done(&mut self, r: crate::Result<()>) {
        let plan = self.plan.take();
        match r {
            Ok(()) => {
                let n = self.marks.len();
                self.promoted.extend(self.marks.iter().map(|(_, k)| k.pair));
                self.marks.clear();
                self.focus = Focus::Tree;
                let (path, had_old) = plan.map(|p| (p.path, p.old.is_some())).unwrap_or_default();
                self.status = format!(
                    "wrote {n} {} to {}{}",
                    if n == 1 { "path" } else { "paths" },
                    crate::text::quote_path(&path),
                    if had_old {
                        " (the old one is in .bak)"
                    } else {
                        ""
                    }
                );
            }
            Err(e) => self.status = format!("nothing written: {e}"),
        }
    }

    /// The runtime appended the rule; `previous` is the file's content before.
    pub fn ignore_saved(&mut self, r: crate::Result<Option<Vec<u8>>>) {
        match r {
            Ok(prev) => {
                if let Some(last) = self.dismissals.last_mut() {
                    last.previous = Some(prev);
                }
            }
            Err(e) => self.status = format!("dismissed in memory, but not saved: {e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::model::tests::model;

    fn path_of(m: &Model) -> String {
        let d = m.data.as_ref().unwrap();
        String::from_utf8(d.audit.path(m.selected_pair().unwrap())).unwrap()
    }

    #[test]
    fn expanding_opens_single_directory_chains() {
        let (_d, mut m) = model();
        assert_eq!(path_of(&m), "/var");
        update(&mut m, Msg::Expand);
        let shown: Vec<u16> = m.rows.iter().map(|r| r.depth).collect();
        assert_eq!(shown.len(), 3 + 2, "/var shows lib and log");
        update(&mut m, Msg::Expand);
        assert_eq!(path_of(&m), "/var/lib", "a second → steps in");
        update(&mut m, Msg::Expand);
        update(&mut m, Msg::Expand);
        assert_eq!(path_of(&m), "/var/lib/docker");
        update(&mut m, Msg::Collapse);
        update(&mut m, Msg::Collapse);
        assert_eq!(
            path_of(&m),
            "/var/lib",
            "← on a closed row goes to the parent"
        );
    }

    #[test]
    fn marking_refuses_overlaps_and_quitting_asks_first() {
        let (_d, mut m) = model();
        update(&mut m, Msg::ToggleMark); // /var
        assert_eq!(m.marks.len(), 1);
        update(&mut m, Msg::Top);
        update(&mut m, Msg::Expand);
        update(&mut m, Msg::Down);
        update(&mut m, Msg::ToggleMark); // /var/lib: covered by /var
        assert_eq!(m.marks.len(), 1);
        assert!(m.status.contains("/var is already marked"), "{}", m.status);
        assert_eq!(update(&mut m, Msg::Quit), None);
        assert_eq!(m.mode, Mode::ConfirmQuit);
        assert_eq!(update(&mut m, Msg::No), None);
        assert_eq!(m.mode, Mode::Browse);
        assert_eq!(update(&mut m, Msg::Quit), None);
        assert_eq!(update(&mut m, Msg::Yes), Some(Cmd::Quit));
    }

    #[test]
    fn dismissing_hides_the_subtree_and_undo_brings_it_back() {
        let (_d, mut m) = model();
        let open = |m: &Model| {
            m.data
                .as_ref()
                .unwrap()
                .hits
                .entries
                .iter()
                .filter(|&&h| h == 1)
                .count()
        };
        let open_before = open(&m);
        let before = m.rows.len();
        assert_eq!(
            update(&mut m, Msg::Dismiss),
            None,
            "no --ignore: memory only"
        );
        assert!(m.status.contains("not saved"), "{}", m.status);
        assert_eq!(m.rows.len(), before - 1);
        update(&mut m, Msg::CycleFilter); // all
        update(&mut m, Msg::CycleFilter); // persisted
        update(&mut m, Msg::CycleFilter); // nix
        update(&mut m, Msg::CycleFilter); // dismissed
        assert_eq!(m.rows.len(), 1);
        update(&mut m, Msg::CycleFilter); // stray again
        update(&mut m, Msg::Undo);
        assert_eq!(open(&m), open_before, "undo brings every stray entry back");
    }

    #[test]
    fn write_needs_marks_and_a_plan() {
        let (_d, mut m) = model();
        assert_eq!(update(&mut m, Msg::WritePreview), None);
        update(&mut m, Msg::ToggleMark);
        assert_eq!(update(&mut m, Msg::WritePreview), Some(Cmd::PrepareWrite));
    }

    #[test]
    fn ignore_rules_are_anchored_and_escaped() {
        assert_eq!(ignore_rule(b"/var/log").unwrap(), b"/var/log");
        assert_eq!(ignore_rule(b"/#x/a*b").unwrap(), b"/\\#x/a\\*b");
        assert_eq!(ignore_rule(b"/a\nb"), None);
    }
}
