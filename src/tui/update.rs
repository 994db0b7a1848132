//! `update(&mut Model, Msg) -> Option<Cmd>`: every state change of the TUI
//! (the Elm architecture). No terminal and no file system: what needs I/O
//! (previews, writing the whitelist or the ignore file, quitting) is
//! returned as a [`Cmd`] for the runtime in `tui/mod.rs`, which reports the
//! result back as a [`Msg`].

use crate::classify::Class;
use crate::diff::Change;
use crate::scan::{Kind, NONE};
use crate::text::escape_bytes;

use super::keys::{Action, Mode};
use super::marks::{Mark, Refusal};
use super::model::{Dismissal, Focus, Model, WritePlan};
use super::msg::{Cmd, Msg};
use super::preview::PreviewJob;
use super::tree::{Expanded, Move};

/// Applies one message to the model.
pub fn update(m: &mut Model, msg: Msg) -> Option<Cmd> {
    match msg {
        Msg::Action(a) => act(m, a),
        Msg::Loaded(b) => {
            let (audit, users) = *b;
            m.load(audit, users);
            None
        }
        Msg::Checked(r) => {
            super::findings::loaded(m, *r);
            None
        }
        Msg::Progress(l) => {
            m.loading = l;
            None
        }
        Msg::Page(rows) => {
            m.page = rows.max(1);
            None
        }
        Msg::PreviewLoaded(pair, p) => {
            m.preview = Some((pair, p));
            None
        }
        Msg::PlanReady(r) => {
            plan_ready(m, r);
            None
        }
        Msg::Written(r) => {
            write_done(m, r);
            None
        }
        Msg::IgnoreSaved(r) => {
            ignore_saved(m, r);
            None
        }
        Msg::IgnoreRestored(r) => {
            if let Err(e) = r {
                m.status = format!("undone in memory, but the ignore file was not restored: {e}");
            }
            None
        }
    }
}

/// The preview the detail pane needs and does not have: the runtime asks
/// after every update (a subscription, in Elm's words) and reads it.
pub fn wanted_preview(m: &Model) -> Option<Cmd> {
    let i = m.selected_pair()?;
    if m.preview.as_ref().is_some_and(|(p, _)| *p as usize == i) {
        return None;
    }
    let d = m.data.as_ref()?;
    Some(Cmd::Preview(PreviewJob::for_pair(&d.audit, i)))
}

/// Applies a key's action in the current mode.
fn act(m: &mut Model, msg: Action) -> Option<Cmd> {
    match m.mode {
        Mode::Loading => match msg {
            Action::Quit => Some(Cmd::Quit),
            _ => None,
        },
        Mode::Help => {
            match msg {
                Action::Quit => return quit(m),
                Action::Up | Action::Down | Action::PageUp | Action::PageDown => {
                    scroll_popup(m, msg)
                }
                _ => m.mode = m.prev_mode,
            }
            None
        }
        Mode::ConfirmQuit => match msg {
            Action::Yes | Action::Quit => Some(Cmd::Quit),
            Action::WritePreview => {
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
            Action::Yes => {
                m.mode = Mode::Browse;
                let plan = m.plan.take()?;
                if plan.refused.is_some() {
                    m.status =
                        "nothing written: the file has no safe place for the marked paths".into();
                    return None;
                }
                if plan.old.as_deref() == Some(plan.new.as_str()) {
                    m.status = "the whitelist already lists these paths; nothing written".into();
                    m.promoted.extend(m.marks.iter().map(|(_, k)| k.pair));
                    m.marks.clear();
                    return None;
                }
                m.plan = Some(plan.clone());
                Some(Cmd::Write(plan.new))
            }
            Action::Quit => quit(m),
            Action::Up | Action::Down | Action::PageUp | Action::PageDown => {
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

fn scroll_popup(m: &mut Model, msg: Action) {
    let page = m.page.max(1) as u16;
    let s = m.popup_scroll;
    m.popup_scroll = match msg {
        Action::Up => s.saturating_sub(1),
        Action::Down => s.saturating_add(1),
        Action::PageUp => s.saturating_sub(page),
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

fn search(m: &mut Model, msg: Action) -> Option<Cmd> {
    match msg {
        Action::SearchChar(c) => {
            m.search.push(c);
            jump_to_match(m, m.search_origin as usize, true);
        }
        Action::SearchBackspace => {
            m.search.pop();
            if m.search.is_empty() {
                m.tree.expanded = m.search_expanded.clone();
                let origin = m.search_origin as usize;
                m.reveal(origin);
                m.status = "/".into();
            } else {
                jump_to_match(m, m.search_origin as usize, true);
            }
        }
        Action::SearchAccept => {
            m.mode = Mode::Browse;
            if !m.search.is_empty() {
                m.status = format!("/{}  (n next, N previous)", m.search);
            }
        }
        Action::SearchCancel => {
            m.mode = Mode::Browse;
            m.search.clear();
            m.tree.expanded = m.search_expanded.clone();
            let origin = m.search_origin as usize;
            m.reveal(origin);
            m.status = "search cleared".into();
        }
        Action::Quit => return quit(m),
        _ => {}
    }
    None
}

fn jump_to_match(m: &mut Model, from: usize, forward: bool) {
    match m.find(from, forward) {
        Some(i) => {
            if m.mode == Mode::Search {
                // Typing must not leave a trail of directories opened by partial matches.
                m.tree.expanded = m.search_expanded.clone();
            }
            m.reveal(i);
            let path = m.data.as_ref().map(|d| d.audit.path(i)).unwrap_or_default();
            m.status = format!("/{}  → {}", m.search, escape_bytes(&path));
        }
        None => m.status = format!("/{}  (no match among the shown paths)", m.search),
    }
}

fn browse(m: &mut Model, msg: Action) -> Option<Cmd> {
    match msg {
        Action::Up
        | Action::Down
        | Action::PageUp
        | Action::PageDown
        | Action::Top
        | Action::Bottom => {
            movement(m, msg);
        }
        Action::Expand => match m.focus {
            Focus::Marked => {
                if let Some((_, mk)) = m.marks.nth(m.marked_sel) {
                    let pair = mk.pair as usize;
                    m.focus = Focus::Tree;
                    m.reveal(pair);
                }
            }
            _ => expand(m),
        },
        Action::Collapse => collapse(m),
        Action::Findings => super::findings::open(m),
        Action::SearchStart => {
            m.mode = Mode::Search;
            m.search.clear();
            m.search_origin = m.selected_pair().unwrap_or(0) as u32;
            m.search_expanded = m.tree.expanded.clone();
            m.status = "/".into();
        }
        Action::NextMatch | Action::PrevMatch => {
            if m.search.is_empty() {
                m.status = "no search: / starts one".into();
            } else {
                let n = m.data.as_ref().map_or(0, |d| d.audit.len()).max(1);
                let cur = m.selected_pair().unwrap_or(0);
                let forward = msg == Action::NextMatch;
                let from = if forward {
                    (cur + 1) % n
                } else {
                    (cur + n - 1) % n
                };
                jump_to_match(m, from, forward);
            }
        }
        Action::ToggleMark => toggle_mark(m),
        Action::Dismiss => return dismiss(m),
        Action::Undo => return undo(m),
        Action::CycleFilter => {
            m.filter = m.filter.next();
            m.refilter();
            m.status = format!("showing {}", m.filter.label());
        }
        Action::CycleChange => {
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
        Action::CycleSort => {
            m.tree.sort = m.tree.sort.next();
            m.rebuild_rows();
            m.status = format!("sorted by {}", m.tree.sort.label());
        }
        Action::FocusNext => {
            m.focus = match m.focus {
                Focus::Tree => Focus::Detail,
                Focus::Detail if !m.marks.is_empty() => Focus::Marked,
                _ => Focus::Tree,
            };
        }
        Action::WritePreview => return write_preview(m),
        Action::Help => {
            m.popup_scroll = 0;
            m.prev_mode = Mode::Browse;
            m.mode = Mode::Help;
        }
        Action::Quit => return quit(m),
        Action::Yes
        | Action::No
        | Action::SearchChar(_)
        | Action::SearchBackspace
        | Action::SearchAccept
        | Action::SearchCancel => {}
    }
    None
}

/// The movement a movement message asks for.
fn to_move(msg: Action) -> Move {
    match msg {
        Action::Up => Move::Up,
        Action::Down => Move::Down,
        Action::PageUp => Move::PageUp,
        Action::PageDown => Move::PageDown,
        Action::Top => Move::Top,
        _ => Move::Bottom,
    }
}

fn movement(m: &mut Model, msg: Action) {
    let page = m.page.max(1);
    match m.focus {
        Focus::Tree => {
            if m.tree.move_cursor(to_move(msg), page) {
                m.detail_scroll = 0;
            }
        }
        Focus::Detail => {
            let s = m.detail_scroll;
            let p = page as u16;
            m.detail_scroll = match msg {
                Action::Up => s.saturating_sub(1),
                Action::Down => s.saturating_add(1),
                Action::PageUp => s.saturating_sub(p),
                Action::PageDown => s.saturating_add(p),
                Action::Top => 0,
                _ => u16::MAX / 2,
            };
        }
        Focus::Marked => {
            m.marked_sel = to_move(msg).apply(m.marked_sel, page, m.marks.len());
        }
    }
}

fn expand(m: &mut Model) {
    let Some(d) = m.data.as_ref() else { return };
    if m.tree.expand(d) == Expanded::Leaf {
        m.status = "not a directory with shown entries".into();
    }
}

fn collapse(m: &mut Model) {
    if m.focus == Focus::Marked {
        m.focus = Focus::Tree;
        return;
    }
    if let Some(d) = m.data.as_ref() {
        m.tree.collapse(d);
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
            m.tree.move_cursor(Move::Down, 1);
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

/// The runtime rendered the plan (or failed to).
fn plan_ready(m: &mut Model, plan: crate::Result<WritePlan>) {
    match plan {
        Ok(p) => {
            m.plan = Some(p);
            m.popup_scroll = 0;
            m.prev_mode = Mode::Browse;
            m.mode = Mode::ConfirmWrite;
        }
        Err(e) => m.status = format!("cannot prepare the whitelist: {e}"),
    }
}

/// The runtime wrote the whitelist (or failed to).
fn write_done(m: &mut Model, r: crate::Result<()>) {
    let plan = m.plan.take();
    match r {
        Ok(()) => {
            let n = m.marks.len();
            m.promoted.extend(m.marks.iter().map(|(_, k)| k.pair));
            m.marks.clear();
            m.focus = Focus::Tree;
            let (path, had_old) = plan.map(|p| (p.path, p.old.is_some())).unwrap_or_default();
            m.status = format!(
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
        Err(e) => m.status = format!("nothing written: {e}"),
    }
}

/// The runtime appended the rule; `previous` is the file's content before.
fn ignore_saved(m: &mut Model, r: crate::Result<Option<Vec<u8>>>) {
    match r {
        Ok(prev) => {
            if let Some(last) = m.dismissals.last_mut() {
                last.previous = Some(prev);
            }
        }
        Err(e) => m.status = format!("dismissed in memory, but not saved: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::model::tests::model;

    fn up(m: &mut Model, a: Action) -> Option<Cmd> {
        update(m, a.into())
    }

    fn path_of(m: &Model) -> String {
        let d = m.data.as_ref().unwrap();
        String::from_utf8(d.audit.path(m.selected_pair().unwrap())).unwrap()
    }

    #[test]
    fn expanding_opens_single_directory_chains() {
        let (_d, mut m) = model();
        assert_eq!(path_of(&m), "/var");
        up(&mut m, Action::Expand);
        let shown: Vec<u16> = m.tree.rows().iter().map(|r| r.depth).collect();
        assert_eq!(shown.len(), 3 + 2, "/var shows lib and log");
        up(&mut m, Action::Expand);
        assert_eq!(path_of(&m), "/var/lib", "a second → steps in");
        up(&mut m, Action::Expand);
        up(&mut m, Action::Expand);
        assert_eq!(path_of(&m), "/var/lib/docker");
        up(&mut m, Action::Collapse);
        up(&mut m, Action::Collapse);
        assert_eq!(
            path_of(&m),
            "/var/lib",
            "← on a closed row goes to the parent"
        );
    }

    #[test]
    fn marking_refuses_overlaps_and_quitting_asks_first() {
        let (_d, mut m) = model();
        up(&mut m, Action::ToggleMark); // /var
        assert_eq!(m.marks.len(), 1);
        up(&mut m, Action::Top);
        up(&mut m, Action::Expand);
        up(&mut m, Action::Down);
        up(&mut m, Action::ToggleMark); // /var/lib: covered by /var
        assert_eq!(m.marks.len(), 1);
        assert!(m.status.contains("/var is already marked"), "{}", m.status);
        assert_eq!(up(&mut m, Action::Quit), None);
        assert_eq!(m.mode, Mode::ConfirmQuit);
        assert_eq!(up(&mut m, Action::No), None);
        assert_eq!(m.mode, Mode::Browse);
        assert_eq!(up(&mut m, Action::Quit), None);
        assert_eq!(up(&mut m, Action::Yes), Some(Cmd::Quit));
    }

    #[test]
    fn dismissing_hides_the_subtree_and_undo_brings_it_back() {
        let (_d, mut m) = model();
        let open = |m: &Model| m.tree.hits().entries.iter().filter(|&&h| h == 1).count();
        let open_before = open(&m);
        let before = m.tree.rows().len();
        assert_eq!(
            up(&mut m, Action::Dismiss),
            None,
            "no --ignore: memory only"
        );
        assert!(m.status.contains("not saved"), "{}", m.status);
        assert_eq!(m.tree.rows().len(), before - 1);
        up(&mut m, Action::CycleFilter); // all
        up(&mut m, Action::CycleFilter); // persisted
        up(&mut m, Action::CycleFilter); // nix
        up(&mut m, Action::CycleFilter); // dismissed
        assert_eq!(m.tree.rows().len(), 1);
        up(&mut m, Action::CycleFilter); // stray again
        up(&mut m, Action::Undo);
        assert_eq!(open(&m), open_before, "undo brings every stray entry back");
    }

    #[test]
    fn write_needs_marks_and_a_plan() {
        let (_d, mut m) = model();
        assert_eq!(up(&mut m, Action::WritePreview), None);
        up(&mut m, Action::ToggleMark);
        assert_eq!(up(&mut m, Action::WritePreview), Some(Cmd::PrepareWrite));
    }

    #[test]
    fn ignore_rules_are_anchored_and_escaped() {
        assert_eq!(ignore_rule(b"/var/log").unwrap(), b"/var/log");
        assert_eq!(ignore_rule(b"/#x/a*b").unwrap(), b"/\\#x/a\\*b");
        assert_eq!(ignore_rule(b"/a\nb"), None);
    }
}
